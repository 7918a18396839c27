#include "config.h"

#include <apr_network_io.h>
#include <apr_strings.h>
#include <http_log.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <new>
#include <string_view>

#include "arrcert/variables.h"
#include "c_boundary.h"
#include "keywords.h"
#include "pool_owned.h"
#include "trusted_proxy.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

constexpr std::int64_t max_clock_skew = 86400;
constexpr std::int64_t max_header_length_limit = 1 << 20;

DirConfig& config_of(void* config)
{
    return *static_cast<DirConfig*>(config);
}

const char* error(cmd_parms* cmd, const std::string& message)
{
    return directive_error(cmd, message);
}

template <class Body>
const char* guarded(cmd_parms* cmd, Body body) noexcept
{
    return guard_directive(cmd, body);
}

// Where the directive being read was written.
Origin origin_of(cmd_parms* cmd, const char* what)
{
    return {cmd->directive != nullptr ? cmd->directive->filename : nullptr,
            cmd->directive != nullptr ? cmd->directive->line_num : 0, what};
}

constexpr std::array<Keyword<VerifyMode>, 4> verify_modes{{
    {"none", VerifyMode::none},
    {"optional", VerifyMode::optional},
    {"require", VerifyMode::require},
    {"optional_no_ca", VerifyMode::optional_no_ca},
}};
constexpr std::array<Keyword<XfccPick>, 2> xfcc_picks{{{"first", XfccPick::first}, {"last", XfccPick::last}}};
constexpr std::array<Keyword<RevocationCheck>, 3> revocation_checks{{
    {"chain", RevocationCheck::chain},
    {"leaf", RevocationCheck::leaf},
    {"none", RevocationCheck::none},
}};
constexpr std::array<Keyword<unsigned>, 2> export_options_table{{
    {"StdEnvVars", option_std_env_vars},
    {"ExportCertData", option_export_cert_data},
}};

// "'WORD' is not one of a, b or c"
template <class T, std::size_t N>
std::string not_one_of(const char* word, const std::array<Keyword<T>, N>& table)
{
    return "'" + std::string(word) + "' is not " + (N == 2 ? "" : "one of ") + keyword_list(table);
}

// Handlers get their own scope's fresh config: a list found there was started by an earlier
// line of the same scope, and a scope's list replaces the outer one at merge time.
template <class T>
std::vector<T>& own_list(cmd_parms* cmd, const std::vector<T>*& list)
{
    if (list == nullptr) {
        list = make_pool_owned<std::vector<T>>(cmd->pool);
    }
    return const_cast<std::vector<T>&>(*list);
}

bool parse_number(std::string_view text, std::int64_t& value)
{
    const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
    return status == std::errc() && end == text.data() + text.size();
}

bool is_token(std::string_view text)
{
    constexpr std::string_view separators = "()<>@,;:\\\"/[]?={} \t";
    return !text.empty() && std::ranges::all_of(text, [&](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte > 32 && byte < 127 && separators.find(c) == std::string_view::npos;
    });
}

extern "C" const char* set_verify_client(cmd_parms* cmd, void* config, const char* arg)
{
    return guarded(cmd, [&]() -> const char* {
        DirConfig& c = config_of(config);
        const std::optional<VerifyMode> mode = keyword_value(verify_modes, arg);
        if (!mode) {
            return error(cmd, not_one_of(arg, verify_modes));
        }
        c.mode = *mode;
        c.mode_set = true;
        c.mode_at = origin_of(cmd, apr_pstrcat(cmd->pool, "ArrCertVerifyClient ", arg, nullptr));
        return nullptr;
    });
}

extern "C" const char* add_thumbprint(cmd_parms* cmd, void* config, const char* arg)
{
    return guarded(cmd, [&]() -> const char* {
        auto thumbprint = Thumbprint::parse(arg);
        if (!thumbprint) {
            return error(cmd, thumbprint.error());
        }
        own_list(cmd, config_of(config).thumbprints).push_back(std::move(thumbprint.value()));
        return nullptr;
    });
}

