// SHA-256 over several pieces, for cache keys and the content identities of trust material.
#pragma once

#include <string>
#include <string_view>

#include "arrcert/certificate.h"
#include "arrcert/openssl_ptr.h"

namespace arrcert {

// SHA-256 fetched once from OpenSSL's providers. OpenSSL 3.0 looks the algorithm up again on
// every EVP_DigestInit_ex(EVP_sha256()), which costs more than hashing a certificate header; a
// per-request key uses a fetched one. Owned by the configuration that uses it.
class FetchedSha256 {
public:
    FetchedSha256();
    [[nodiscard]] const EVP_MD* get() const noexcept { return md_.get(); }

private:
    OpenSslPtr<EVP_MD, EVP_MD_free> md_;
};

class Sha256Digest {
public:
    // `sha256`: a fetched SHA-256, or null for OpenSSL's implicit (slower) lookup.
    explicit Sha256Digest(const EVP_MD* sha256 = nullptr);

    // Each piece is length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
    Sha256Digest& add(std::string_view piece);
    Sha256 finish();

private:
    OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free> context_;
};

}  // namespace arrcert
