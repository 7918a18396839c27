// Where a verdict already judged may be found, as tiers behind one interface, tried in order before
// a certificate is judged: the request's own memo, the process's memory cache, a shared cache.
#pragma once

#include <httpd.h>

#include <cstdint>
#include <memory>
#include <optional>

#include "arrcert/digest.h"
#include "arrcert/status_area.h"
#include "arrcert/verdict_cache.h"

namespace arrcert::httpd {

class SharedCache;

// What a verdict is looked up by: the header values as received and the rules' fingerprint. The
// SHA-256 key of a shared cache is made only when a tier asks for it (after the memory missed).
class VerdictKey {
public:
    VerdictKey(JudgedFrom from, const FetchedSha256* sha256) : from_(from), sha256_(sha256) {}

    [[nodiscard]] const JudgedFrom& from() const noexcept { return from_; }
    [[nodiscard]] const CacheKey& shared() const;

private:
    JudgedFrom from_;
    const FetchedSha256* sha256_;
    mutable std::optional<CacheKey> shared_;
};

struct FoundVerdict {
    std::shared_ptr<const Verdict> verdict;
    std::int64_t expires = 0;  // when the entry leaves a cache (cache_expiry)
};

class VerdictTier {
public:
    VerdictTier() = default;
    VerdictTier(const VerdictTier&) = delete;
    VerdictTier& operator=(const VerdictTier&) = delete;
    VerdictTier(VerdictTier&&) = delete;
    VerdictTier& operator=(VerdictTier&&) = delete;
    virtual ~VerdictTier() = default;

    [[nodiscard]] virtual const char* name() const noexcept = 0;  // for the debug log
    virtual std::optional<FoundVerdict> find(const VerdictKey& key, std::int64_t now, request_rec* r) = 0;
    // A verdict judged here, or found in a later tier.
    virtual void store(const VerdictKey& key, const FoundVerdict& found, std::int64_t now, request_rec* r) = 0;
};

// The process's memory cache (ArrCertCache memory[:ENTRIES]).
class MemoryTier final : public VerdictTier {
public:
    MemoryTier(VerdictCache& cache, StatusArea& status) : cache_(cache), status_(status) {}
    [[nodiscard]] const char* name() const noexcept override { return "cache"; }
    std::optional<FoundVerdict> find(const VerdictKey& key, std::int64_t now, request_rec* r) override;
    void store(const VerdictKey& key, const FoundVerdict& found, std::int64_t now, request_rec* r) override;
    // A hit answered by a connection's copy of what find() returned (request_verdict.cpp).
    void count_hit() noexcept;

private:
    VerdictCache& cache_;
    StatusArea& status_;  // counts hits and misses
};

// A cache shared by processes or servers (ArrCertCache PROVIDER:ARGUMENT).
class SharedTier final : public VerdictTier {
public:
    SharedTier(SharedCache& cache, StatusArea& status) : cache_(cache), status_(status) {}
    [[nodiscard]] const char* name() const noexcept override { return "shared cache"; }
    std::optional<FoundVerdict> find(const VerdictKey& key, std::int64_t now, request_rec* r) override;
    void store(const VerdictKey& key, const FoundVerdict& found, std::int64_t now, request_rec* r) override;

private:
    SharedCache& cache_;
    StatusArea& status_;
};

}  // namespace arrcert::httpd