const char* add_dn(cmd_parms* cmd, const char* arg, const std::vector<DnPattern>*& list)
{
    return guarded(cmd, [&]() -> const char* {
        auto pattern = DnPattern::parse(arg);
        if (!pattern) {
            return error(cmd, pattern.error());
        }
        own_list(cmd, list).push_back(std::move(pattern.value()));
        return nullptr;
    });
}

extern "C" const char* add_issuer(cmd_parms* cmd, void* config, const char* arg)
{
    return add_dn(cmd, arg, config_of(config).issuers);
}

extern "C" const char* add_subject(cmd_parms* cmd, void* config, const char* arg)
{
    return add_dn(cmd, arg, config_of(config).subjects);
}

ServerConfig& server_config_of(cmd_parms* cmd)
{
    return *static_cast<ServerConfig*>(ap_get_module_config(cmd->server->module_config, &arrcert_module));
}

// Recorded per server, so that the header can be removed early from untrusted peers.
void remember_header(cmd_parms* cmd, const char* name)
{
    if (name != nullptr) {
        APR_ARRAY_PUSH(server_config_of(cmd).header_names, const char*) = name;
    }
}

// NAME [FORMAT] of ArrCertHeader and ArrCertChainHeader.
const char* header_and_format(cmd_parms* cmd, const char* name, const char* format_name, const char*& target_name,
                              HeaderFormat& target_format)
{
    return guarded(cmd, [&]() -> const char* {
        if (!is_token(name)) {
            return error(cmd, "'" + std::string(name) + "' is not a valid HTTP header name");
        }
        HeaderFormat format = HeaderFormat::automatic;
        if (format_name != nullptr) {
            const auto named = header_format_named(format_name);
            if (!named) {
                return error(cmd, "'" + std::string(format_name) + "' is not a format (" + header_format_list() + ")");
            }
            format = *named;
        }
        target_name = apr_pstrdup(cmd->pool, name);
        target_format = format;
        remember_header(cmd, target_name);
        return nullptr;
    });
}

extern "C" const char* set_header(cmd_parms* cmd, void* config, const char* name, const char* format)
{
    DirConfig& c = config_of(config);
    return header_and_format(cmd, name, format, c.header_name, c.header_format);
}

extern "C" const char* set_chain_header(cmd_parms* cmd, void* config, const char* name, const char* format)
{
    DirConfig& c = config_of(config);
    const char* failure = header_and_format(cmd, name, format, c.chain_header_name, c.chain_header_format);
    if (failure == nullptr && format != nullptr && c.chain_header_format == HeaderFormat::xfcc) {
        return error(cmd, "xfcc carries its chain in its own Chain field, not in a separate header");
    }
    return failure;
}

constexpr std::array<Keyword<FrontEnd>, 5> presets{{
    {"azure", FrontEnd::azure},
    {"envoy", FrontEnd::envoy},
    {"traefik", FrontEnd::traefik},
    {"aws-alb", FrontEnd::aws_alb},
    {"rfc9440", FrontEnd::rfc9440},
}};

extern "C" const char* set_front_end(cmd_parms* cmd, void* config, const char* arg)
{
    return guarded(cmd, [&]() -> const char* {
        const std::optional<FrontEnd> front_end = keyword_value(presets, arg);
        if (!front_end) {
            return error(cmd, not_one_of(arg, presets));
        }
        config_of(config).front_end = *front_end;
        const HeaderSettings headers = front_end_headers(*front_end);
        remember_header(cmd, headers.name);
        remember_header(cmd, headers.chain_name);
        return nullptr;
    });
}

extern "C" const char* set_xfcc_element(cmd_parms* cmd, void* config, const char* arg)
{
    return guarded(cmd, [&]() -> const char* {
        DirConfig& c = config_of(config);
        const std::optional<XfccPick> pick = keyword_value(xfcc_picks, arg);
        if (!pick) {
            return error(cmd, not_one_of(arg, xfcc_picks));
        }
        c.xfcc_element = *pick;
        c.xfcc_set = true;
        return nullptr;
    });
}

