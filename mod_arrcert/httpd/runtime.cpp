#include "runtime.h"

#include <apr_file_info.h>
#include <apr_shm.h>
#include <http_log.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <unixd.h>

#include <cerrno>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "pool_owned.h"
#include "scope_audit.h"
#include "server_config.h"
#include "status.h"
#include "trusted_proxy.h"
#include "log_ids.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {

namespace {

// The directory where the processes of this server share fetched CRLs and OCSP responses: made
// here (as root, before the children change user) for the children's user alone. One that
// others could write to, or that is not a directory of that user, stops start-up.
const char* revocation_directory(apr_pool_t* pool, server_rec* base)
{
    const char* path = ap_runtime_dir_relative(pool, "arrcert-revocation");
    if (path == nullptr) {
        return nullptr;
    }
    apr_status_t made = apr_dir_make_recursive(path, APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_UEXECUTE, pool);
    // mod_unixd's User and Group, looked up by name: a data symbol would stop the module loading
    // outside httpd (make docs reads its command table).
    const auto* unixd = static_cast<const unixd_config_rec*>(dlsym(RTLD_DEFAULT, "ap_unixd_config"));
    const bool as_root = geteuid() == 0 && unixd != nullptr;
    const uid_t owner = as_root ? unixd->user_id : geteuid();
    if (made == APR_SUCCESS && as_root && lchown(path, owner, unixd->group_id) != 0) {
        made = APR_FROM_OS_ERROR(errno);
    }
    struct stat status {};
    const char* problem = made != APR_SUCCESS                                     ? "cannot be made"
                          : lstat(path, &status) != 0 || !S_ISDIR(status.st_mode) ? "is not a directory"
                          : status.st_uid != owner                                ? "is not owned by httpd's User"
                          : (status.st_mode & (S_IWGRP | S_IWOTH | S_IRWXO)) != 0 ? "is open to other users"
                                                                                  : nullptr;
    if (problem != nullptr) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, made, base,
                     ARRCERT_LOGNO(0305) "the directory where httpd's processes share fetched CRLs and OCSP "
                     "responses, %s, %s (DefaultRuntimeDir sets where it is; remove it to have it made again)",
                     path, problem);
        return nullptr;
    }
    return path;
}

// The secret the shared files are sealed under: in a file of the user that starts httpd (root),
// beside the directory, that the children's user cannot read; made once, so that what one
// generation fetched serves the next (a graceful restart fetches nothing again).
std::optional<CacheSecret> revocation_secret(apr_pool_t* pool, server_rec* base)
{
    const char* path = ap_runtime_dir_relative(pool, "arrcert-revocation.key");
    if (const int file = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600); file >= 0) {
        const std::string text = to_hex(random_cache_secret()) + "\n";
        const bool written = write(file, text.data(), text.size()) == static_cast<ssize_t>(text.size());
        close(file);
        if (!written) {
            unlink(path);
        }
    }
    struct stat status {};
    const char* problem = lstat(path, &status) != 0 || !S_ISREG(status.st_mode) ? "cannot be made"
                          : status.st_uid != geteuid()                  ? "is not owned by the user starting httpd"
                          : (status.st_mode & (S_IRWXG | S_IRWXO)) != 0 ? "is open to other users"
                                                                        : nullptr;
    Result<CacheSecret> secret =
        problem == nullptr ? cache_secret_from_file(path) : Result<CacheSecret>::failure(problem);
    if (!secret) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, base,
                     ARRCERT_LOGNO(0306) "the key that seals the CRLs and OCSP responses httpd's processes share, %s: "
                     "%s (remove it to have it made again)",
                     path, secret.error().c_str());
        return std::nullopt;
    }
    return secret.value();
}

// Anonymous shared memory made once by httpd's parent and kept in its process pool, so that a
// graceful restart keeps the marks; every child inherits it.
FreshnessMarks* freshness_marks(server_rec* base)
{
    apr_pool_t* process_pool = base->process->pool;
    static constexpr const char* key = "arrcert-freshness-marks";
    void* kept = nullptr;
    apr_pool_userdata_get(&kept, key, process_pool);
    if (kept != nullptr) {
        return static_cast<FreshnessMarks*>(kept);
    }
    apr_shm_t* shm = nullptr;
    if (const apr_status_t status = apr_shm_create(&shm, FreshnessMarks::bytes(), nullptr, process_pool);
        status != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, status, base,
                     ARRCERT_LOGNO(0307) "cannot create the shared memory that keeps replayed CRLs and OCSP responses "
                     "out (%zu bytes)",
                     FreshnessMarks::bytes());
        return nullptr;
    }
    FreshnessMarks* marks = FreshnessMarks::create(apr_shm_baseaddr_get(shm));
    apr_pool_userdata_set(marks, key, apr_pool_cleanup_null, process_pool);
    return marks;
}

apr_status_t stop_refreshes(void* data) noexcept
{
    auto* runtime = static_cast<Runtime*>(data);
    runtime->crl_fetcher.reset();
    runtime->ocsp_client.reset();
    return APR_SUCCESS;
}

}  // namespace

