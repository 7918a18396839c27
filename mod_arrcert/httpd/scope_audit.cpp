#include "scope_audit.h"

#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <mod_proxy.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <optional>
#include <string_view>

#include "c_boundary.h"
#include "directives.h"
#include "log_ids.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

// Null where no directive of the module was written (httpd makes a module's section config on
// its first directive there).
const DirConfig* ours(ap_conf_vector_t* section)
{
    return static_cast<const DirConfig*>(ap_get_module_config(section, &arrcert_module));
}

const DirConfig& merged(apr_pool_t* pool, const DirConfig& outer, ap_conf_vector_t* section)
{
    const DirConfig* inner = ours(section);
    if (inner == nullptr) {
        return outer;
    }
    auto* config = new (apr_pcalloc(pool, sizeof(DirConfig))) DirConfig();
    config->settings = merge(outer.settings, inner->settings);
    config->settle();
    return *config;
}

// Whether section `outer` applies to every request that section `inner` applies to, as httpd's
// directory walk (path prefix) and location walk (prefix at a '/') see it. Regular expressions
// and wildcards contain only themselves.
// A section's core settings (its path); null where no core directive made them (<Proxy>).
const core_dir_config* core_of(ap_conf_vector_t* section)
{
    return static_cast<const core_dir_config*>(ap_get_core_module_config(section));
}

bool contains(ap_conf_vector_t* outer_section, ap_conf_vector_t* inner_section, bool is_location)
{
    if (outer_section == inner_section) {
        return true;
    }
    const core_dir_config* outer = core_of(outer_section);
    const core_dir_config* inner = core_of(inner_section);
    if (outer == nullptr || inner == nullptr || outer->r != nullptr || outer->d_is_fnmatch || inner->r != nullptr ||
        outer->d == nullptr || inner->d == nullptr) {
        return false;
    }
    const std::string_view prefix(outer->d);
    const std::string_view path(inner->d);
    if (!path.starts_with(prefix)) {
        return false;
    }
    return !is_location || prefix.ends_with('/') || path.size() == prefix.size() || path[prefix.size()] == '/';
}

// The <Files> and <If> sections inside a section, each on top of its section.
template <class Visit>
void visit_nested(apr_pool_t* pool, const DirConfig& outer, const core_dir_config& core, Visit& visit)
{
    for (const apr_array_header_t* nested : {core.sec_file, core.sec_if}) {
        for (int i = 0; nested != nullptr && i < nested->nelts; ++i) {
            auto* section = APR_ARRAY_IDX(nested, i, ap_conf_vector_t*);
            const DirConfig& inner = merged(pool, outer, section);
            visit(inner);
            if (const core_dir_config* core_nested = core_of(section); core_nested != nullptr) {
                visit_nested(pool, inner, *core_nested, visit);
            }
        }
    }
}

// <Directory> or <Location> sections: each on the server's defaults and the sections containing it.
template <class Visit>
void visit_sections(apr_pool_t* pool, const DirConfig& defaults, const apr_array_header_t* sections, bool is_location,
                    Visit& visit)
{
    for (int i = 0; sections != nullptr && i < sections->nelts; ++i) {
        auto* section = APR_ARRAY_IDX(sections, i, ap_conf_vector_t*);
        const DirConfig* effective = &defaults;
        for (int j = 0; j < sections->nelts; ++j) {
            auto* other = APR_ARRAY_IDX(sections, j, ap_conf_vector_t*);
            if (contains(other, section, is_location)) {
                effective = &merged(pool, *effective, other);
            }
        }
        visit(*effective);
        if (const core_dir_config* core = core_of(section); core != nullptr) {
            visit_nested(pool, *effective, *core, visit);
        }
    }
}

// mod_proxy's <Proxy> sections of the server, when mod_proxy is loaded.
const apr_array_header_t* proxy_sections(server_rec* server)
{
    const module* proxy = ap_find_linked_module("mod_proxy.c");
    if (proxy == nullptr) {
        return nullptr;
    }
    const auto* config = static_cast<const proxy_server_conf*>(ap_get_module_config(server->module_config, proxy));
    return config != nullptr ? config->sec_proxy : nullptr;
}

// Every scope of the server as a request to that scope's own path would see it.
template <class Visit>
void for_each_scope(server_rec* server, apr_pool_t* pool, Visit visit)
{
    const DirConfig none;
    const DirConfig& defaults = ours(server->lookup_defaults) != nullptr ? *ours(server->lookup_defaults) : none;
    visit(defaults);
    visit_nested(pool, defaults,
                 *static_cast<const core_dir_config*>(ap_get_core_module_config(server->lookup_defaults)), visit);
    const auto& core = *static_cast<const core_server_config*>(ap_get_core_module_config(server->module_config));
    visit_sections(pool, defaults, core.sec_dir, false, visit);
    visit_sections(pool, defaults, core.sec_url, true, visit);
    visit_sections(pool, defaults, proxy_sections(server), true, visit);
}

// Whether a <Directory> of the server lets .htaccess files use the module's per-request
// directives (AllowOverride AuthConfig, or an AllowOverrideList): scopes no audit sees.
bool htaccess_may_configure(server_rec* server)
{
    const auto& core = *static_cast<const core_server_config*>(ap_get_core_module_config(server->module_config));
    for (int i = 0; core.sec_dir != nullptr && i < core.sec_dir->nelts; ++i) {
        const core_dir_config* section = core_of(APR_ARRAY_IDX(core.sec_dir, i, ap_conf_vector_t*));
        if (section != nullptr && (((section->override & OR_UNSET) == 0 && (section->override & OR_AUTHCFG) != 0) ||
                                   section->override_list != nullptr)) {
            return true;
        }
    }
    return false;
}

}  // namespace

