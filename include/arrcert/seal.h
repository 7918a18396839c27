// HMAC-SHA256 seals for what the module keeps where others could write: verdicts in a shared
// cache (verdict_codec.h), fetched CRLs and OCSP responses in the files of a server and in a
// fleet's cache (revocation_share.h). A seal covers the entry's key and its bytes, so an entry
// is neither forged nor moved to another key without the secret.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "arrcert/openssl_ptr.h"
#include "arrcert/result.h"

namespace arrcert {

using CacheKey = std::array<unsigned char, 32>;
using CacheSecret = std::array<unsigned char, 32>;

// For one server: fresh random bytes.
CacheSecret random_cache_secret();
// For a fleet: derived from a file that every server holds. Refused when the file cannot be read
// or holds fewer than 32 bytes.
Result<CacheSecret> cache_secret_from_file(const std::string& path);

// HMAC-SHA256 under one secret, keyed once: each use copies the keyed state instead of
// fetching and keying the algorithm again. Safe to use from many threads.
class CacheSeal {
public:
    explicit CacheSeal(const CacheSecret& secret);

    [[nodiscard]] std::array<unsigned char, 32> mac(const CacheKey& key, std::string_view body) const;

private:
    OpenSslPtr<EVP_MAC_CTX, EVP_MAC_CTX_free> keyed_;
};

// Any bytes sealed with a time (an expiry, or when they were fetched).
std::string seal_bytes(std::string_view bytes, std::int64_t time, const CacheKey& key, const CacheSeal& seal);
struct OpenedBytes {
    std::string bytes;
    std::int64_t time = 0;
};
// Null when the bytes are not sealed under this key and secret.
std::optional<OpenedBytes> open_bytes(std::string_view sealed, const CacheKey& key, const CacheSeal& seal);

}  // namespace arrcert
