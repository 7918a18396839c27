#include "shared_cache.h"

#include <apr_strings.h>
#include <http_log.h>
#include <util_mutex.h>

#include "module.h"
#include "log_ids.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {

// The provider and its health; what a background call needs, kept alive by it.
struct SharedCache::Backend {
    SharedCacheSpec spec;
    server_rec* base = nullptr;
    server_rec* quiet = nullptr;          // the providers log every failure; we log an outage once
    apr_global_mutex_t* mutex = nullptr;  // only for providers that are not MT- and MP-safe
    std::atomic<bool> down{false};
    std::atomic<std::int64_t> retry_at{0};
    StatusArea* status_area = nullptr;  // outages and recoveries, for the status page

    void report(bool ok, std::int64_t now, std::string_view error) const noexcept
    {
        if (status_area != nullptr) {
            status_area->record_source({SourceKind::shared_cache, spec.description, ok, now, -1, error});
        }
    }

    [[nodiscard]] bool available(std::int64_t now) const noexcept
    {
        return !down.load(std::memory_order_relaxed) || now >= retry_at.load(std::memory_order_relaxed);
    }

    void failed(apr_status_t status, const char* operation, std::int64_t now)
    {
        retry_at.store(now + retry_seconds, std::memory_order_relaxed);
        if (!down.exchange(true)) {
            ap_log_error(APLOG_MARK, APLOG_ERR, status, base,
                         ARRCERT_LOGNO(0401) "ArrCertCache %s failed to %s%s; requests are judged here without it, and it is "
                         "tried again every %d seconds",
                         spec.description, operation, status == APR_TIMEUP ? " in time" : "",
                         static_cast<int>(retry_seconds));
            report(false, now, status == APR_TIMEUP ? "did not answer in time" : "failed");
        }
    }

    void worked()
    {
        if (down.load(std::memory_order_relaxed) && down.exchange(false)) {
            ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, base, ARRCERT_LOGNO(0402) "ArrCertCache %s works again",
                         spec.description);
            report(true, apr_time_sec(apr_time_now()), {});
        }
    }

    // One provider call, under the global mutex when there is one.
    template <class Call>
    apr_status_t locked(Call call)
    {
        if (mutex != nullptr && apr_global_mutex_lock(mutex) != APR_SUCCESS) {
            return APR_EGENERAL;
        }
        const apr_status_t status = call();
        if (mutex != nullptr) {
            apr_global_mutex_unlock(mutex);
        }
        return status;
    }
};

SharedCache::SharedCache(const SharedCacheSpec& spec, CacheSecret secret, std::chrono::milliseconds backend_timeout)
    : backend_(std::make_shared<Backend>()), seal_(secret)
{
    backend_->spec = spec;
    // A local provider (shmcb) answers from memory; network ones get workers and a deadline.
    if ((spec.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) == 0U) {
        calls_ = std::make_unique<BoundedCalls>(4, backend_timeout);
    }
}

apr_status_t SharedCache::destroy(void* cache) noexcept
{
    const Backend& backend = *static_cast<const SharedCache*>(cache)->backend_;
    backend.spec.provider->destroy(backend.spec.instance, backend.base);
    return APR_SUCCESS;
}

int SharedCache::start(server_rec* base, apr_pool_t* pool)
{
    Backend& backend = *backend_;
    backend.base = base;
    if ((backend.spec.provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) != 0U) {
        const apr_status_t status =
            ap_global_mutex_create(&backend.mutex, nullptr, shared_cache_mutex_type, nullptr, base, pool, 0);
        if (status != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, status, base,
                         ARRCERT_LOGNO(0403) "cannot create the mutex of ArrCertCache %s", backend.spec.description);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    const ap_socache_hints hints{32, 4096, apr_time_from_sec(30)};
    const apr_status_t status = backend.spec.provider->init(backend.spec.instance, "mod_arrcert", &hints, base, pool);
    if (status != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, status, base, ARRCERT_LOGNO(0404) "cannot start ArrCertCache %s",
                     backend.spec.description);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    // Registered after the owner's cleanup, so run before it.
    apr_pool_cleanup_register(pool, this, destroy, apr_pool_cleanup_null);
    backend.quiet = static_cast<server_rec*>(apr_pmemdup(pool, base, sizeof(server_rec)));
    backend.quiet->log.module_levels = nullptr;
    backend.quiet->log.level = APLOG_ALERT;
    backend.report(true, apr_time_sec(apr_time_now()), {});
    return OK;
}

void SharedCache::report_to(StatusArea& status) noexcept
{
    backend_->status_area = &status;
}

void SharedCache::child_init(apr_pool_t* pool, server_rec* server)
{
    Backend& backend = *backend_;
    if (backend.mutex == nullptr) {
        return;
    }
    const apr_status_t status =
        apr_global_mutex_child_init(&backend.mutex, apr_global_mutex_lockfile(backend.mutex), pool);
    if (status != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, status, server,
                     ARRCERT_LOGNO(0405) "cannot attach to the mutex of ArrCertCache %s", backend.spec.description);
    }
}

namespace {

// A pool of the call's own, for a provider that answers in place (no request pool in a background thread).
class CallPool {
public:
    CallPool() { apr_pool_create_unmanaged_ex(&pool_, nullptr, nullptr); }
    CallPool(const CallPool&) = delete;
    CallPool& operator=(const CallPool&) = delete;
    CallPool(CallPool&&) = delete;
    CallPool& operator=(CallPool&&) = delete;
    ~CallPool()
    {
        if (pool_ != nullptr) {
            apr_pool_destroy(pool_);
        }
    }
    [[nodiscard]] apr_pool_t* get() const noexcept { return pool_; }

private:
    apr_pool_t* pool_ = nullptr;
};

}  // namespace

