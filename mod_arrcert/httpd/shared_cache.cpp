#include "shared_cache.h"

#include <apr_strings.h>
#include <http_log.h>
#include <util_mutex.h>

#include <cstring>

#include "module.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {

// Holds the global mutex, when there is one, for one provider call.
class SharedCache::Lock {
public:
    explicit Lock(apr_global_mutex_t* mutex) noexcept
        : mutex_(mutex != nullptr && apr_global_mutex_lock(mutex) == APR_SUCCESS ? mutex : nullptr)
    {
        failed_ = mutex != nullptr && mutex_ == nullptr;
    }
    Lock(const Lock&) = delete;
    Lock& operator=(const Lock&) = delete;
    Lock(Lock&&) = delete;
    Lock& operator=(Lock&&) = delete;
    ~Lock()
    {
        if (mutex_ != nullptr) {
            apr_global_mutex_unlock(mutex_);
        }
    }
    [[nodiscard]] bool failed() const noexcept { return failed_; }

private:
    apr_global_mutex_t* mutex_;
    bool failed_ = false;
};

apr_status_t SharedCache::destroy(void* cache) noexcept
{
    const auto* self = static_cast<const SharedCache*>(cache);
    self->spec_.provider->destroy(self->spec_.instance, self->base_);
    return APR_SUCCESS;
}

SharedCache::SharedCache(const SharedCacheSpec& spec, CacheSecret secret, std::int64_t timeout_seconds)
    : spec_(spec), secret_(secret), timeout_(timeout_seconds)
{
}

int SharedCache::start(server_rec* base, apr_pool_t* pool)
{
    if ((spec_.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) != 0U) {
        const apr_status_t status =
            ap_global_mutex_create(&mutex_, nullptr, shared_cache_mutex_type, nullptr, base, pool, 0);
        if (status != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, status, base, "cannot create the mutex of ArrCertCache %s",
                         spec_.description);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    const ap_socache_hints hints{32, 4096, apr_time_from_sec(30)};
    const apr_status_t status = spec_.provider->init(spec_.instance, "mod_arrcert", &hints, base, pool);
    if (status != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, status, base, "cannot start ArrCertCache %s", spec_.description);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    base_ = base;
    // Registered after the owner's cleanup, so run before it.
    apr_pool_cleanup_register(pool, this, destroy, apr_pool_cleanup_null);
    // A copy of the main server that logs only what is worse than an outage of a cache.
    quiet_ = static_cast<server_rec*>(apr_pmemdup(pool, base, sizeof(server_rec)));
    quiet_->log.module_levels = nullptr;
    quiet_->log.level = APLOG_ALERT;
    return OK;
}

void SharedCache::child_init(apr_pool_t* pool, server_rec* server)
{
    if (mutex_ == nullptr) {
        return;
    }
    const apr_status_t status = apr_global_mutex_child_init(&mutex_, apr_global_mutex_lockfile(mutex_), pool);
    if (status != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, status, server, "cannot attach to the mutex of ArrCertCache %s",
                     spec_.description);
    }
}

bool SharedCache::available(std::int64_t now) const noexcept
{
    return !down_.load(std::memory_order_relaxed) || now >= retry_at_.load(std::memory_order_relaxed);
}

void SharedCache::failed(apr_status_t status, const char* operation, std::int64_t now, request_rec* r)
{
    retry_at_.store(now + retry_seconds, std::memory_order_relaxed);
    if (!down_.exchange(true)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, status, r,
                      "ArrCertCache %s failed to %s; requests are judged here without it, and it is tried "
                      "again every %d seconds",
                      spec_.description, operation, static_cast<int>(retry_seconds));
    }
}

void SharedCache::worked(request_rec* r)
{
    if (down_.load(std::memory_order_relaxed) && down_.exchange(false)) {
        ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, "ArrCertCache %s works again", spec_.description);
    }
}

std::optional<OpenedVerdict> SharedCache::find(const CacheKey& key, std::int64_t now, request_rec* r)
{
    if (!available(now)) {
        return std::nullopt;
    }
    auto* data = static_cast<unsigned char*>(apr_palloc(r->pool, max_entry_bytes));
    unsigned int size = max_entry_bytes;
    apr_status_t status = APR_SUCCESS;
    {
        const Lock lock(mutex_);
        if (lock.failed()) {
            return std::nullopt;
        }
        status = spec_.provider->retrieve(spec_.instance, quiet_, key.data(), static_cast<unsigned int>(key.size()),
                                          data, &size, r->pool);
    }
    if (status == APR_NOTFOUND) {
        return std::nullopt;
    }
    if (status != APR_SUCCESS) {
        failed(status, "look up a verdict", now, r);
        return std::nullopt;
    }
    worked(r);
    std::optional<OpenedVerdict> opened = open_verdict({reinterpret_cast<const char*>(data), size}, key, secret_);
    if (!opened) {
        // Another server with another secret, or someone writing to the cache.
        ap_log_rerror(APLOG_MARK, warned_forgery_.exchange(true) ? APLOG_DEBUG : APLOG_WARNING, 0, r,
                      "ArrCertCache %s returned an entry that is not sealed with this server's secret; "
                      "ignored (do the servers sharing it have the same ArrCertCacheSecret?)",
                      spec_.description);
        return std::nullopt;
    }
    if (opened->expires < now) {
        return std::nullopt;
    }
    return opened;
}

void SharedCache::store(const CacheKey& key, const Verdict& verdict, std::int64_t now, request_rec* r)
{
    if (!available(now)) {
        return;
    }
    const std::int64_t expires = cache_expiry(verdict, now, timeout_);
    std::string sealed = seal_verdict(verdict, expires, key, secret_);
    if (sealed.size() > max_entry_bytes || expires <= now) {
        return;
    }
    apr_status_t status = APR_SUCCESS;
    {
        const Lock lock(mutex_);
        if (lock.failed()) {
            return;
        }
        status = spec_.provider->store(spec_.instance, quiet_, key.data(), static_cast<unsigned int>(key.size()),
                                       apr_time_from_sec(expires), reinterpret_cast<unsigned char*>(sealed.data()),
                                       static_cast<unsigned int>(sealed.size()), r->pool);
    }
    if (status != APR_SUCCESS) {
        failed(status, "store a verdict", now, r);
        return;
    }
    worked(r);
}

}  // namespace arrcert::httpd
