// Verdicts as bytes, for caches shared between processes and servers (httpd's ap_socache). An
// entry is sealed with HMAC-SHA256 over its key and its bytes under a secret of this server (or
// of the fleet), so that whoever else can write to the cache cannot make it accept a certificate.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "arrcert/openssl_ptr.h"
#include "arrcert/result.h"
#include "arrcert/rules.h"
#include "arrcert/verdict_cache.h"

namespace arrcert {

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

std::string seal_verdict(const Verdict& verdict, std::int64_t expires, const CacheKey& key, const CacheSeal& seal);

struct OpenedVerdict {
    std::shared_ptr<const Verdict> verdict;
    std::int64_t expires = 0;
};
// Null when the bytes are not an entry sealed under this key and secret.
std::optional<OpenedVerdict> open_verdict(std::string_view sealed, const CacheKey& key, const CacheSeal& seal);

// Any bytes (a fetched CRL, an OCSP response) sealed the same way, with their expiry.
std::string seal_bytes(std::string_view bytes, std::int64_t expires, const CacheKey& key, const CacheSeal& seal);
struct OpenedBytes {
    std::string bytes;
    std::int64_t expires = 0;
};
std::optional<OpenedBytes> open_bytes(std::string_view sealed, const CacheKey& key, const CacheSeal& seal);

}  // namespace arrcert
