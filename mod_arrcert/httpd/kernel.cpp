#include "kernel.h"

#include <algorithm>

#include <apr_cstr.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_log.h>
#include <http_request.h>

#include <string>

#include "arrcert/export.h"
#include "config.h"
#include "request_verdict.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

// The note that marks a request refused, so a refusal is logged once; also usable in LogFormat.
constexpr const char* refused_note = "arrcert-refused";

void log_refusal(request_rec* r, const DirConfig& config, const Verdict& verdict, const Decision& decision)
{
    if (apr_table_get(r->notes, refused_note) != nullptr) {
        return;
    }
    if (decision.outcome == Decision::Outcome::none) {
        apr_table_setn(r->notes, refused_note, "no-certificate");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "refused: no client certificate in %s",
                      config.effective_header_name());
        return;
    }
    apr_table_setn(r->notes, refused_note, rule_name(decision.rule).data());
    const std::string reason(decision.reason);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "refused (rule %s): %s; header %s, thumbprint %s, subject \"%s\"",
                  rule_name(decision.rule).data(), reason.c_str(), config.effective_header_name(),
                  verdict.sha1_hex.empty() ? "-" : verdict.sha1_hex.c_str(),
                  verdict.subject_dn.empty() ? "-" : verdict.subject_dn.c_str());
}

void set_user(request_rec* r, const DirConfig& config)
{
    const auto user = request_variable(r, config.user_name_variable);
    if (user && !user->empty()) {
        r->user = apr_pstrmemdup(r->pool, user->data(), user->size());
    } else {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "ArrCertUserName: the certificate has no %s",
                      config.user_name_variable);
    }
}

// 403 when the scope's ArrCertVerifyClient does not let this request's certificate through,
// DECLINED otherwise (other modules decide the rest).
int enforce(request_rec* r)
{
    const DirConfig& config = dir_config(r);
    if (config.mode == VerifyMode::none) {
        return DECLINED;
    }
    const auto [verdict, decision] = request_certificate(r);
    if (!permits(config.mode, decision.outcome)) {
        log_refusal(r, config, verdict, decision);  // once per request, whichever hook refuses
        return HTTP_FORBIDDEN;
    }
    if (APLOGrdebug(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "let through: %s", verify_value(decision).c_str());
    }
    if (config.user_name_variable != nullptr && decision.outcome == Decision::Outcome::success) {
        set_user(r, config);
    }
    return DECLINED;
}

// Whether a variable named like the module's (SSL_..., ARRCERT_...) is already in the table.
bool holds_names_like_ours(const apr_table_t* table) noexcept
{
    const apr_array_header_t* entries = apr_table_elts(table);
    const auto* entry = reinterpret_cast<const apr_table_entry_t*>(entries->elts);
    for (int i = 0; i < entries->nelts; ++i) {
        if (entry[i].key != nullptr &&
            (apr_cstr_casecmpn(entry[i].key, "SSL_", 4) == 0 || apr_cstr_casecmpn(entry[i].key, "ARRCERT_", 8) == 0)) {
            return true;
        }
    }
    return false;
}

template <class Body>
int guarded(request_rec* r, int on_failure, Body body) noexcept
{
    try {
        return body();
    } catch (const std::exception& e) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "internal failure, request refused: %s", e.what());
    } catch (...) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "internal failure, request refused");
    }
    return on_failure;
}

}  // namespace

// Before any other module sees the request: a certificate header from a peer that is not a
// trusted front end is removed, so that no handler, CGI or PHP app can read it.
extern "C" int remove_untrusted_header(request_rec* r)
{
    return guarded(r, HTTP_INTERNAL_SERVER_ERROR, [&] {
        if (peer_is_trusted(r)) {
            return DECLINED;
        }
        const ServerConfig& config = server_config(r->server);
        auto remove = [&](const char* name) {
            if (apr_table_get(r->headers_in, name) != nullptr) {
                apr_table_unset(r->headers_in, name);
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                              "removed %s sent by %s, which is not an ArrCertTrustedProxy: no certificate", name,
                              r->connection->client_ip);
            }
        };
        remove(default_header_name);
        for (int i = 0; i < config.header_names->nelts; ++i) {
            remove(APR_ARRAY_IDX(config.header_names, i, const char*));
        }
        return DECLINED;
    });
}

// Runs for every request whatever Require says (access_checker, not auth_checker).
extern "C" int check_access(request_rec* r)
{
    return guarded(r, HTTP_INTERNAL_SERVER_ERROR, [&] { return enforce(r); });
}

// Under 'Satisfy Any' a failed access_checker does not end the request: authz may still grant
// it. Refuse here too, first, so that the certificate rules cannot be bypassed that way.
extern "C" int check_access_ex(request_rec* r)
{
    return guarded(r, HTTP_INTERNAL_SERVER_ERROR, [&] {
        if (ap_satisfies(r) != SATISFY_ANY) {
            return DECLINED;
        }
        return enforce(r);
    });
}

extern "C" int export_fixups(request_rec* r)
{
    return guarded(r, HTTP_INTERNAL_SERVER_ERROR, [&] {
        const DirConfig& config = dir_config(r);
        const ExportOptions options = config.export_options();
        if (config.mode == VerifyMode::none || (!options.standard && !options.certificate)) {
            return DECLINED;
        }
        const auto [verdict, decision] = request_certificate(r);
        apr_table_t* env = r->subprocess_env;
        const std::vector<std::string>* only = config.export_names;
        // apr_table_setn compares a name with every entry sharing its first four letters, so
        // setting twenty SSL_CLIENT_* names one by one is quadratic. Each name is exported once:
        // when none like them is there yet (the usual case), adding is the same and linear.
        const auto put = holds_names_like_ours(env) ? apr_table_setn : apr_table_addn;
        export_variables(verdict, decision, request_seconds(r), options,
                         [&](std::string_view name, std::string_view value) {
                             if (only != nullptr && std::find(only->begin(), only->end(), name) == only->end()) {
                                 return;
                             }
                             put(env, apr_pstrmemdup(r->pool, name.data(), name.size()),
                                 apr_pstrmemdup(r->pool, value.data(), value.size()));
                         });
        return DECLINED;
    });
}

}  // namespace arrcert::httpd
