// The per-directory directives of what a certificate must be and what is exported: ArrCertVerifyClient,
// the pins and names, the headers that carry it, ArrCertOptions, ArrCertExport, ArrCertUserName;
// and httpd's create/merge of the per-directory configuration. The directives that take on|off, a
// number or a keyword have no handler of their own: their rows are in dir_config.h.
#include "directives.h"

#include <apr_strings.h>

#include <string>
#include <string_view>
#include <strings.h>

#include "arrcert/bound_token.h"
#include "directive_handlers.h"
#include "server_config.h"

namespace arrcert::httpd {

extern "C" const char* set_verify_client(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        const std::optional<VerifyMode> mode = keyword_value(verify_modes, arg);
        if (!mode) {
            return directive_error(cmd, not_one_of(arg, verify_modes));
        }
        // It loosens verification (names of certificates nothing verified), which .htaccess never may.
        if (*mode == VerifyMode::optional_no_ca && ap_check_cmd_context(cmd, NOT_IN_HTACCESS) != nullptr) {
            return directive_error(cmd,
                                   "optional_no_ca cannot be chosen in .htaccess: it lets through certificates "
                                   "that nothing verified (use optional or require)");
        }
        settings.verify_client =
            VerifyClient{*mode, origin_of(cmd, apr_pstrcat(cmd->pool, "ArrCertVerifyClient ", arg, nullptr))};
        return nullptr;
    });
}

namespace {

// A line of a repeatable rule: parsed (T::parse), then appended to the scope's own list.
template <class T>
const char* add_parsed(cmd_parms* cmd, void* config, const char* arg, std::vector<T>* DirSettings::*list)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        Result<T> parsed = T::parse(arg);
        if (!parsed) {
            return directive_error(cmd, parsed.error());
        }
        own_list(cmd, settings.*list).push_back(std::move(parsed.value()));
        return nullptr;
    });
}

}  // namespace

extern "C" const char* add_thumbprint(cmd_parms* cmd, void* config, const char* arg)
{
    return add_parsed(cmd, config, arg, &DirSettings::thumbprints);
}

extern "C" const char* add_issuer(cmd_parms* cmd, void* config, const char* arg)
{
    return add_parsed(cmd, config, arg, &DirSettings::issuers);
}

extern "C" const char* add_subject(cmd_parms* cmd, void* config, const char* arg)
{
    return add_parsed(cmd, config, arg, &DirSettings::subjects);
}

extern "C" const char* add_subject_alt_name(cmd_parms* cmd, void* config, const char* arg)
{
    return add_parsed(cmd, config, arg, &DirSettings::alt_names);
}

namespace {

// NAME [FORMAT] of ArrCertHeader and ArrCertChainHeader, into the scope's header choice.
const char* set_header_and_format(cmd_parms* cmd, void* config, const char* name, const char* format_name, bool chain)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        if (!is_token(name)) {
            return directive_error(cmd, "'" + std::string(name) + "' is not a valid HTTP header name");
        }
        if (strcasecmp(name, "Cf-Client-Cert-Der-Base64") == 0) {
            return directive_error(cmd,
                                   "Cloudflare sends Cf-Client-Cert-Der-Base64 only on the first request of a "
                                   "connection: every later request would have no certificate. Forward "
                                   "cf.tls_client_auth.cert_rfc9440 with a transform rule and use "
                                   "'ArrCertFrontEnd cloudflare' (docs/front-ends.md)");
        }
        HeaderFormat format = HeaderFormat::automatic;
        if (format_name != nullptr) {
            const auto named = header_format_named(format_name);
            if (!named) {
                return directive_error(
                    cmd, "'" + std::string(format_name) + "' is not a format (" + header_format_list(", ", ", ") + ")");
            }
            format = *named;
        }
        if (chain && format == HeaderFormat::xfcc) {
            return directive_error(cmd, "xfcc carries its chain in its own Chain field, not in a separate header");
        }
        HeaderChoice& choice = settings.headers.emplace(settings.headers.value_or(HeaderChoice{}));
        const char* copy = apr_pstrdup(cmd->pool, name);
        (chain ? choice.chain_name : choice.name) = copy;
        (chain ? choice.chain_format : choice.format) = format;
        remember_header(cmd, copy);
        return nullptr;
    });
}

}  // namespace

