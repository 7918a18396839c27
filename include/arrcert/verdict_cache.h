// A bounded, in-process cache of verdicts, so that a certificate already judged costs a hash and
// a lookup instead of X.509 parsing and chain verification.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "arrcert/rules.h"

namespace arrcert {

using CacheKey = std::array<unsigned char, 32>;

// What a verdict depends on besides the header values, all by content: how they are decoded, the
// rules (thumbprints, name patterns, verification settings), the trust anchors and the CRLs in
// force. Servers with the same configuration and files make the same fingerprint.
std::string rules_fingerprint(const RuleSet& rules, const DecodeOptions& decoding);

// SHA-256 over the header value exactly as received and the rules' fingerprint. `sha256`: a
// fetched SHA-256 (FetchedSha256), or null.
CacheKey cache_key(std::string_view header_value, std::string_view fingerprint, const EVP_MD* sha256 = nullptr);

// When a verdict judged at `now` leaves a cache: after the timeout, or at the certificate's
// notAfter if that comes first.
std::int64_t cache_expiry(const Verdict& verdict, std::int64_t now, std::int64_t timeout_seconds) noexcept;

inline constexpr std::size_t default_cache_entries = 1000;
inline constexpr std::int64_t default_cache_timeout_seconds = 300;

class VerdictCache {
public:
    VerdictCache(std::size_t capacity, std::int64_t timeout_seconds);

    // A verdict that has not expired at `now`, or null. The caller still checks the validity
    // window (decide()) at its own request time.
    std::shared_ptr<const Verdict> find(const CacheKey& key, std::int64_t now);
    // Kept until the timeout or the certificate's notAfter, whichever comes first; the least
    // recently used entry of a full shard makes room.
    void insert(const CacheKey& key, std::shared_ptr<const Verdict> verdict, std::int64_t now);
    // For a verdict that already has an expiry (from a shared cache): it keeps it.
    void insert_until(const CacheKey& key, std::shared_ptr<const Verdict> verdict, std::int64_t expires);

    [[nodiscard]] std::size_t size() const;
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

private:
    struct KeyHash {
        std::size_t operator()(const CacheKey& key) const noexcept;
    };
    struct Entry {
        CacheKey key;
        std::shared_ptr<const Verdict> verdict;
        std::int64_t expires;
    };
    // Requests on different shards never wait for each other: there is no global lock.
    struct Shard {
        mutable std::mutex mutex;
        std::list<Entry> recent;  // most recently used first
        std::unordered_map<CacheKey, std::list<Entry>::iterator, KeyHash> index;
    };
    static constexpr std::size_t shard_count = 16;

    Shard& shard_for(const CacheKey& key) noexcept { return shards_[key[0] % shard_count]; }

    std::size_t capacity_;
    std::size_t shard_capacity_;
    std::int64_t timeout_;
    std::array<Shard, shard_count> shards_;
};

}  // namespace arrcert
