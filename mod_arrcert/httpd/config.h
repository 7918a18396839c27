// Per-directory configuration: what the directives of one scope say, merged inner over outer.
#pragma once

#include <httpd.h>
#include <http_config.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arrcert/digest.h"
#include "arrcert/dn_pattern.h"
#include "arrcert/rules.h"
#include "arrcert/revocation.h"
#include "arrcert/thumbprint.h"
#include "arrcert/trust_store.h"
#include "arrcert/variables.h"
#include "arrcert/verdict_cache.h"
#include "module.h"
#include "shared_cache.h"

namespace arrcert::httpd {

inline constexpr const char* default_header_name = "X-ARR-ClientCert";

enum OptionBits : unsigned { option_std_env_vars = 1U, option_export_cert_data = 2U };

// ArrCertFrontEnd: the header names and formats a front end uses.
enum class FrontEnd { unset, azure, envoy, traefik, aws_alb, rfc9440 };

// Where the certificate comes from, as the scope's directives and preset say.
struct HeaderSettings {
    const char* name;
    HeaderFormat format;
    const char* chain_name;  // null: no separate chain header
    HeaderFormat chain_format;
};
HeaderSettings front_end_headers(FrontEnd front_end) noexcept;

// Where a directive was written, for the messages of the start-up check.
struct Origin {
    const char* file = nullptr;  // null: not set
    int line = 0;
    const char* what = nullptr;  // e.g. "ArrCertVerifyClient require"
};

// Plain data, so that a merge (done per request for some scopes) is a copy of a few words.
// The lists belong to the pool of the scope that declared them and are never written after
// the configuration is read.
struct DirConfig {
    bool mode_set = false;
    VerifyMode mode = VerifyMode::none;
    Origin mode_at;                         // the ArrCertVerifyClient line in force
    Origin require_at;                      // a Require arrcert line of this scope that relies on the scope's trust
    std::optional<bool> accept_unverified;  // ArrCertAcceptUnverified; default off
    const std::vector<Thumbprint>* thumbprints = nullptr;  // null: inherit
    const std::vector<DnPattern>* issuers = nullptr;
    const std::vector<DnPattern>* subjects = nullptr;
    std::int64_t clock_skew = -1;  // -1: inherit (default 0)
    // Header settings merge as one unit: a scope that sets any of them replaces the outer ones.
    FrontEnd front_end = FrontEnd::unset;
    const char* header_name = nullptr;  // explicit ArrCertHeader: overrides the preset
    HeaderFormat header_format = HeaderFormat::automatic;
    const char* chain_header_name = nullptr;
    HeaderFormat chain_header_format = HeaderFormat::automatic;
    bool xfcc_set = false;
    XfccPick xfcc_element = XfccPick::last;
    std::size_t max_header_length = 0;  // 0: inherit
    bool options_absolute = false;      // ArrCertOptions without +/-
    unsigned options = 0;
    unsigned options_add = 0;
    unsigned options_del = 0;
    const char* user_name_variable = nullptr;
    const std::vector<std::string>* export_names = nullptr;  // ArrCertExport; null: all
    const TrustStore* trust = nullptr;                       // null: inherit (no chain verification)
    CrlSource* crls = nullptr;                               // null: inherit; reloads itself, hence not const
    bool revocation_set = false;
    RevocationPolicy revocation;
    int verify_depth = 0;           // 0: inherit
    std::int64_t crl_refresh = -1;  // -1: inherit

    // The rules of this scope; `crls` is the snapshot in force for the request.
    [[nodiscard]] RuleSet rules(const CrlSnapshot* crl_snapshot) const noexcept;
    [[nodiscard]] RevocationPolicy effective_revocation() const noexcept;
    [[nodiscard]] std::int64_t effective_crl_refresh() const noexcept
    {
        return crl_refresh < 0 ? default_crl_refresh_seconds : crl_refresh;
    }
    [[nodiscard]] ExportOptions export_options() const noexcept;
    [[nodiscard]] std::int64_t effective_clock_skew() const noexcept { return clock_skew < 0 ? 0 : clock_skew; }
    [[nodiscard]] HeaderSettings headers() const noexcept;
    [[nodiscard]] const char* effective_header_name() const noexcept { return headers().name; }
    [[nodiscard]] DecodeOptions decode_options() const noexcept
    {
        return {headers().format, effective_max_header_length(), xfcc_element};
    }
    [[nodiscard]] std::size_t effective_max_header_length() const noexcept
    {
        return max_header_length != 0 ? max_header_length : default_max_header_length;
    }
    // Whether something proves a certificate genuine here: a CA, pins, or the administrator's
    // word that the front end verifies (ArrCertAcceptUnverified).
    [[nodiscard]] bool has_trust() const noexcept
    {
        return trust != nullptr || (thumbprints != nullptr && !thumbprints->empty()) ||
               accept_unverified.value_or(false);
    }
};

struct Runtime;

// Per-server configuration: who may send the header.
struct ServerConfig {
    apr_array_header_t* trusted_proxies = nullptr;  // of apr_ipsubnet_t*; null: any peer
    apr_array_header_t* header_names = nullptr;     // of const char*: every ArrCertHeader of the server
    // ArrCertCache and ArrCertCacheTimeout (global); the cache itself is made in post_config.
    std::size_t cache_entries = default_cache_entries;  // 0: no cache
    std::int64_t cache_timeout = default_cache_timeout_seconds;
    SharedCacheSpec shared;  // ArrCertCache PROVIDER:ARGUMENT
    std::int64_t backend_timeout_ms = default_backend_timeout_ms;
    std::optional<CacheSecret> cache_secret;  // ArrCertCacheSecret
    // Set at post_config: whether any scope of this server checks certificates, and the objects
    // of this configuration generation.
    bool checks_certificates = false;
    const Runtime* runtime = nullptr;
};

extern "C" {
void* create_dir_config(apr_pool_t* pool, char* directory);
void* merge_dir_config(apr_pool_t* pool, void* base, void* add);
void* create_server_config(apr_pool_t* pool, server_rec* server);
void* merge_server_config(apr_pool_t* pool, void* base, void* add);
}

extern const command_rec directives[];

inline const DirConfig& dir_config(const request_rec* r)
{
    return *static_cast<const DirConfig*>(ap_get_module_config(r->per_dir_config, &arrcert_module));
}

inline const ServerConfig& server_config(const server_rec* server)
{
    return *static_cast<const ServerConfig*>(ap_get_module_config(server->module_config, &arrcert_module));
}

}  // namespace arrcert::httpd
