// ArrCertCache with an ap_socache provider (shmcb, memcache, redis, ...): verdicts shared by the
// children of one server, or by a fleet. A backend that fails or stalls is skipped for a while and
// the request is judged locally: never a 500, never a request let through, never a long wait.
#pragma once

#include <ap_socache.h>
#include <apr_global_mutex.h>
#include <httpd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "arrcert/revocation_share.h"
#include "arrcert/status_area.h"
#include "arrcert/verdict_cache.h"
#include "arrcert/verdict_codec.h"
#include "bounded_calls.h"

namespace arrcert::httpd {

// The Mutex directive's name for the lock of providers that need one (shmcb).
inline constexpr const char* shared_cache_mutex_type = "arrcert-cache";
inline constexpr std::int64_t default_backend_timeout_ms = 250;

// What the ArrCertCache directive found; the instance is created at configuration time so that
// `apachectl -t` sees a bad argument.
struct SharedCacheSpec {
    const ap_socache_provider_t* provider = nullptr;
    ap_socache_instance_t* instance = nullptr;
    const char* description = nullptr;  // as written, for the log
};

// Also the fleet's store of fetched CRLs and OCSP responses (sealed the same way; every reader
// verifies them again).
class SharedCache final : public FleetStore {
public:
    // After a failure the backend is left alone this long; then one request tries it again.
    static constexpr std::int64_t retry_seconds = 5;
    // Larger entries are not shared (they are still kept in the memory cache).
    static constexpr unsigned int max_entry_bytes = 32 * 1024;
    static constexpr unsigned int max_document_bytes = 1024 * 1024;

    SharedCache(const SharedCacheSpec& spec, CacheSecret secret, std::chrono::milliseconds backend_timeout);
    SharedCache(const SharedCache&) = delete;
    SharedCache& operator=(const SharedCache&) = delete;
    SharedCache(SharedCache&&) = delete;
    SharedCache& operator=(SharedCache&&) = delete;
    ~SharedCache() override = default;

    // post_config: the provider's init, a global mutex when the provider needs one, and the
    // provider's destroy when `pool` is cleared (the object must be owned by `pool`). Returns an
    // httpd status.
    int start(server_rec* base, apr_pool_t* pool);
    void child_init(apr_pool_t* pool, server_rec* server);
    // Before start: where outages and recoveries are recorded.
    void report_to(StatusArea& status) noexcept;

    // A verdict that has not expired at `now`, with its expiry, or nothing.
    std::optional<OpenedVerdict> find(const CacheKey& key, std::int64_t now, request_rec* r);
    // Kept until `expires` (cache_expiry). Network backends store in the background: the request
    // does not wait for it. `request_pool` serves a local provider.
    void store(const CacheKey& key, const Verdict& verdict, std::int64_t expires, std::int64_t now,
               apr_pool_t* request_pool);

    // FleetStore: from any thread, with a pool of the call's own. A document the backend cannot
    // keep (too large for shmcb) is not an outage.
    std::optional<std::string> fetch(std::string_view name, std::int64_t now) override;
    void keep(std::string_view name, const std::string& bytes, std::int64_t expires, std::int64_t now) override;

private:
    struct Backend;
    // What one lookup read: owned by the call, so that a call that overruns its deadline still
    // writes here.
    struct Lookup {
        CacheKey key{};
        std::unique_ptr<unsigned char[]> data;
        unsigned int size = 0;
        apr_status_t status = APR_ENOPOOL;
        [[nodiscard]] std::string_view bytes() const noexcept
        {
            return {reinterpret_cast<const char*>(data.get()), size};
        }
    };
    // On a worker (network providers) or in `pool` (local ones; null: a pool of its own).
    std::shared_ptr<Lookup> look_up(const CacheKey& key, unsigned int capacity, apr_pool_t* pool);
    static apr_status_t destroy(void* cache) noexcept;

    std::shared_ptr<Backend> backend_;  // shared with the calls still running on workers
    CacheSeal seal_;
    std::unique_ptr<BoundedCalls> calls_;  // null for local providers (shmcb): called in place
    std::atomic<bool> warned_forgery_{false};
};

}  // namespace arrcert::httpd