// Paths are relative to ServerRoot, as for mod_ssl's file directives.
std::string server_path(cmd_parms* cmd, const char* arg)
{
    const char* path = ap_server_root_relative(cmd->temp_pool, arg);
    if (path == nullptr) {
        throw std::invalid_argument("invalid path '" + std::string(arg) + "'");
    }
    return path;
}

TrustStore& own_trust(cmd_parms* cmd, DirConfig& config)
{
    if (config.trust == nullptr) {
        config.trust = make_pool_owned<TrustStore>(cmd->pool);
    }
    return const_cast<TrustStore&>(*config.trust);
}

CrlSource& own_crls(cmd_parms* cmd, DirConfig& config)
{
    if (config.crls == nullptr) {
        config.crls = make_pool_owned<CrlSource>(cmd->pool);
    }
    return *config.crls;
}

template <class Load>
const char* load(cmd_parms* cmd, Load load_into)
{
    return guarded(cmd, [&]() -> const char* {
        const std::string failure = load_into();
        return failure.empty() ? nullptr : error(cmd, failure);
    });
}

extern "C" const char* add_ca_file(cmd_parms* cmd, void* config, const char* arg)
{
    return load(cmd, [&] { return own_trust(cmd, config_of(config)).add_file(server_path(cmd, arg)); });
}

extern "C" const char* add_ca_path(cmd_parms* cmd, void* config, const char* arg)
{
    return load(cmd, [&] { return own_trust(cmd, config_of(config)).add_directory(server_path(cmd, arg)); });
}

extern "C" const char* add_crl_file(cmd_parms* cmd, void* config, const char* arg)
{
    return load(cmd, [&] { return own_crls(cmd, config_of(config)).add_file(server_path(cmd, arg)); });
}

extern "C" const char* add_crl_path(cmd_parms* cmd, void* config, const char* arg)
{
    return load(cmd, [&] { return own_crls(cmd, config_of(config)).add_directory(server_path(cmd, arg)); });
}

extern "C" const char* set_revocation_check(cmd_parms* cmd, void* config, const char* mode, const char* flag)
{
    return guarded(cmd, [&]() -> const char* {
        DirConfig& c = config_of(config);
        const std::optional<RevocationCheck> check = keyword_value(revocation_checks, mode);
        if (!check) {
            return error(cmd, not_one_of(mode, revocation_checks));
        }
        c.revocation.check = *check;
        c.revocation.no_crl_for_cert_ok = false;
        if (flag != nullptr) {
            if (strcasecmp(flag, "no_crl_for_cert_ok") != 0) {
                return error(cmd, "'" + std::string(flag) + "' is not no_crl_for_cert_ok");
            }
            c.revocation.no_crl_for_cert_ok = true;
        }
        c.revocation_set = true;
        return nullptr;
    });
}

const char* set_bounded(cmd_parms* cmd, const char* arg, std::int64_t low, std::int64_t high, const char* unit,
                        std::int64_t& target)
{
    return guarded(cmd, [&]() -> const char* {
        std::int64_t value = 0;
        if (!parse_number(arg, value) || value < low || value > high) {
            return error(cmd, "'" + std::string(arg) + "' is not a number of " + unit + " from " + std::to_string(low) +
                                  " to " + std::to_string(high));
        }
        target = value;
        return nullptr;
    });
}

extern "C" const char* set_clock_skew(cmd_parms* cmd, void* config, const char* arg)
{
    return set_bounded(cmd, arg, 0, max_clock_skew, "seconds", config_of(config).clock_skew);
}

extern "C" const char* set_max_header_length(cmd_parms* cmd, void* config, const char* arg)
{
    std::int64_t bytes = 0;
    const char* failure = set_bounded(cmd, arg, 1, max_header_length_limit, "bytes", bytes);
    if (failure == nullptr) {
        config_of(config).max_header_length = static_cast<std::size_t>(bytes);
    }
    return failure;
}

extern "C" const char* set_verify_depth(cmd_parms* cmd, void* config, const char* arg)
{
    std::int64_t depth = 0;
    const char* failure = set_bounded(cmd, arg, 1, 100, "certificates", depth);
    if (failure == nullptr) {
        config_of(config).verify_depth = static_cast<int>(depth);
    }
    return failure;
}