namespace {

// ArrCertAcceptUnverified trusts the front end's check: behind a front end that can forward what
// it did not verify, only its verdict says whether it did.
bool refuses_unread_verdicts(server_rec* base, apr_pool_t* pool)
{
    std::optional<Origin> unread;
    for (server_rec* server = base; server != nullptr && !unread; server = server->next) {
        for_each_scope(server, pool, [&](const DirConfig& config) {
            const Scope& scope = config.scope;
            if (!unread && scope.checks_certificates() && scope.accept_unverified && scope.passthrough &&
                scope.verdicts.empty()) {
                unread = scope.front_end_at;
            }
        });
    }
    if (!unread) {
        return false;
    }
    ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr,
                 ARRCERT_LOGNO(0220) "mod_arrcert: %s:%d: '%s' can forward certificates it did not verify "
                 "(a passthrough mode), yet 'ArrCertAcceptUnverified on' in this scope trusts them as verified. "
                 "Add 'ArrCertVerdictHeader NAME VALUE' with the header in which the front end says it verified "
                 "the certificate, or trust a CA or pins here (ArrCertCACertificateFile, ArrCertThumbprint) "
                 "instead of ArrCertAcceptUnverified (docs/front-ends.md).",
                 unread->file != nullptr ? unread->file : "?", unread->line, unread->what != nullptr ? unread->what : "?");
    return true;
}

}  // namespace

extern "C" int audit_scopes(apr_pool_t* /*pconf*/, apr_pool_t* /*plog*/, apr_pool_t* ptemp, server_rec* base)
{
    return guard_server(base, "checking the configured scopes", HTTP_INTERNAL_SERVER_ERROR, [&] {
        if (refuses_unread_verdicts(base, ptemp)) {
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        std::optional<Origin> unproven;
        for (server_rec* server = base; server != nullptr && !unproven; server = server->next) {
            for_each_scope(server, ptemp, [&](const DirConfig& config) {
                const Scope& scope = config.scope;
                if (!unproven && scope.checks_certificates() && !scope.has_trust()) {
                    unproven = scope.mode != VerifyMode::none ? scope.mode_at : *scope.require_at;
                }
            });
        }
        if (!unproven) {
            return OK;
        }
        if (unproven->what != nullptr && std::string_view(unproven->what).ends_with(" optional_no_ca")) {
            ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr,
                         ARRCERT_LOGNO(0202) "mod_arrcert: %s:%d: 'ArrCertVerifyClient optional_no_ca' lets through certificates that "
                         "no CA or pin verified, so every name in this scope (SSL_CLIENT_S_DN, Require expr, "
                         "ArrCertUserName) may be a self-made certificate's. Use optional or require, or write "
                         "'ArrCertAcceptUnverified on' here if the front end verifies client certificates itself.",
                         unproven->file != nullptr ? unproven->file : "?", unproven->line);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_EMERG, 0, nullptr,
                     ARRCERT_LOGNO(0203) "mod_arrcert: %s:%d: '%s' trusts neither a CA (ArrCertCACertificateFile, "
                     "ArrCertCACertificatePath) nor pinned thumbprints (ArrCertThumbprint), so any self-made "
                     "certificate with the right names would pass: names and presence are not proof. Configure "
                     "a CA or pins for this scope, or write 'ArrCertAcceptUnverified on' if the front end "
                     "verifies client certificates itself.",
                     unproven->file != nullptr ? unproven->file : "?", unproven->line,
                     unproven->what != nullptr ? unproven->what : "?");
        return HTTP_INTERNAL_SERVER_ERROR;
    });
}

bool server_judges_alike(server_rec* server, apr_pool_t* pool)
{
    const DirConfig* defaults = ours(server->lookup_defaults);
    if (defaults == nullptr || defaults->scope.mode == VerifyMode::none || htaccess_may_configure(server)) {
        return false;
    }
    bool alike = true;
    for_each_scope(server, pool, [&](const DirConfig& config) {
        alike = alike && (&config == defaults || !config.scope.checks_certificates());
    });
    return alike;
}

bool server_checks_certificates(server_rec* server, apr_pool_t* pool)
{
    bool checks = false;
    for_each_scope(server, pool,
                   [&](const DirConfig& config) { checks = checks || config.scope.checks_certificates(); });
    return checks;
}

HeaderLineNeed longest_certificate_header(server_rec* server, apr_pool_t* pool)
{
    HeaderLineNeed need;
    for_each_scope(server, pool, [&](const DirConfig& config) {
        const Scope& scope = config.scope;
        if (!scope.checks_certificates()) {
            return;
        }
        for (const char* header : {scope.headers.name, scope.headers.chain_name}) {
            // httpd's limit is on the whole line: the name, ": " and the value.
            const std::size_t line = header != nullptr ? std::strlen(header) + 2 + scope.max_header_length : 0;
            if (line > need.line) {
                need = {line, scope.max_header_length, header};
            }
        }
    });
    return need;
}

std::vector<CrlSource*> crl_sources(server_rec* server, apr_pool_t* pool)
{
    std::vector<CrlSource*> sources;
    for_each_scope(server, pool, [&](const DirConfig& config) {
        CrlSource* crls = config.scope.crls;
        if (crls != nullptr && std::find(sources.begin(), sources.end(), crls) == sources.end()) {
            sources.push_back(crls);
        }
    });
    return sources;
}

}  // namespace arrcert::httpd