extern "C" const char* set_header(cmd_parms* cmd, void* config, const char* name, const char* format)
{
    return set_header_and_format(cmd, config, name, format, false);
}

extern "C" const char* set_chain_header(cmd_parms* cmd, void* config, const char* name, const char* format)
{
    return set_header_and_format(cmd, config, name, format, true);
}

extern "C" const char* set_front_end(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        const std::optional<FrontEnd> front_end = front_end_named(arg);
        if (!front_end) {
            return directive_error(cmd, "'" + std::string(arg) + "' is not one of " + front_end_list());
        }
        HeaderChoice& choice = settings.headers.emplace(settings.headers.value_or(HeaderChoice{}));
        choice.front_end = *front_end;
        choice.front_end_at = origin_of(cmd, apr_pstrcat(cmd->pool, "ArrCertFrontEnd ", arg, nullptr));
        const HeaderSettings headers = front_end_headers(*front_end);
        remember_header(cmd, headers.name);
        remember_header(cmd, headers.chain_name);
        // Its verdict and fingerprint headers are the front end's alone too: stripped and relayed alike.
        const FrontEndChecks checks = front_end_checks(*front_end);
        for (const VerdictLine& line : checks.verdicts) {
            remember_header(cmd, line.header.data());
        }
        if (checks.fingerprint && !checks.fingerprint->header.empty()) {
            remember_header(cmd, checks.fingerprint->header.data());
        }
        return nullptr;
    });
}

extern "C" const char* add_options(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        std::string_view word(arg);
        const char sign = (word.front() == '+' || word.front() == '-') ? word.front() : '\0';
        if (sign != '\0') {
            word.remove_prefix(1);
        }
        const std::optional<unsigned> bit = keyword_value(option_names, word);
        if (!bit) {
            return directive_error(
                cmd, "unknown option '" + std::string(arg) + "' (" + keyword_list(option_names, ", ", ", ") + ")");
        }
        settings.options.set(*bit, sign);
        return nullptr;
    });
}

extern "C" const char* add_export(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        if (!is_exported_name(arg)) {
            return directive_error(cmd, "'" + std::string(arg) +
                                            "' is not a variable mod_arrcert exports (SSL_CLIENT_..., "
                                            "ARRCERT_THUMBPRINT...; names are case-sensitive)");
        }
        own_list(cmd, settings.export_names).emplace_back(arg);
        return nullptr;
    });
}

extern "C" const char* set_user_name(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        const std::string_view name(arg);
        if (!is_exported_name(name) || name == "SSL_CLIENT_CERT" || name == "SSL_CLIENT_VERIFY" ||
            name.starts_with("SSL_CLIENT_CERT_CHAIN_") || name == bound_token_variable) {
            return directive_error(cmd, "'" + std::string(name) +
                                            "' is not a variable of the certificate that mod_arrcert sets "
                                            "(SSL_CLIENT_S_DN_CN, ARRCERT_THUMBPRINT, ...; names are case-sensitive)");
        }
        settings.user_name = apr_pstrdup(cmd->pool, arg);
        return nullptr;
    });
}

extern "C" void* create_dir_config(apr_pool_t* pool, char* /*directory*/)
{
    auto* config = new (apr_pcalloc(pool, sizeof(DirConfig))) DirConfig();
    config->scope = resolve(config->settings);
    return config;
}

extern "C" void* merge_dir_config(apr_pool_t* pool, void* base, void* add)
{
    const auto* outer = static_cast<const DirConfig*>(base);
    const auto* inner = static_cast<const DirConfig*>(add);
    // httpd merges on every request, for each section it walks: a section without any ArrCert
    // directive (most <Directory> sections) changes nothing, and neither does an unwritten outer
    // one. Configurations are never changed once made, so the other one is the merge as it is.
    if (!inner->written) {
        return const_cast<DirConfig*>(outer);
    }
    if (!outer->written) {
        return const_cast<DirConfig*>(inner);
    }
    auto* merged = new (apr_pcalloc(pool, sizeof(DirConfig))) DirConfig();
    merged->settings = merge(outer->settings, inner->settings);
    merged->settle();
    return merged;
}

}  // namespace arrcert::httpd