extern "C" const char* set_crl_refresh(cmd_parms* cmd, void* config, const char* arg)
{
    return set_bounded(cmd, arg, 1, 86400, "seconds", config_of(config).crl_refresh);
}

// "none", "memory" or "memory:ENTRIES": the in-process cache's size (0: none).
std::optional<std::string> parse_memory_cache(std::string_view value, std::size_t& entries)
{
    auto count = static_cast<std::int64_t>(default_cache_entries);
    if (value == "none") {
        count = 0;
    } else if (value.starts_with("memory:")) {
        if (!parse_number(value.substr(7), count) || count < 1 || count > 10000000) {
            return "'" + std::string(value) + "': the number of entries must be from 1 to 10000000";
        }
    } else if (value != "memory") {
        return std::nullopt;
    }
    entries = static_cast<std::size_t>(count);
    return std::string();
}

// PROVIDER[:ARGUMENT] of an ap_socache provider, created now so that a bad argument stops
// `apachectl -t`.
const char* set_shared_cache(cmd_parms* cmd, std::string_view value, SharedCacheSpec& spec)
{
    const std::size_t colon = value.find(':');
    const std::string name(value.substr(0, colon));
    const char* argument =
        colon == std::string_view::npos ? nullptr : apr_pstrdup(cmd->pool, value.substr(colon + 1).data());
    const auto* provider = static_cast<const ap_socache_provider_t*>(
        ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name.c_str(), AP_SOCACHE_PROVIDER_VERSION));
    if (provider == nullptr) {
        return error(cmd, "'" + std::string(value) + "' is not none, memory[:ENTRIES] or a shared cache " +
                              "(shmcb:PATH(BYTES), memcache:HOST:PORT, redis:HOST:PORT); for '" + name +
                              "', is mod_socache_" + name + " loaded before this line?");
    }
    ap_socache_instance_t* instance = nullptr;
    if (const char* failure = provider->create(&instance, argument, cmd->temp_pool, cmd->pool); failure != nullptr) {
        return error(cmd, "'" + std::string(value) + "': " + failure);
    }
    spec = {provider, instance, apr_pstrdup(cmd->pool, std::string(value).c_str())};
    return nullptr;
}

extern "C" const char* set_cache(cmd_parms* cmd, void* /*config*/, const char* arg, const char* memory)
{
    return guarded(cmd, [&]() -> const char* {
        if (const char* context = ap_check_cmd_context(cmd, GLOBAL_ONLY); context != nullptr) {
            return context;
        }
        ServerConfig& server = server_config_of(cmd);
        std::size_t entries = default_cache_entries;
        if (auto failure = parse_memory_cache(arg, entries); failure.has_value()) {
            if (!failure->empty()) {
                return error(cmd, *failure);
            }
            if (memory != nullptr) {
                return error(cmd, "a second argument follows only a shared cache");
            }
            server.cache_entries = entries;
            server.shared = {};
            return nullptr;
        }
        SharedCacheSpec spec;
        if (const char* failure = set_shared_cache(cmd, arg, spec); failure != nullptr) {
            return failure;
        }
        // The memory cache in front of a shared one (default: memory).
        if (memory != nullptr) {
            auto failure = parse_memory_cache(memory, entries);
            if (!failure.has_value()) {
                return error(cmd, "'" + std::string(memory) + "' is not none, memory or memory:ENTRIES");
            }
            if (!failure->empty()) {
                return error(cmd, *failure);
            }
        }
        server.cache_entries = entries;
        server.shared = spec;
        return nullptr;
    });
}

extern "C" const char* set_cache_secret(cmd_parms* cmd, void* /*config*/, const char* arg)
{
    return guarded(cmd, [&]() -> const char* {
        if (const char* context = ap_check_cmd_context(cmd, GLOBAL_ONLY); context != nullptr) {
            return context;
        }
        const char* path = ap_server_root_relative(cmd->temp_pool, arg);
        if (path == nullptr) {
            return error(cmd, std::string("invalid path ") + arg);
        }
        Result<CacheSecret> secret = cache_secret_from_file(path);
        if (!secret) {
            return error(cmd, secret.error());
        }
        server_config_of(cmd).cache_secret = secret.value();
        return nullptr;
    });
}

