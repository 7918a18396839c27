#include "runtime.h"

#include "config.h"
#include "pool_owned.h"
#include "scope_audit.h"
#include "trusted_proxy.h"

namespace arrcert::httpd {

int start_runtime(apr_pool_t* pool, server_rec* base)
{
    const ServerConfig& main = server_config(base);
    auto* runtime = make_pool_owned<Runtime>(pool);
    if (main.cache_entries != 0) {
        runtime->cache = make_pool_owned<VerdictCache>(pool, main.cache_entries, main.cache_timeout);
    }
    if (main.shared.provider != nullptr) {
        // Without ArrCertCacheSecret, entries are this server's alone (its children share them).
        runtime->shared_cache =
            make_pool_owned<SharedCache>(pool, main.shared, main.cache_secret.value_or(random_cache_secret()),
                                         main.cache_timeout, std::chrono::milliseconds(main.backend_timeout_ms));
        if (const int status = runtime->shared_cache->start(base, pool); status != OK) {
            return status;
        }
    }
    runtime->sha256 = make_pool_owned<FetchedSha256>(pool);
    runtime->certificate_headers = certificate_headers(base);
    for (server_rec* server = base; server != nullptr; server = server->next) {
        auto& config = *static_cast<ServerConfig*>(ap_get_module_config(server->module_config, &arrcert_module));
        config.runtime = runtime;
        config.checks_certificates = server_checks_certificates(server, pool);
    }
    return OK;
}

void start_child(apr_pool_t* pool, server_rec* base)
{
    if (SharedCache* shared = runtime_of(base).shared_cache; shared != nullptr) {
        shared->child_init(pool, base);
    }
}

const Runtime& runtime_of(const server_rec* server) noexcept
{
    return *server_config(server).runtime;
}

}  // namespace arrcert::httpd
