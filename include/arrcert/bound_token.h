// RFC 8705 certificate-bound access tokens: the variable mod_auth_openidc (2.3.9 to 2.4.14)
// compares with an access token's cnf["x5t#S256"], and its value.
#pragma once

#include <string>
#include <string_view>

#include "arrcert/certificate.h"

namespace arrcert {

inline constexpr std::string_view bound_token_variable = "TB_SSL_CLIENT_CERT_FINGERPRINT";

// The name in any case (an environment's names are matched so), without REDIRECT_ prefixes.
bool is_bound_token_name(std::string_view name) noexcept;

// base64url without padding of the SHA-256 of the certificate's DER (RFC 8705 section 3.1).
std::string bound_token_fingerprint(const Sha256& sha256);

}  // namespace arrcert