extern "C" const char* set_cache_timeout(cmd_parms* cmd, void* /*config*/, const char* arg)
{
    if (const char* context = ap_check_cmd_context(cmd, GLOBAL_ONLY); context != nullptr) {
        return context;
    }
    return set_bounded(cmd, arg, 1, 86400, "seconds", server_config_of(cmd).cache_timeout);
}

extern "C" const char* set_backend_timeout(cmd_parms* cmd, void* /*config*/, const char* arg)
{
    if (const char* context = ap_check_cmd_context(cmd, GLOBAL_ONLY); context != nullptr) {
        return context;
    }
    return set_bounded(cmd, arg, 10, 60000, "milliseconds", server_config_of(cmd).backend_timeout_ms);
}

extern "C" const char* set_accept_unverified(cmd_parms* /*cmd*/, void* config, int on)
{
    config_of(config).accept_unverified = on != 0;
    return nullptr;
}

extern "C" const char* add_option(cmd_parms* cmd, void* config, const char* arg)
{
    return guarded(cmd, [&]() -> const char* {
        DirConfig& c = config_of(config);
        std::string_view word(arg);
        const char sign = (word.front() == '+' || word.front() == '-') ? word.front() : '\0';
        if (sign != '\0') {
            word.remove_prefix(1);
        }
        const std::optional<unsigned> named = keyword_value(export_options_table, std::string(word).c_str());
        if (!named) {
            return error(cmd, "unknown option '" + std::string(arg) + "' (" +
                                  keyword_list(export_options_table, ", ", ", ") + ")");
        }
        const unsigned bit = *named;
        if (sign == '\0') {
            if (!c.options_absolute) {  // the first plain option of a line resets the set
                c.options = 0;
                c.options_add = 0;
                c.options_del = 0;
                c.options_absolute = true;
            }
            c.options |= bit;
        } else if (sign == '+') {
            c.options_add |= bit;
            c.options_del &= ~bit;
            c.options |= bit;
        } else {
            c.options_del |= bit;
            c.options_add &= ~bit;
            c.options &= ~bit;
        }
        return nullptr;
    });
}

extern "C" const char* add_export(cmd_parms* cmd, void* config, const char* arg)
{
    return guarded(cmd, [&]() -> const char* {
        const std::string_view name(arg);
        if (!is_exported_name(name)) {
            return error(cmd, "'" + std::string(name) +
                                  "' is not a variable mod_arrcert exports (SSL_CLIENT_..., ARRCERT_THUMBPRINT...; "
                                  "names are case-sensitive)");
        }
        own_list(cmd, config_of(config).export_names).emplace_back(name);
        return nullptr;
    });
}

extern "C" const char* set_user_name(cmd_parms* cmd, void* config, const char* arg)
{
    return guarded(cmd, [&]() -> const char* {
        const std::string_view name(arg);
        if (!is_exported_name(name) || name == "SSL_CLIENT_CERT" || name == "SSL_CLIENT_VERIFY") {
            return error(cmd, "'" + std::string(name) +
                                  "' is not a variable of the certificate that mod_arrcert sets (SSL_CLIENT_S_DN_CN, "
                                  "ARRCERT_THUMBPRINT, ...; names are case-sensitive)");
        }
        config_of(config).user_name_variable = apr_pstrdup(cmd->pool, arg);
        return nullptr;
    });
}

template <class T>
T* pick(T* base, T* add)
{
    return add != nullptr ? add : base;
}

template <class T>
T pick(T base, T add, T unset)
{
    return add != unset ? add : base;
}

}  // namespace

