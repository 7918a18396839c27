// Certificates minted in-process for the unit tests.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <openssl/evp.h>

#include "arrcert/decode.h"
#include "arrcert/openssl_ptr.h"

namespace arrcert::testing {

using KeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;

enum class KeyType { rsa2048, ec_p256, ed25519 };

// RDNs, each a set of (OpenSSL short name, UTF-8 value); several pairs make a multi-valued RDN.
using Name = std::vector<std::vector<std::pair<std::string, std::string>>>;

struct CertificateSpec {
    Name subject{{{"CN", "alice"}}};
    Name issuer;  // empty: self-signed
    std::int64_t not_before = 0;
    std::int64_t not_after = 0;
    std::string serial_hex = "01";
    std::string subject_alt_name;  // OpenSSL config syntax, e.g. "DNS:a.example,email:a@example"
    KeyType key = KeyType::ec_p256;
    const EVP_PKEY* issuer_key = nullptr;  // null: signed with its own key
    bool ca = false;                       // basicConstraints CA:TRUE and keyCertSign
    std::string extended_key_usage;        // e.g. "clientAuth" or "serverAuth"; empty: none
    std::string authority_info_access;     // OpenSSL config syntax, e.g. "OCSP;URI:http://ocsp.example/"
    std::string crl_distribution_points;   // e.g. "URI:http://crl.example/ca.crl"
    const EVP_PKEY* public_key = nullptr;  // set: the certificate carries this key rather than its own
    // One URI each, byte for byte (OpenSSL's config syntax cannot hold a CR LF).
    std::string raw_crl_url;
    std::string raw_ocsp_url;
};

struct Issued {
    X509Ptr certificate;
    KeyPtr key;
    Der der;
};

std::int64_t now();
Issued issue(const CertificateSpec& spec);
// An RSA public key of random odd numbers of these sizes, without a private half: what anyone can
// put in a certificate they make.
KeyPtr rsa_public_key(int modulus_bits, int exponent_bits);

// A PEM CRL issued by `issuer`, revoking the given serials (hex).
std::string crl_pem(const Issued& issuer, const std::vector<std::string>& revoked_serials, std::int64_t this_update,
                    std::int64_t next_update);

// A file that is removed when the object goes.
class TempFile {
public:
    explicit TempFile(const std::string& contents);
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;
    TempFile(TempFile&&) = delete;
    TempFile& operator=(TempFile&&) = delete;
    ~TempFile();
    void write(const std::string& contents) const;
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};
// A directory that is removed, with what it holds, when the object goes.
class TempDirectory {
public:
    TempDirectory();
    TempDirectory(const TempDirectory&) = delete;
    TempDirectory& operator=(const TempDirectory&) = delete;
    TempDirectory(TempDirectory&&) = delete;
    TempDirectory& operator=(TempDirectory&&) = delete;
    ~TempDirectory();
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};
std::string base64(const Der& der);
std::string pem(const Der& der);

}  // namespace arrcert::testing
