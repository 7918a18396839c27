#include "test_pki.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <ctime>
#include <fstream>

#include <unistd.h>
#include <stdexcept>

namespace arrcert::testing {
namespace {

void check(bool ok, const char* what)
{
    if (!ok) {
        throw std::runtime_error(what);
    }
}

KeyPtr generate(KeyType type)
{
    switch (type) {
        case KeyType::rsa2048: return KeyPtr(EVP_RSA_gen(2048));
        case KeyType::ec_p256: return KeyPtr(EVP_EC_gen("P-256"));
        case KeyType::ed25519: return KeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    }
    return nullptr;
}

void fill_name(X509_NAME* name, const Name& spec)
{
    for (const auto& rdn : spec) {
        bool first = true;
        for (const auto& [type, value] : rdn) {
            check(X509_NAME_add_entry_by_txt(name, type.c_str(), MBSTRING_UTF8,
                                             reinterpret_cast<const unsigned char*>(value.data()),
                                             static_cast<int>(value.size()), -1, first ? 0 : -1) == 1,
                  "name entry");
            first = false;
        }
    }
}

GENERAL_NAME* uri_name(const std::string& uri)
{
    GENERAL_NAME* name = GENERAL_NAME_new();
    ASN1_IA5STRING* text = ASN1_IA5STRING_new();
    check(name != nullptr && text != nullptr && ASN1_STRING_set(text, uri.data(), static_cast<int>(uri.size())) == 1,
          "URI");
    GENERAL_NAME_set0_value(name, GEN_URI, text);
    return name;
}

void add_raw_urls(X509* x509, const CertificateSpec& spec)
{
    if (!spec.raw_crl_url.empty()) {
        OpenSslPtr<CRL_DIST_POINTS, CRL_DIST_POINTS_free> points(sk_DIST_POINT_new_null());
        DIST_POINT* point = DIST_POINT_new();
        check(points && point != nullptr && sk_DIST_POINT_push(points.get(), point) > 0, "distribution point");
        point->distpoint = DIST_POINT_NAME_new();
        point->distpoint->type = 0;
        point->distpoint->name.fullname = GENERAL_NAMES_new();
        check(sk_GENERAL_NAME_push(point->distpoint->name.fullname, uri_name(spec.raw_crl_url)) > 0, "name");
        check(X509_add1_ext_i2d(x509, NID_crl_distribution_points, points.get(), 0, X509V3_ADD_DEFAULT) == 1, "CDP");
    }
    if (!spec.raw_ocsp_url.empty()) {
        OpenSslPtr<AUTHORITY_INFO_ACCESS, AUTHORITY_INFO_ACCESS_free> access(sk_ACCESS_DESCRIPTION_new_null());
        ACCESS_DESCRIPTION* description = ACCESS_DESCRIPTION_new();
        check(access && description != nullptr && sk_ACCESS_DESCRIPTION_push(access.get(), description) > 0,
              "access description");
        ASN1_OBJECT_free(description->method);
        description->method = OBJ_nid2obj(NID_ad_OCSP);
        GENERAL_NAME_free(description->location);
        description->location = uri_name(spec.raw_ocsp_url);
        check(X509_add1_ext_i2d(x509, NID_info_access, access.get(), 0, X509V3_ADD_DEFAULT) == 1, "AIA");
    }
}

}  // namespace

std::int64_t now()
{
    return static_cast<std::int64_t>(std::time(nullptr));
}

Issued issue(const CertificateSpec& spec)
{
    Issued issued;
    issued.key = generate(spec.key);
    check(issued.key != nullptr, "key");
    issued.certificate.reset(X509_new());
    X509* x509 = issued.certificate.get();
    check(X509_set_version(x509, 2) == 1, "version");

    BIGNUM* serial = nullptr;
    check(BN_hex2bn(&serial, spec.serial_hex.c_str()) > 0, "serial");
    BignumPtr serial_owner(serial);
    check(BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x509)) != nullptr, "serial");

    fill_name(X509_get_subject_name(x509), spec.subject);
    fill_name(X509_get_issuer_name(x509), spec.issuer.empty() ? spec.subject : spec.issuer);
    const std::int64_t start = spec.not_before != 0 ? spec.not_before : now() - 3600;
    const std::int64_t end = spec.not_after != 0 ? spec.not_after : now() + std::int64_t{86400} * 30;
    check(ASN1_TIME_set(X509_getm_notBefore(x509), static_cast<time_t>(start)) != nullptr, "notBefore");
    check(ASN1_TIME_set(X509_getm_notAfter(x509), static_cast<time_t>(end)) != nullptr, "notAfter");
    auto* carried = const_cast<EVP_PKEY*>(spec.public_key != nullptr ? spec.public_key : issued.key.get());
    check(X509_set_pubkey(x509, carried) == 1, "pubkey");

    auto add_extension = [&](int nid, const std::string& value) {
        X509V3_CTX context;
        X509V3_set_ctx(&context, x509, x509, nullptr, nullptr, 0);
        OpenSslPtr<X509_EXTENSION, X509_EXTENSION_free> extension(
            X509V3_EXT_nconf_nid(nullptr, &context, nid, value.c_str()));
        check(extension != nullptr && X509_add_ext(x509, extension.get(), -1) == 1, "extension");
    };
    if (spec.ca) {
        add_extension(NID_basic_constraints, "critical,CA:TRUE");
        add_extension(NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    }
    if (!spec.extended_key_usage.empty()) {
        add_extension(NID_ext_key_usage, spec.extended_key_usage);
    }
    if (!spec.subject_alt_name.empty()) {
        add_extension(NID_subject_alt_name, spec.subject_alt_name);
    }
    if (!spec.authority_info_access.empty()) {
        add_extension(NID_info_access, spec.authority_info_access);
    }
    if (!spec.crl_distribution_points.empty()) {
        add_extension(NID_crl_distribution_points, spec.crl_distribution_points);
    }
    add_raw_urls(x509, spec);

    auto* signer = const_cast<EVP_PKEY*>(spec.issuer_key != nullptr ? spec.issuer_key : issued.key.get());
    const EVP_MD* digest = EVP_PKEY_get_id(signer) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
    check(X509_sign(x509, signer, digest) > 0, "sign");

    unsigned char* der = nullptr;
    const int length = i2d_X509(x509, &der);
    check(length > 0, "i2d");
    OpenSslBytes der_owner(der);
    issued.der.assign(der, der + length);
    return issued;
}