HeaderSettings front_end_headers(FrontEnd front_end) noexcept
{
    switch (front_end) {
        case FrontEnd::unset: break;
        case FrontEnd::azure: return {"X-ARR-ClientCert", HeaderFormat::der_base64, nullptr, HeaderFormat::automatic};
        case FrontEnd::envoy: return {"X-Forwarded-Client-Cert", HeaderFormat::xfcc, nullptr, HeaderFormat::automatic};
        case FrontEnd::traefik:
            return {"X-Forwarded-Tls-Client-Cert", HeaderFormat::traefik, nullptr, HeaderFormat::automatic};
        case FrontEnd::aws_alb:
            return {"X-Amzn-Mtls-Clientcert", HeaderFormat::url_pem, nullptr, HeaderFormat::automatic};
        case FrontEnd::rfc9440:
            return {"Client-Cert", HeaderFormat::rfc9440, "Client-Cert-Chain", HeaderFormat::rfc9440};
    }
    return {default_header_name, HeaderFormat::automatic, nullptr, HeaderFormat::automatic};
}

HeaderSettings DirConfig::headers() const noexcept
{
    HeaderSettings settings = front_end_headers(front_end);
    if (header_name != nullptr) {
        settings.name = header_name;
        settings.format = header_format;
    }
    if (chain_header_name != nullptr) {
        settings.chain_name = chain_header_name;
        settings.chain_format = chain_header_format;
    }
    return settings;
}

RevocationPolicy DirConfig::effective_revocation() const noexcept
{
    if (revocation_set) {
        return revocation;
    }
    // Once CRLs are configured, the whole chain is checked unless told otherwise.
    return {crls != nullptr ? RevocationCheck::chain : RevocationCheck::none, false};
}

RuleSet DirConfig::rules(const CrlSnapshot* crl_snapshot) const noexcept
{
    RuleSet rules;
    rules.chain.trust = trust;
    rules.chain.crls = crl_snapshot;
    rules.chain.revocation = effective_revocation();
    rules.chain.depth = verify_depth != 0 ? verify_depth : default_verify_depth;
    rules.accept_unverified = accept_unverified.value_or(false);
    rules.report_refusals = mode == VerifyMode::optional_no_ca;
    if (thumbprints != nullptr) {
        rules.thumbprints = *thumbprints;
    }
    if (issuers != nullptr) {
        rules.issuers = *issuers;
    }
    if (subjects != nullptr) {
        rules.subjects = *subjects;
    }
    return rules;
}

ExportOptions DirConfig::export_options() const noexcept
{
    const unsigned bits = options_absolute ? options : ((option_std_env_vars & ~options_del) | options_add);
    return {(bits & option_std_env_vars) != 0, (bits & option_export_cert_data) != 0};
}

extern "C" void* create_dir_config(apr_pool_t* pool, char* /*directory*/)
{
    // Plain data: placement into the pool needs no cleanup.
    return new (apr_pcalloc(pool, sizeof(DirConfig))) DirConfig();
}

extern "C" void* merge_dir_config(apr_pool_t* pool, void* base_config, void* add_config)
{
    const DirConfig& base = config_of(base_config);
    const DirConfig& add = config_of(add_config);
    auto* merged = new (apr_pcalloc(pool, sizeof(DirConfig))) DirConfig(base);
    if (add.mode_set) {
        merged->mode_set = true;
        merged->mode = add.mode;
        merged->mode_at = add.mode_at;
    }
    if (add.require_at.file != nullptr) {
        merged->require_at = add.require_at;
    }
    if (add.accept_unverified.has_value()) {
        merged->accept_unverified = add.accept_unverified;
    }
    merged->thumbprints = pick(base.thumbprints, add.thumbprints);
    merged->issuers = pick(base.issuers, add.issuers);
    merged->subjects = pick(base.subjects, add.subjects);
    merged->clock_skew = pick(base.clock_skew, add.clock_skew, std::int64_t{-1});
    if (add.front_end != FrontEnd::unset || add.header_name != nullptr || add.chain_header_name != nullptr) {
        merged->front_end = add.front_end;
        merged->header_name = add.header_name;
        merged->header_format = add.header_format;
        merged->chain_header_name = add.chain_header_name;
        merged->chain_header_format = add.chain_header_format;
    }
    if (add.xfcc_set) {
        merged->xfcc_set = true;
        merged->xfcc_element = add.xfcc_element;
    }
    merged->max_header_length = pick(base.max_header_length, add.max_header_length, std::size_t{0});
    merged->user_name_variable = pick(base.user_name_variable, add.user_name_variable);
    merged->export_names = pick(base.export_names, add.export_names);
    merged->trust = pick(base.trust, add.trust);
    merged->crls = pick(base.crls, add.crls);
    if (add.revocation_set) {
        merged->revocation_set = true;
        merged->revocation = add.revocation;
    }
    merged->verify_depth = pick(base.verify_depth, add.verify_depth, 0);
    merged->crl_refresh = pick(base.crl_refresh, add.crl_refresh, std::int64_t{-1});
    if (add.options_absolute) {
        merged->options_absolute = true;
        merged->options = add.options;
        merged->options_add = 0;
        merged->options_del = 0;
    } else if (base.options_absolute) {
        merged->options = (base.options & ~add.options_del) | add.options_add;
    } else {
        merged->options_add = (base.options_add & ~add.options_del) | add.options_add;
        merged->options_del = (base.options_del & ~add.options_add) | add.options_del;
    }
    return merged;
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
    auto* merged = new (apr_pcalloc(pool, sizeof(ServerConfig))) ServerConfig();
    merged->trusted_proxies = add.trusted_proxies != nullptr ? add.trusted_proxies : base.trusted_proxies;
    merged->header_names = apr_array_append(pool, base.header_names, add.header_names);
    merged->cache_entries = base.cache_entries;  // global only
    merged->cache_timeout = base.cache_timeout;
    merged->shared = base.shared;
    merged->backend_timeout_ms = base.backend_timeout_ms;
    merged->cache_secret = base.cache_secret;
    return merged;
}

