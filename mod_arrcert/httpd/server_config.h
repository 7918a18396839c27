// Per-server configuration: the trusted front ends, the certificate headers the server's scopes
// read, and the verdict caches (ArrCertCache*: global, read from the main server).
#pragma once

#include <httpd.h>
#include <http_config.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <tuple>

#include "arrcert/revocation_share.h"
#include "arrcert/status_area.h"
#include "arrcert/verdict_cache.h"
#include "arrcert/verdict_codec.h"
#include "directive_row.h"
#include "module.h"
#include "shared_cache.h"

namespace arrcert::httpd {

struct Runtime;

// What the server-level directives say, with the rule of DirSettings: not set is std::optional
// empty or a null pointer, and a default is applied where the value is read (from its row).
struct ServerConfig {
    // ArrCertTrustedProxy, of apr_ipsubnet_t*: empty for "none"; null when not set (a virtual host
    // inherits the main server's), and where no server sets it the default holds: any peer
    // unless another server lists its front ends (peer_is_trusted).
    apr_array_header_t* trusted_proxies = nullptr;
    apr_array_header_t* header_names = nullptr;  // of const char*: the headers this server's scopes read
    // Global (the main server's): ArrCertCache, ArrCertCache*, ArrCertStatus*.
    std::optional<std::size_t> cache_entries;  // 0: no memory cache
    SharedCacheSpec shared;                    // ArrCertCache PROVIDER:ARGUMENT; no provider: none
    std::optional<std::int64_t> cache_timeout;
    std::optional<std::int64_t> backend_timeout_ms;
    std::optional<CacheSecret> cache_secret;
    std::optional<std::size_t> status_inventory;
    std::optional<int> status_expiry_warning_days;
    std::optional<int> revocation_refresh_percent;  // ArrCertRevocationRefreshAt
    // The objects of the configuration generation, linked at post_config (as mod_ssl's
    // SSLSrvConfigRec links its module config): not configuration, never written by a request.
    const Runtime* runtime = nullptr;
};

inline const ServerConfig& server_config(const server_rec* server)
{
    return *static_cast<const ServerConfig*>(ap_get_module_config(server->module_config, &arrcert_module));
}

inline constexpr std::size_t default_status_inventory = 1000;
inline constexpr int default_expiry_warning_days = 30;

// The server-level directives that take a number: their rows (command_table.cpp lists them).
namespace server_rows {
using Settings = ServerConfig;
inline constexpr NumberRow<Settings, std::int64_t> cache_timeout{"ArrCertCacheTimeout",
                                                                 &Settings::cache_timeout,
                                                                 1,
                                                                 86400,
                                                                 "seconds",
                                                                 default_cache_timeout_seconds,
                                                                 Where::main_server,
                                                                 "SECONDS",
                                                                 "the longest a verdict is kept"};
inline constexpr NumberRow<Settings, std::int64_t> cache_backend_timeout{
    "ArrCertCacheBackendTimeout",
    &Settings::backend_timeout_ms,
    10,
    60000,
    "milliseconds",
    default_backend_timeout_ms,
    Where::main_server,
    "MILLISECONDS",
    "the longest a request waits for a memcache or redis cache"};
inline constexpr NumberRow<Settings, std::size_t> status_inventory{
    "ArrCertStatusInventory",
    &Settings::status_inventory,
    0,
    static_cast<std::int64_t>(StatusArea::max_inventory),
    "certificates",
    default_status_inventory,
    Where::main_server,
    "N",
    "how many client certificates the status page lists at most, the least recently seen dropped (0: none)"};
inline constexpr NumberRow<Settings, int> status_expiry_warning{
    "ArrCertStatusExpiryWarning",
    &Settings::status_expiry_warning_days,
    0,
    3650,
    "days",
    default_expiry_warning_days,
    Where::main_server,
    "DAYS",
    "how close to notAfter a certificate is marked as expiring on the status page"};
inline constexpr NumberRow<Settings, int> revocation_refresh_at{
    "ArrCertRevocationRefreshAt",
    &Settings::revocation_refresh_percent,
    10,
    99,
    "percent",
    default_refresh_percent,
    Where::main_server,
    "PERCENT",
    "how much of a fetched CRL's or OCSP answer's thisUpdate..nextUpdate window passes before it is fetched again "
    "in the background"};
inline constexpr auto all =
    std::tie(cache_timeout, cache_backend_timeout, status_inventory, status_expiry_warning, revocation_refresh_at);
}  // namespace server_rows

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
}

}  // namespace arrcert::httpd
