// A bounded, in-process cache of verdicts, so that a certificate already judged costs a hash and
// a lookup instead of X.509 parsing and chain verification.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "arrcert/rules.h"
#include "arrcert/seal.h"

namespace arrcert {

// What a verdict depends on besides the header values, all by content: how they are decoded (the
// certificate header's options and the chain header's format), the rules (thumbprints, name
// patterns, verification settings), the trust anchors and the CRLs in force. Servers with the same
// configuration and files make the same fingerprint.
std::string rules_fingerprint(const RuleSet& rules, const DecodeOptions& decoding, HeaderFormat chain_format);
// The same bytes in `buffer` when they fit (no allocation per request), else in `spill`.
std::string_view rules_fingerprint(const RuleSet& rules, const DecodeOptions& decoding, HeaderFormat chain_format,
                                   std::span<char> buffer, std::string& spill);

// What one verdict was judged from: the header values exactly as received, and the rules.
struct JudgedFrom {
    std::string_view values;
    std::string_view fingerprint;

    bool operator==(const JudgedFrom&) const = default;
};

// The key of a shared cache (other processes, other servers): SHA-256 over both. `sha256`: a
// fetched SHA-256 (FetchedSha256), or null.
CacheKey cache_key(std::string_view header_value, std::string_view fingerprint, const EVP_MD* sha256 = nullptr);
inline CacheKey cache_key(const JudgedFrom& from, const EVP_MD* sha256 = nullptr)
{
    return cache_key(from.values, from.fingerprint, sha256);
}

// When a verdict judged at `now` leaves a cache: after the timeout, or when the certificate, a
// certificate of its verified path or a CRL that covered it expires, whichever comes first.
std::int64_t cache_expiry(const Verdict& verdict, std::int64_t now, std::int64_t timeout_seconds) noexcept;

inline constexpr std::size_t default_cache_entries = 1000;
inline constexpr std::int64_t default_cache_timeout_seconds = 300;

// In-process: an entry keeps the header values and the fingerprint and a lookup compares them in
// full, so a hit needs no cryptographic hash, only a fast one to find the bucket.
class VerdictCache {
public:
    VerdictCache(std::size_t capacity, std::int64_t timeout_seconds);

    // A verdict that has not expired at `now`, or null; `expires`, when set, receives its entry's
    // expiry. The caller still checks the validity window (decide()) at its own request time.
    std::shared_ptr<const Verdict> find(const JudgedFrom& from, std::int64_t now, std::int64_t* expires = nullptr);
    // Kept until the timeout or the certificate's notAfter, whichever comes first; the least
    // recently used entry of a full shard makes room.
    void insert(const JudgedFrom& from, std::shared_ptr<const Verdict> verdict, std::int64_t now);
    // For a verdict that already has an expiry (from a shared cache): it keeps it.
    void insert_until(const JudgedFrom& from, std::shared_ptr<const Verdict> verdict, std::int64_t expires);

    [[nodiscard]] std::size_t size() const;
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    // Which shard holds an entry (for tests of the eviction order).
    [[nodiscard]] static std::size_t shard_of(const JudgedFrom& from) noexcept;

private:
    // The views point into the entry that the index leads to, or into the caller's strings for a
    // lookup; the hash is computed once per call.
    struct IndexKey {
        JudgedFrom from;
        std::size_t hash = 0;

        // The fingerprint first: the scopes that judged the same value share a bucket.
        bool operator==(const IndexKey& other) const noexcept
        {
            return from.fingerprint == other.from.fingerprint && from.values == other.from.values;
        }
    };
    struct IndexHash {
        std::size_t operator()(const IndexKey& key) const noexcept { return key.hash; }
    };
    struct Entry {
        std::string values;
        std::string fingerprint;
        std::size_t hash = 0;
        std::shared_ptr<const Verdict> verdict;
        std::int64_t expires = 0;

        [[nodiscard]] IndexKey key() const noexcept { return {{values, fingerprint}, hash}; }
    };
    // Requests on different shards never wait for each other: there is no global lock. A shard
    // is bounded, so headers made to collide in the (unkeyed) hash cost at most one shard's
    // comparisons.
    struct Shard {
        mutable std::mutex mutex;
        std::list<Entry> recent;  // most recently used first; nodes never move
        std::unordered_map<IndexKey, std::list<Entry>::iterator, IndexHash> index;
    };
    static constexpr std::size_t shard_count = 16;

    static std::size_t hash_of(const JudgedFrom& from) noexcept;
    Shard& shard_for(std::size_t hash) noexcept { return shards_[(hash >> 56U) % shard_count]; }
    static void erase(Shard& shard, std::list<Entry>::iterator entry);

    std::size_t capacity_;
    std::size_t shard_capacity_;
    std::int64_t timeout_;
    std::array<Shard, shard_count> shards_;
};

}  // namespace arrcert