namespace {
constexpr int scopes = RSRC_CONF | ACCESS_CONF | OR_AUTHCFG;
// How a certificate is verified (trust, pins, revocation, depth, validity, which header and
// element carries it) is the administrator's, never .htaccess's: .htaccess may choose whether a
// certificate is needed and what is exported, as it may with SSLVerifyClient and SSLOptions.
constexpr int admin_scopes = RSRC_CONF | ACCESS_CONF;

template <class Handler>
cmd_func as_cmd_func(Handler handler)
{
    // cmd_func is "const char *(*)()" in C++: go through the generic function pointer type.
    return reinterpret_cast<cmd_func>(reinterpret_cast<void (*)()>(handler));
}
}  // namespace

const command_rec directives[] = {
    AP_INIT_TAKE1("ArrCertVerifyClient", as_cmd_func(set_verify_client), nullptr, scopes,
                  "none|optional|require|optional_no_ca: whether a forwarded client certificate is needed"),
    AP_INIT_ITERATE("ArrCertThumbprint", as_cmd_func(add_thumbprint), nullptr, admin_scopes,
                    "SHA-1 or SHA-256 thumbprints (hex) of the certificates allowed; any may match"),
    AP_INIT_TAKE1("ArrCertIssuer", as_cmd_func(add_issuer), nullptr, scopes,
                  "a DN whose attributes must all be in the certificate's issuer; repeatable, any may match"),
    AP_INIT_TAKE1("ArrCertSubject", as_cmd_func(add_subject), nullptr, scopes,
                  "a DN whose attributes must all be in the certificate's subject; repeatable, any may match"),
    AP_INIT_TAKE1("ArrCertClockSkew", as_cmd_func(set_clock_skew), nullptr, admin_scopes,
                  "seconds by which both ends of the validity window are widened (default 0)"),
    AP_INIT_TAKE12("ArrCertHeader", as_cmd_func(set_header), nullptr, admin_scopes,
                   "NAME [FORMAT]: the request header that carries the certificate (default X-ARR-ClientCert auto)"),
    AP_INIT_TAKE12("ArrCertChainHeader", as_cmd_func(set_chain_header), nullptr, admin_scopes,
                   "NAME [FORMAT]: a separate request header that carries the intermediates"),
    AP_INIT_TAKE1("ArrCertFrontEnd", as_cmd_func(set_front_end), nullptr, admin_scopes,
                  "azure|envoy|traefik|aws-alb|rfc9440: the header names and formats that front end uses"),
    AP_INIT_TAKE1("ArrCertXfccElement", as_cmd_func(set_xfcc_element), nullptr, admin_scopes,
                  "first|last: which X-Forwarded-Client-Cert element to use (default last)"),
    AP_INIT_TAKE1("ArrCertMaxHeaderLength", as_cmd_func(set_max_header_length), nullptr, admin_scopes,
                  "the largest header value accepted, in bytes (default 16384)"),
    AP_INIT_FLAG("ArrCertAcceptUnverified", as_cmd_func(set_accept_unverified), nullptr, admin_scopes,
                 "on|off: accept certificates that no CA or pin verifies, because the front end verifies them "
                 "(default off)"),
    AP_INIT_ITERATE("ArrCertOptions", as_cmd_func(add_option), nullptr, scopes, "[+|-]StdEnvVars [+|-]ExportCertData"),
    AP_INIT_ITERATE("ArrCertExport", as_cmd_func(add_export), nullptr, scopes,
                    "the only variables to export (default: all that ArrCertOptions exports)"),
    AP_INIT_TAKE1("ArrCertUserName", as_cmd_func(set_user_name), nullptr, scopes,
                  "the variable (e.g. SSL_CLIENT_S_DN_CN) whose value becomes the request's user"),
    AP_INIT_TAKE1("ArrCertCACertificateFile", as_cmd_func(add_ca_file), nullptr, admin_scopes,
                  "PEM file of trusted CA certificates (and intermediates) the certificate must chain to"),
    AP_INIT_TAKE1("ArrCertCACertificatePath", as_cmd_func(add_ca_path), nullptr, admin_scopes,
                  "directory of CA certificates named by hash (openssl rehash)"),
    AP_INIT_TAKE1("ArrCertVerifyDepth", as_cmd_func(set_verify_depth), nullptr, admin_scopes,
                  "how many certificates may stand above the leaf, the root included (default 3)"),
    AP_INIT_TAKE1("ArrCertCARevocationFile", as_cmd_func(add_crl_file), nullptr, admin_scopes,
                  "PEM file of CRLs, re-read when it changes"),
    AP_INIT_TAKE1("ArrCertCARevocationPath", as_cmd_func(add_crl_path), nullptr, admin_scopes,
                  "directory of CRL files (.pem, .crl, or hashed .rN), re-read when they change"),
    AP_INIT_TAKE12("ArrCertCARevocationCheck", as_cmd_func(set_revocation_check), nullptr, admin_scopes,
                   "chain|leaf|none [no_crl_for_cert_ok] (default chain once CRLs are configured)"),
    AP_INIT_TAKE1("ArrCertCARevocationRefresh", as_cmd_func(set_crl_refresh), nullptr, admin_scopes,
                  "seconds between looks at the CRL files (default 60)"),
    AP_INIT_TAKE12("ArrCertCache", as_cmd_func(set_cache), nullptr, RSRC_CONF,
                   "none | memory[:ENTRIES] | PROVIDER:ARGUMENT [none|memory[:ENTRIES]]: where verdicts are kept "
                   "between requests, e.g. shmcb:PATH(BYTES), memcache:HOST:PORT, redis:HOST:PORT "
                   "(default memory:1000)"),
    AP_INIT_TAKE1("ArrCertCacheBackendTimeout", as_cmd_func(set_backend_timeout), nullptr, RSRC_CONF,
                  "milliseconds a request waits at most for a memcache or redis cache (default 250)"),
    AP_INIT_TAKE1("ArrCertCacheSecret", as_cmd_func(set_cache_secret), nullptr, RSRC_CONF,
                  "file of at least 32 secret bytes shared by the servers that share an ArrCertCache"),
    AP_INIT_TAKE1("ArrCertCacheTimeout", as_cmd_func(set_cache_timeout), nullptr, RSRC_CONF,
                  "seconds a verdict is kept at most (default 300)"),
    AP_INIT_ITERATE("ArrCertTrustedProxy", as_cmd_func(add_trusted_proxy), nullptr, RSRC_CONF,
                    "addresses or CIDR ranges of the front ends allowed to send the certificate header"),
    {nullptr, nullptr, nullptr, 0, RAW_ARGS, nullptr},
};

}  // namespace arrcert::httpd