std::shared_ptr<SharedCache::Lookup> SharedCache::look_up(const CacheKey& key, unsigned int capacity, apr_pool_t* pool)
{
    auto lookup = std::make_shared<Lookup>();
    lookup->key = key;
    lookup->data = std::make_unique_for_overwrite<unsigned char[]>(capacity);
    lookup->size = capacity;
    const auto retrieve = [backend = backend_, lookup](apr_pool_t* call_pool) {
        return backend->locked([&] {
            return backend->spec.provider->retrieve(backend->spec.instance, backend->quiet, lookup->key.data(),
                                                    static_cast<unsigned int>(lookup->key.size()), lookup->data.get(),
                                                    &lookup->size, call_pool);
        });
    };
    if (calls_ != nullptr) {
        lookup->status = calls_->run(retrieve);
    } else if (pool != nullptr) {
        lookup->status = retrieve(pool);
    } else if (const CallPool own; own.get() != nullptr) {
        lookup->status = retrieve(own.get());
    }
    return lookup;
}

std::optional<OpenedVerdict> SharedCache::find(const CacheKey& key, std::int64_t now, request_rec* r)
{
    Backend& backend = *backend_;
    if (!backend.available(now)) {
        return std::nullopt;
    }
    const std::shared_ptr<const Lookup> lookup = look_up(key, max_entry_bytes, r->pool);
    const apr_status_t status = lookup->status;
    if (status == APR_NOTFOUND || status == APR_EAGAIN) {
        return std::nullopt;  // a miss, or every worker busy: judged here
    }
    if (status != APR_SUCCESS) {
        backend.failed(status, "look up a verdict", now);
        return std::nullopt;
    }
    backend.worked();
    std::optional<OpenedVerdict> opened = open_verdict(lookup->bytes(), key, seal_);
    if (!opened) {
        // Another server with another secret, or someone writing to the cache.
        ap_log_rerror(APLOG_MARK, warned_forgery_.exchange(true) ? APLOG_DEBUG : APLOG_WARNING, 0, r,
                      ARRCERT_LOGNO(0406) "ArrCertCache %s returned an entry that is not sealed with this server's secret; "
                      "ignored (do the servers sharing it have the same ArrCertCacheSecret?)",
                      backend.spec.description);
        return std::nullopt;
    }
    if (opened->expires < now) {
        return std::nullopt;
    }
    return opened;
}

void SharedCache::store(const CacheKey& key, const Verdict& verdict, std::int64_t expires, std::int64_t now,
                        apr_pool_t* request_pool)
{
    // "No certificate" costs nothing to judge: not worth a round trip.
    if (verdict.kind == Verdict::Kind::absent || !backend_->available(now)) {
        return;
    }
    auto sealed = std::make_shared<std::string>(seal_verdict(verdict, expires, key, seal_));
    if (sealed->size() > max_entry_bytes || expires <= now) {
        return;
    }
    const auto write = [backend = backend_, key, sealed, expires, now](apr_pool_t* pool) {
        const apr_status_t status = backend->locked([&] {
            return backend->spec.provider->store(backend->spec.instance, backend->quiet, key.data(),
                                                 static_cast<unsigned int>(key.size()), apr_time_from_sec(expires),
                                                 reinterpret_cast<unsigned char*>(sealed->data()),
                                                 static_cast<unsigned int>(sealed->size()), pool);
        });
        if (status != APR_SUCCESS) {
            backend->failed(status, "store a verdict", now);
        } else {
            backend->worked();
        }
        return status;
    };
    if (calls_ != nullptr) {
        calls_->post(write);  // dropped when the workers are busy: only a cache entry is lost
        return;
    }
    write(request_pool);
}

std::optional<std::string> SharedCache::fetch(std::string_view name, std::int64_t now)
{
    if (!backend_->available(now)) {
        return std::nullopt;
    }
    const CacheKey key = RevocationShare::document_key(name);
    const std::shared_ptr<const Lookup> lookup = look_up(key, max_document_bytes, nullptr);
    const apr_status_t status = lookup->status;
    if (status != APR_SUCCESS) {
        return std::nullopt;  // a miss, a busy worker or a failure: fetched here
    }
    std::optional<OpenedBytes> opened = open_bytes(lookup->bytes(), key, seal_);
    if (!opened || opened->time < now) {
        return std::nullopt;
    }
    return std::move(opened->bytes);
}

void SharedCache::keep(std::string_view name, const std::string& bytes, std::int64_t expires, std::int64_t now)
{
    if (!backend_->available(now) || expires <= now) {
        return;
    }
    const CacheKey key = RevocationShare::document_key(name);
    auto sealed = std::make_shared<std::string>(seal_bytes(bytes, expires, key, seal_));
    if (sealed->size() > max_document_bytes) {
        return;
    }
    const auto write = [backend = backend_, key, sealed, expires](apr_pool_t* pool) {
        return backend->locked([&] {
            return backend->spec.provider->store(backend->spec.instance, backend->quiet, key.data(),
                                                 static_cast<unsigned int>(key.size()), apr_time_from_sec(expires),
                                                 reinterpret_cast<unsigned char*>(sealed->data()),
                                                 static_cast<unsigned int>(sealed->size()), pool);
        });
    };
    if (calls_ != nullptr) {
        calls_->post(write);
    } else if (const CallPool pool; pool.get() != nullptr) {
        write(pool.get());
    }
}

}  // namespace arrcert::httpd