int start_runtime(apr_pool_t* pool, apr_pool_t* temp, server_rec* base)
{
    const ServerConfig& main = server_config(base);
    auto* runtime = make_pool_owned<Runtime>(pool);
    runtime->status = status_area(base, server_rows::status_inventory.value(main));
    if (runtime->status == nullptr) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    StatusArea& status = *runtime->status;
    runtime->cache_timeout = server_rows::cache_timeout.value(main);
    if (const std::size_t entries = main.cache_entries.value_or(default_cache_entries); entries != 0) {
        runtime->cache = std::make_unique<VerdictCache>(entries, runtime->cache_timeout);
        runtime->tiers.push_back(std::make_unique<MemoryTier>(*runtime->cache, status));
    }
    if (main.shared.provider != nullptr) {
        // Without ArrCertCacheSecret, entries are this server's alone (its children share them).
        runtime->shared_cache =
            std::make_unique<SharedCache>(main.shared, main.cache_secret.value_or(random_cache_secret()),
                                          std::chrono::milliseconds(server_rows::cache_backend_timeout.value(main)));
        runtime->shared_cache->report_to(status);
        runtime->tiers.push_back(std::make_unique<SharedTier>(*runtime->shared_cache, status));
    }
    runtime->certificate_headers = certificate_headers(base);
    runtime->front_ends_listed = front_ends_listed(base);
    runtime->main_server = base;
    const char* directory = revocation_directory(pool, base);
    if (directory == nullptr) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    const std::optional<CacheSecret> secret = revocation_secret(pool, base);
    if (!secret) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    FreshnessMarks* marks = freshness_marks(base);
    if (marks == nullptr) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    runtime->revocation_share =
        std::make_unique<RevocationShare>(directory, *secret, runtime->shared_cache.get(), marks);
    // Documents nobody fetched again for a week: their CAs or certificates are gone.
    runtime->revocation_share->sweep(apr_time_sec(apr_time_now()), std::int64_t{7} * 86400);
    const int refresh_percent = server_rows::revocation_refresh_at.value(main);
    runtime->ocsp_client = std::make_unique<OcspClient>(runtime->revocation_share.get(), refresh_percent);
    runtime->crl_fetcher = std::make_unique<CrlFetcher>(
        default_crl_fetch_timeout_seconds,
        [base, &status](const SourceEvent& event, const std::string& text) {
            ap_log_error(APLOG_MARK, event.ok ? APLOG_INFO : APLOG_ERR, 0, base, ARRCERT_LOGNO(0303) "%s",
                         text.c_str());
            status.count(event.ok ? Counter::crl_fetches : Counter::crl_fetch_failures);
            status.record_source(event);
        },
        runtime->revocation_share.get(), refresh_percent);
    runtime->ocsp_client->report_to([&status](const SourceEvent& event) {
        status.count(event.ok ? Counter::ocsp_queries : Counter::ocsp_query_failures);
        status.record_source(event);
    });
    const auto notice = [base](const std::string& text) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, base, ARRCERT_LOGNO(0304) "%s", text.c_str());
    };
    runtime->crl_fetcher->notice_to(notice);
    runtime->ocsp_client->notice_to(notice);
    std::vector<CrlSource*> crl_files;
    for (server_rec* server = base; server != nullptr; server = server->next) {
        for (CrlSource* source : crl_sources(server, temp)) {
            if (std::find(crl_files.begin(), crl_files.end(), source) == crl_files.end()) {
                crl_files.push_back(source);
            }
        }
        if (server_checks_certificates(server, temp)) {
            runtime->checking_servers.insert(server);
        }
        if (server_judges_alike(server, temp)) {
            runtime->alike_servers.insert(server);
        }
        server_config_of(server).runtime = runtime;
    }
    // The CRL files as read at start-up (a restart reads them again).
    for (CrlSource* source : crl_files) {
        const std::shared_ptr<const CrlSnapshot> loaded = source->loaded();
        const std::string name = source->description();
        status.record_source({SourceKind::crl_file,
                              name,
                              true,
                              apr_time_sec(apr_time_now()),
                              loaded != nullptr ? loaded->next_update() : -1,
                              {}});
    }
    // Last: the provider's destroy is registered on `pool` and must run before the runtime goes.
    const int started = runtime->shared_cache != nullptr ? runtime->shared_cache->start(base, pool) : OK;
    // Registered after it, so run before it: no refresh thread reaches a destroyed provider.
    apr_pool_cleanup_register(pool, runtime, stop_refreshes, apr_pool_cleanup_null);
    return started;
}

void start_child(apr_pool_t* pool, server_rec* base)
{
    if (SharedCache* shared = runtime_of(base).shared_cache.get(); shared != nullptr) {
        shared->child_init(pool, base);
    }
}

const Runtime& runtime_of(const server_rec* server) noexcept
{
    return *server_config(server).runtime;
}

}  // namespace arrcert::httpd
