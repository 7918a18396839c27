// Per-server configuration: the trusted front ends, the certificate headers the server's scopes
// read, and the verdict caches (ArrCertCache*: global, read from the main server).
#pragma once

#include <httpd.h>
#include <http_config.h>

#include <cstddef>
#include <cstdint>
#include <optional>

#include "arrcert/verdict_cache.h"
#include "arrcert/verdict_codec.h"
#include "module.h"
#include "shared_cache.h"

namespace arrcert::httpd {

struct Runtime;

struct ServerConfig {
    apr_array_header_t* trusted_proxies = nullptr;      // of apr_ipsubnet_t*; null: any peer
    apr_array_header_t* header_names = nullptr;         // of const char*: the headers this server's scopes read
    std::size_t cache_entries = default_cache_entries;  // 0: no memory cache
    std::int64_t cache_timeout = default_cache_timeout_seconds;
    SharedCacheSpec shared;  // ArrCertCache PROVIDER:ARGUMENT
    std::int64_t backend_timeout_ms = default_backend_timeout_ms;
    std::optional<CacheSecret> cache_secret;
    std::size_t status_inventory = 1000;  // ArrCertStatusInventory (global)
    int status_expiry_warning_days = 30;  // ArrCertStatusExpiryWarning (global)
    // The objects of the configuration generation, linked at post_config (as mod_ssl's
    // SSLSrvConfigRec links its module config): not configuration, never written by a request.
    const Runtime* runtime = nullptr;
};

inline const ServerConfig& server_config(const server_rec* server)
{
    return *static_cast<const ServerConfig*>(ap_get_module_config(server->module_config, &arrcert_module));
}

ServerConfig& server_config_of(cmd_parms* cmd);
ServerConfig& server_config_of(server_rec* server);  // post_config links the runtime

// A header name a scope of this server reads (ArrCertHeader, ArrCertChainHeader, ArrCertFrontEnd),
// for the removal from untrusted peers.
void remember_header(cmd_parms* cmd, const char* name);

extern "C" {
void* create_server_config(apr_pool_t* pool, server_rec* server);
void* merge_server_config(apr_pool_t* pool, void* base, void* add);
const char* set_cache(cmd_parms* cmd, void* config, const char* arg, const char* memory);
const char* set_cache_secret(cmd_parms* cmd, void* config, const char* arg);
const char* set_cache_timeout(cmd_parms* cmd, void* config, const char* arg);
const char* set_backend_timeout(cmd_parms* cmd, void* config, const char* arg);
}

}  // namespace arrcert::httpd
