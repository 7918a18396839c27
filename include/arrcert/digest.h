// SHA-256 over several pieces, for cache keys and the content identities of trust material.
#pragma once

#include <string>
#include <string_view>

#include "arrcert/certificate.h"
#include "arrcert/openssl_ptr.h"

namespace arrcert {

class Sha256Digest {
public:
    Sha256Digest();

    // Each piece is length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
    Sha256Digest& add(std::string_view piece);
    Sha256 finish();

private:
    OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free> context_;
};

std::string sha256_hex(std::string_view bytes);

}  // namespace arrcert
