#include "arrcert/chain_guard.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "arrcert/openssl_ptr.h"

#include <openssl/asn1.h>

#include <algorithm>
#include <array>
#include <optional>

namespace arrcert {
namespace {

using StoreContextPtr = OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;

// OpenSSL's own revocation check, which a store without its own check gives a context.
X509_STORE_CTX_check_revocation_fn openssl_check_revocation() noexcept
{
    static const X509_STORE_CTX_check_revocation_fn check = [] {
        const X509StorePtr store(X509_STORE_new());
        const StoreContextPtr context(X509_STORE_CTX_new());
        X509_STORE_CTX_check_revocation_fn found = nullptr;
        if (store && context && X509_STORE_CTX_init(context.get(), store.get(), nullptr, nullptr) == 1) {
            found = X509_STORE_CTX_get_check_revocation(context.get());
        }
        ERR_clear_error();
        return found;
    }();
    return check;
}

int already_verified(X509_STORE_CTX* /*context*/)
{
    return 1;
}

int verify_then_check_revocation(X509_STORE_CTX* context)
{
    const X509_STORE_CTX_verify_fn verify = X509_STORE_CTX_get_verify(context);
    const X509_STORE_CTX_check_revocation_fn check = openssl_check_revocation();
    if (verify == nullptr || check == nullptr) {
        return 0;  // fail closed: neither step can be left out
    }
    if (const int ok = verify(context); ok <= 0) {
        return ok;
    }
    X509_STORE_CTX_set_verify(context, already_verified);
    return check(context);
}

// One DER element read with OpenSSL's header parser (no object decoded): its content.
struct Element {
    int tag = -1;
    int tag_class = 0;
    std::span<const unsigned char> content;
    std::span<const unsigned char> rest;  // what follows the element
};

std::optional<Element> next_element(std::span<const unsigned char> data) noexcept
{
    const unsigned char* cursor = data.data();
    long length = 0;
    Element element;
    const int flags =
        ASN1_get_object(&cursor, &length, &element.tag, &element.tag_class, static_cast<long>(data.size()));
    ERR_clear_error();
    const auto header = static_cast<std::size_t>(cursor - data.data());
    if ((flags & 0x80) != 0 || (flags & 0x01) != 0 || length < 0 ||
        static_cast<std::size_t>(length) > data.size() - header) {
        return std::nullopt;  // an error or an indefinite length: left to the parser
    }
    element.content = data.subspan(header, static_cast<std::size_t>(length));
    element.rest = data.subspan(header + static_cast<std::size_t>(length));
    return element;
}

// The bits of a positive INTEGER's content.
int integer_bits(std::span<const unsigned char> content) noexcept
{
    while (!content.empty() && content.front() == 0) {
        content = content.subspan(1);
    }
    if (content.empty()) {
        return 0;
    }
    int top = 0;
    for (unsigned int byte = content.front(); byte != 0; byte >>= 1U) {
        ++top;
    }
    return static_cast<int>(content.size() - 1) * 8 + top;
}

// rsaEncryption and RSASSA-PSS.
bool is_rsa_algorithm(std::span<const unsigned char> oid) noexcept
{
    static constexpr std::array<unsigned char, 8> prefix{0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01};
    return oid.size() == 9 && std::equal(prefix.begin(), prefix.end(), oid.begin()) &&
           (oid[8] == 0x01 || oid[8] == 0x0a);
}

}  // namespace

bool key_within_limits(std::span<const unsigned char> der) noexcept
{
    // Certificate → tbsCertificate → [0] version? serial signature issuer validity subject → SPKI.
    auto certificate = next_element(der);
    auto tbs = certificate ? next_element(certificate->content) : std::nullopt;
    if (!tbs) {
        return true;
    }
    auto field = next_element(tbs->content);
    if (field && field->tag_class == V_ASN1_CONTEXT_SPECIFIC && field->tag == 0) {
        field = next_element(field->rest);
    }
    for (int skipped = 0; field && skipped < 5; ++skipped) {
        field = next_element(field->rest);
    }
    const auto algorithm = field ? next_element(field->content) : std::nullopt;
    const auto oid = algorithm ? next_element(algorithm->content) : std::nullopt;
    if (!oid || oid->tag != V_ASN1_OBJECT || !is_rsa_algorithm(oid->content)) {
        return true;
    }
    const auto bits = next_element(algorithm->rest);
    if (!bits || bits->tag != V_ASN1_BIT_STRING || bits->content.empty() || bits->content.front() != 0) {
        return true;
    }
    const auto key = next_element(bits->content.subspan(1));
    const auto modulus = key ? next_element(key->content) : std::nullopt;
    const auto exponent = modulus ? next_element(modulus->rest) : std::nullopt;
    if (!exponent || modulus->tag != V_ASN1_INTEGER || exponent->tag != V_ASN1_INTEGER) {
        return true;
    }
    return integer_bits(modulus->content) <= max_rsa_modulus_bits &&
           integer_bits(exponent->content) <= max_rsa_exponent_bits;
}

bool key_within_limits(X509* certificate) noexcept
{
    EVP_PKEY* key = X509_get0_pubkey(certificate);
    if (key == nullptr) {
        ERR_clear_error();
        return true;  // no key to use: OpenSSL refuses the signature itself
    }
    const int type = EVP_PKEY_get_base_id(key);
    if (type != EVP_PKEY_RSA && type != EVP_PKEY_RSA_PSS) {
        return true;
    }
    if (EVP_PKEY_get_bits(key) > max_rsa_modulus_bits) {
        return false;
    }
    BIGNUM* exponent = nullptr;
    if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &exponent) != 1) {
        ERR_clear_error();
        return false;
    }
    const BignumPtr owned(exponent);
    return BN_num_bits(owned.get()) <= max_rsa_exponent_bits;
}

bool signed_from_the_top(STACK_OF(X509) * path, int from) noexcept
{
    for (int i = sk_X509_num(path) - 2; i >= from; --i) {
        EVP_PKEY* key = X509_get0_pubkey(sk_X509_value(path, i + 1));
        if (key == nullptr || X509_verify(sk_X509_value(path, i), key) != 1) {
            ERR_clear_error();
            return false;
        }
    }
    return true;
}

void check_signatures_before_revocation(X509_STORE* store)
{
    X509_STORE_set_check_revocation(store, verify_then_check_revocation);
}

}  // namespace arrcert
