#include "server_config.h"

#include <ap_provider.h>
#include <apr_strings.h>

#include <new>
#include <string>
#include <string_view>

#include "c_boundary.h"
#include "directive_handlers.h"
#include "directive_values.h"

namespace arrcert::httpd {
namespace {

// The in-process cache's size: "none" (0), "memory" or "memory:ENTRIES".
struct MemoryCache {
    std::size_t entries = default_cache_entries;
};

// Not a memory-cache word at all: nullopt; a memory-cache word with a bad size: a failure.
std::optional<Result<MemoryCache>> memory_cache_named(std::string_view value)
{
    if (value == "none") {
        return MemoryCache{0};
    }
    if (value == "memory") {
        return MemoryCache{};
    }
    if (!value.starts_with("memory:")) {
        return std::nullopt;
    }
    const auto count = bounded_number(value.substr(7), 1, 10000000, "entries");
    if (!count) {
        return Result<MemoryCache>(
            Failure{"'" + std::string(value) + "': the number of entries must be from 1 to 10000000"});
    }
    return MemoryCache{static_cast<std::size_t>(count.value())};
}

// PROVIDER[:ARGUMENT] of an ap_socache provider, created now so that a bad argument stops
// `apachectl -t`.
Result<SharedCacheSpec> shared_cache_named(cmd_parms* cmd, std::string_view value)
{
    const std::size_t colon = value.find(':');
    const std::string name(value.substr(0, colon));
    const char* argument =
        colon == std::string_view::npos ? nullptr : apr_pstrdup(cmd->pool, value.substr(colon + 1).data());
    const auto* provider = static_cast<const ap_socache_provider_t*>(
        ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name.c_str(), AP_SOCACHE_PROVIDER_VERSION));
    if (provider == nullptr) {
        return Failure{"'" + std::string(value) + "' is not none, memory[:ENTRIES] or a shared cache " +
                       "(shmcb:PATH(BYTES), memcache:HOST:PORT, redis:HOST:PORT); for '" + name + "', is mod_socache_" +
                       name + " loaded before this line?"};
    }
    ap_socache_instance_t* instance = nullptr;
    if (const char* failure = provider->create(&instance, argument, cmd->temp_pool, cmd->pool); failure != nullptr) {
        return Failure{"'" + std::string(value) + "': " + failure};
    }
    return SharedCacheSpec{provider, instance, apr_pstrdup(cmd->pool, std::string(value).c_str())};
}

}  // namespace

ServerConfig& server_config_of(server_rec* server)
{
    return *static_cast<ServerConfig*>(ap_get_module_config(server->module_config, &arrcert_module));
}

ServerConfig& server_config_of(cmd_parms* cmd)
{
    return server_config_of(cmd->server);
}

void remember_header(cmd_parms* cmd, const char* name)
{
    if (name != nullptr) {
        APR_ARRAY_PUSH(server_config_of(cmd).header_names, const char*) = name;
    }
}

extern "C" void* create_server_config(apr_pool_t* pool, server_rec* /*server*/)
{
    auto* config = new (apr_pcalloc(pool, sizeof(ServerConfig))) ServerConfig();
    config->header_names = apr_array_make(pool, 2, sizeof(const char*));
    return config;
}

extern "C" void* merge_server_config(apr_pool_t* pool, void* base_config, void* add_config)
{
    const auto& base = *static_cast<const ServerConfig*>(base_config);
    const auto& add = *static_cast<const ServerConfig*>(add_config);
    auto* merged = new (apr_pcalloc(pool, sizeof(ServerConfig))) ServerConfig(base);  // caches: global only
    merged->trusted_proxies = add.trusted_proxies != nullptr ? add.trusted_proxies : base.trusted_proxies;
    merged->header_names = add.header_names;  // the runtime joins every server's (runtime.cpp)
    return merged;
}

extern "C" const char* set_cache(cmd_parms* cmd, void* /*config*/, const char* arg, const char* memory)
{
    return on_server(cmd, true, [&](ServerConfig& server) -> const char* {
        if (const auto in_memory = memory_cache_named(arg); in_memory) {
            if (!*in_memory) {
                return directive_error(cmd, in_memory->error());
            }
            if (memory != nullptr) {
                return directive_error(cmd, "a second argument follows only a shared cache");
            }
            server.cache_entries = in_memory->value().entries;
            server.shared = {};
            return nullptr;
        }
        auto shared = shared_cache_named(cmd, arg);
        if (!shared) {
            return directive_error(cmd, shared.error());
        }
        // The memory cache in front of a shared one (default: memory).
        MemoryCache front;
        if (memory != nullptr) {
            const auto in_memory = memory_cache_named(memory);
            if (!in_memory) {
                return directive_error(cmd, "'" + std::string(memory) + "' is not none, memory or memory:ENTRIES");
            }
            if (!*in_memory) {
                return directive_error(cmd, in_memory->error());
            }
            front = in_memory->value();
        }
        server.cache_entries = front.entries;
        server.shared = shared.value();
        return nullptr;
    });
}

extern "C" const char* set_cache_secret(cmd_parms* cmd, void* /*config*/, const char* arg)
{
    return on_server(cmd, true, [&](ServerConfig& server) -> const char* {
        const auto path = server_path(cmd, arg);
        if (!path) {
            return directive_error(cmd, path.error());
        }
        Result<CacheSecret> secret = cache_secret_from_file(path.value());
        if (!secret) {
            return directive_error(cmd, secret.error());
        }
        server.cache_secret = secret.value();
        return nullptr;
    });
}

}  // namespace arrcert::httpd
