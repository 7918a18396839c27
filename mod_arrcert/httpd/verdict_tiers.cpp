#include "verdict_tiers.h"

#include "shared_cache.h"

namespace arrcert::httpd {

const CacheKey& VerdictKey::shared() const
{
    if (!shared_) {
        shared_ = cache_key(from_, sha256_ != nullptr ? sha256_->get() : nullptr);
    }
    return *shared_;
}

std::optional<FoundVerdict> MemoryTier::find(const VerdictKey& key, std::int64_t now, request_rec* /*r*/)
{
    std::int64_t expires = 0;
    std::shared_ptr<const Verdict> verdict = cache_.find(key.from(), now, &expires);
    status_.count(verdict != nullptr ? Counter::memory_cache_hits : Counter::memory_cache_misses);
    if (verdict == nullptr) {
        return std::nullopt;
    }
    return FoundVerdict{std::move(verdict), expires};
}

void MemoryTier::count_hit() noexcept
{
    status_.count(Counter::memory_cache_hits);
}

void MemoryTier::store(const VerdictKey& key, const FoundVerdict& found, std::int64_t /*now*/, request_rec* /*r*/)
{
    cache_.insert_until(key.from(), found.verdict, found.expires);
}

std::optional<FoundVerdict> SharedTier::find(const VerdictKey& key, std::int64_t now, request_rec* r)
{
    std::optional<OpenedVerdict> opened = cache_.find(key.shared(), now, r);
    status_.count(opened ? Counter::shared_cache_hits : Counter::shared_cache_misses);
    if (!opened) {
        return std::nullopt;
    }
    return FoundVerdict{std::move(opened->verdict), opened->expires};
}

void SharedTier::store(const VerdictKey& key, const FoundVerdict& found, std::int64_t now, request_rec* r)
{
    cache_.store(key.shared(), *found.verdict, found.expires, now, r->pool);
}

}  // namespace arrcert::httpd
