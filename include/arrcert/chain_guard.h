// What a chain sent by a client may make OpenSSL compute, and in which order: no key a client
// supplied is used before a trusted key has vouched for its certificate, and no RSA key is used
// whose public operation costs more than a real CA's could.
#pragma once

#include <span>
#include <string_view>

#include <openssl/x509_vfy.h>

namespace arrcert {

// Larger than any CA uses: a public exponent above 2^32 (OpenSSL bounds it only above 3072-bit
// moduli) or a modulus above OpenSSL's own limit for RSA operations.
inline constexpr int max_rsa_exponent_bits = 32;
inline constexpr int max_rsa_modulus_bits = 16384;
inline constexpr std::string_view oversized_key_reason = "certificate key too large (RSA exponent or modulus)";

// Whether the certificate's key is one the module will verify signatures with.
bool key_within_limits(X509* certificate) noexcept;
// The same for a certificate not parsed yet, read from its DER (parsing one costs ~100 µs in
// OpenSSL 3.0): false only for a well-formed RSA key over the limits; anything else is left to
// the parse and to key_within_limits(X509*).
bool key_within_limits(std::span<const unsigned char> der) noexcept;

// Whether every certificate of `path` from index `from` up is signed by the next one, checked from
// the top (the trust anchor's signature first) down, stopping at the first that fails.
bool signed_from_the_top(STACK_OF(X509) * path, int from) noexcept;

// Installs on `store` a revocation check that verifies the path's signatures (and validity
// times) first, as OpenSSL's internal verification does, from the anchor down; OpenSSL's own
// order checks revocation first, so a CRL lookup, or a CRL's signature, could use a forged
// intermediate's key. The signatures are not verified a second time.
void check_signatures_before_revocation(X509_STORE* store);

}  // namespace arrcert