KeyPtr rsa_public_key(int modulus_bits, int exponent_bits)
{
    const BignumPtr modulus(BN_new());
    const BignumPtr exponent(BN_new());
    check(modulus && exponent && BN_rand(modulus.get(), modulus_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD) == 1 &&
              BN_rand(exponent.get(), exponent_bits, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ODD) == 1,
          "random numbers");
    OpenSslPtr<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free> builder(OSSL_PARAM_BLD_new());
    check(builder && OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_N, modulus.get()) == 1 &&
              OSSL_PARAM_BLD_push_BN(builder.get(), OSSL_PKEY_PARAM_RSA_E, exponent.get()) == 1,
          "parameters");
    OpenSslPtr<OSSL_PARAM, OSSL_PARAM_free> params(OSSL_PARAM_BLD_to_param(builder.get()));
    OpenSslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free> context(EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr));
    EVP_PKEY* key = nullptr;
    check(params && context && EVP_PKEY_fromdata_init(context.get()) == 1 &&
              EVP_PKEY_fromdata(context.get(), &key, EVP_PKEY_PUBLIC_KEY, params.get()) == 1,
          "RSA public key");
    return KeyPtr(key);
}

std::string crl_pem(const Issued& issuer, const std::vector<std::string>& revoked_serials, std::int64_t this_update,
                    std::int64_t next_update)
{
    OpenSslPtr<X509_CRL, X509_CRL_free> crl(X509_CRL_new());
    check(crl != nullptr && X509_CRL_set_version(crl.get(), 1) == 1, "crl");
    check(X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.certificate.get())) == 1, "crl issuer");
    OpenSslPtr<ASN1_TIME, ASN1_TIME_free> last(ASN1_TIME_set(nullptr, static_cast<time_t>(this_update)));
    OpenSslPtr<ASN1_TIME, ASN1_TIME_free> next(ASN1_TIME_set(nullptr, static_cast<time_t>(next_update)));
    check(X509_CRL_set1_lastUpdate(crl.get(), last.get()) == 1, "lastUpdate");
    check(X509_CRL_set1_nextUpdate(crl.get(), next.get()) == 1, "nextUpdate");
    for (const std::string& serial_hex : revoked_serials) {
        X509_REVOKED* revoked = X509_REVOKED_new();
        BIGNUM* serial = nullptr;
        check(BN_hex2bn(&serial, serial_hex.c_str()) > 0, "revoked serial");
        BignumPtr serial_owner(serial);
        OpenSslPtr<ASN1_INTEGER, ASN1_INTEGER_free> number(BN_to_ASN1_INTEGER(serial, nullptr));
        check(X509_REVOKED_set_serialNumber(revoked, number.get()) == 1, "revoked");
        check(X509_REVOKED_set_revocationDate(revoked, last.get()) == 1, "revocation date");
        check(X509_CRL_add0_revoked(crl.get(), revoked) == 1, "add revoked");
    }
    check(X509_CRL_sort(crl.get()) == 1, "sort");
    check(X509_CRL_sign(crl.get(), issuer.key.get(), EVP_sha256()) > 0, "sign crl");
    BioPtr bio(BIO_new(BIO_s_mem()));
    check(PEM_write_bio_X509_CRL(bio.get(), crl.get()) == 1, "pem crl");
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return {data, static_cast<std::size_t>(length)};
}

TempFile::TempFile(const std::string& contents)
{
    std::string pattern = "/tmp/arrcert-unit-XXXXXX";
    const int fd = mkstemp(pattern.data());
    check(fd >= 0, "mkstemp");
    close(fd);
    path_ = pattern;
    write(contents);
}

TempDirectory::TempDirectory()
{
    std::string pattern = "/tmp/arrcert-unit-XXXXXX";
    check(mkdtemp(pattern.data()) != nullptr, "mkdtemp");
    path_ = pattern;
}

TempDirectory::~TempDirectory()
{
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

TempFile::~TempFile()
{
    std::remove(path_.c_str());
}

void TempFile::write(const std::string& contents) const
{
    // Write beside, then rename: readers see the old file or the new one, never half of one.
    const std::string next = path_ + ".next";
    std::ofstream out(next, std::ios::binary | std::ios::trunc);
    out << contents;
    out.close();
    check(std::rename(next.c_str(), path_.c_str()) == 0, "rename");
}

std::string base64(const Der& der)
{
    std::string text(4 * ((der.size() + 2) / 3) + 1, '\0');
    const int written =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), der.data(), static_cast<int>(der.size()));
    text.resize(static_cast<std::size_t>(written));
    return text;
}

std::string pem(const Der& der)
{
    std::string text = "-----BEGIN CERTIFICATE-----\n";
    const std::string body = base64(der);
    for (std::size_t i = 0; i < body.size(); i += 64) {
        text += body.substr(i, 64) + "\n";
    }
    return text + "-----END CERTIFICATE-----\n";
}

}  // namespace arrcert::testing
