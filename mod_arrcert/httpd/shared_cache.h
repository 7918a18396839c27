// ArrCertCache with an ap_socache provider (shmcb, memcache, redis, ...): verdicts shared by the
// children of one server, or by a fleet. A backend that fails is skipped for a while and the
// request is judged locally: never a 500, never a request let through.
#pragma once

#include <ap_socache.h>
#include <apr_global_mutex.h>
#include <httpd.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "arrcert/verdict_cache.h"
#include "arrcert/verdict_codec.h"

namespace arrcert::httpd {

// The Mutex directive's name for the lock of providers that need one (shmcb).
inline constexpr const char* shared_cache_mutex_type = "arrcert-cache";

// What the ArrCertCache directive found; the instance is created at configuration time so that
// `apachectl -t` sees a bad argument.
struct SharedCacheSpec {
    const ap_socache_provider_t* provider = nullptr;
    ap_socache_instance_t* instance = nullptr;
    const char* description = nullptr;  // as written, for the log
};

class SharedCache {
public:
    // After a failure the backend is left alone this long; then one request tries it again.
    static constexpr std::int64_t retry_seconds = 5;
    // Larger entries are not shared (they are still kept in the memory cache).
    static constexpr unsigned int max_entry_bytes = 32 * 1024;

    SharedCache(const SharedCacheSpec& spec, CacheSecret secret, std::int64_t timeout_seconds);
    SharedCache(const SharedCache&) = delete;
    SharedCache& operator=(const SharedCache&) = delete;
    SharedCache(SharedCache&&) = delete;
    SharedCache& operator=(SharedCache&&) = delete;
    ~SharedCache() = default;

    // post_config: the provider's init, a global mutex when the provider needs one, and the
    // provider's destroy when `pool` is cleared (the object must be owned by `pool`). Returns an
    // httpd status.
    int start(server_rec* base, apr_pool_t* pool);
    void child_init(apr_pool_t* pool, server_rec* server);

    // A verdict that has not expired at `now`, with its expiry, or null.
    std::optional<OpenedVerdict> find(const CacheKey& key, std::int64_t now, request_rec* r);
    void store(const CacheKey& key, const Verdict& verdict, std::int64_t now, request_rec* r);

private:
    class Lock;
    static apr_status_t destroy(void* cache) noexcept;
    [[nodiscard]] bool available(std::int64_t now) const noexcept;
    void failed(apr_status_t status, const char* operation, std::int64_t now, request_rec* r);
    void worked(request_rec* r);

    SharedCacheSpec spec_;
    CacheSecret secret_;
    std::int64_t timeout_;
    server_rec* base_ = nullptr;
    apr_global_mutex_t* mutex_ = nullptr;  // only for providers that are not MT- and MP-safe
    server_rec* quiet_ = nullptr;          // the providers log every failure; we log an outage once
    std::atomic<bool> down_{false};
    std::atomic<std::int64_t> retry_at_{0};
    std::atomic<bool> warned_forgery_{false};
};

}  // namespace arrcert::httpd
