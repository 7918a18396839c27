// The request kernel: one settle step, run by every hook that decides the request or touches its
// environment, in one order: refuse (403), set the user, export the variables.
#include "kernel.h"

#include <apr_strings.h>
#include <http_core.h>
#include <http_log.h>
#include <http_request.h>

#include <string>

#include "arrcert/export.h"
#include "c_boundary.h"
#include "directives.h"
#include "environment.h"
#include "request_state.h"
#include "request_verdict.h"
#include "runtime.h"
#include "log_ids.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

// The hooks that settle a request, in the order httpd runs them.
enum class Step {
    access_check,      // counts the chain's decision; runs under any Satisfy
    access_check_ex,   // under Satisfy Any only, where authz could otherwise grant what it refused
    fixups_first,      // after mod_env's SetEnv, before mod_security2's phase 2
    fixups_after_ssl,  // after mod_ssl's StdEnvVars
    fixups_last,       // after mod_dir's DirectoryIndex, which may move the request into another scope
};

constexpr bool is_access_check(Step step) noexcept
{
    return step == Step::access_check || step == Step::access_check_ex;
}

// The note that marks a request refused, so a refusal is logged once; also usable in LogFormat.
constexpr const char* refused_note = "arrcert-refused";

void log_refusal(request_rec* r, const Scope& scope, const Verdict& verdict, const Decision& decision)
{
    if (apr_table_get(r->notes, refused_note) != nullptr) {
        return;
    }
    if (decision.outcome == Decision::Outcome::none) {
        apr_table_setn(r->notes, refused_note, "no-certificate");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, ARRCERT_LOGNO(0101) "refused: no client certificate in %s",
                      scope.headers.name);
        return;
    }
    apr_table_setn(r->notes, refused_note, rule_name(decision.rule).data());
    const std::string reason(decision.reason);
    // The client's own text (a PEM label, ...) only escaped, and only here.
    const char* detail = verdict.detail.empty() ? "" : ap_escape_logitem(r->pool, verdict.detail.c_str());
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  ARRCERT_LOGNO(0102) "refused (rule %s): %s%s%s; header %s, thumbprint %s, subject \"%s\"",
                  rule_name(decision.rule).data(), reason.c_str(), *detail != '\0' ? ": " : "", detail,
                  scope.headers.name, verdict.sha1_hex.empty() ? "-" : verdict.sha1_hex.c_str(),
                  verdict.subject_dn.empty() ? "-" : ap_escape_logitem(r->pool, verdict.subject_dn.c_str()));
}

void set_user(request_rec* r, const Scope& scope)
{
    const auto user = request_variable(r, scope, scope.user_name);
    if (user && !user->empty()) {
        r->user = apr_pstrmemdup(r->pool, user->data(), user->size());
    } else {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "ArrCertUserName: the certificate has no %s", scope.user_name);
    }
}

// The status counters and the inventory: once per request chain, by the first access check
// where the module is on (the initial request's, or a subrequest's or redirect's when the module is
// off where the chain began), not again for the rest, which carry the same certificate.
void count_request(request_rec* r, const Verdict& verdict, const Decision& decision)
{
    if (!RequestState::of_chain(r).first_count()) {
        return;
    }
    StatusArea& status = *runtime_of(r->server).status;
    status.count_decision(decision.outcome, decision.rule);
    if (belongs_in_inventory(verdict)) {
        status.record_certificate({verdict.sha1, verdict.subject_dn, verdict.issuer_dn, verdict.not_before,
                                   verdict.not_after, request_seconds(r), decision.outcome, decision.rule});
    }
}

// Where the module is off: a subrequest or an internal redirect starts without the certificate
// variables of the request it came from (copied, or renamed REDIRECT_*), up to mod_ssl's fixup,
// which sets its own where it terminated the connection; after it, only what the module exported
// for an earlier scope of this request goes (mod_dir moves a request into its index file's scope).
void settle_where_off(request_rec* r, Step step)
{
    if (step == Step::fixups_after_ssl || step == Step::fixups_last) {
        if (const ExportRecord* exported = RequestState::of(r).exported(r); exported != nullptr) {
            r->subprocess_env = exported->without_own(r->pool, r->subprocess_env);
        }
    } else if (r->main != nullptr || r->prev != nullptr) {
        r->subprocess_env = without_certificate(r->pool, r->subprocess_env);
    }
}

// Every hook's one step: refuse, set the user, export. A fixup whose environment still holds
// what an earlier hook exported for this scope has nothing left to do.
int settle(request_rec* r, Step step)
{
    const Scope& scope = scope_of(r);
    if (scope.mode == VerifyMode::none) {
        settle_where_off(r, step);
        return DECLINED;
    }
    RequestState& state = RequestState::of(r);
    const ExportRecord* exported = state.exported(r);
    const bool export_stands = exported != nullptr && exported->stands(r->subprocess_env, &scope);
    if (!is_access_check(step) && export_stands) {
        return DECLINED;
    }
    keep_out_of_shared_caches(r);
    const auto [verdict, decision] = request_certificate(r, scope);
    if (step == Step::access_check) {
        count_request(r, verdict, decision);
    }
    if (!permits(scope.mode, decision.outcome)) {
        log_refusal(r, scope, verdict, decision);  // once per request, whichever hook refuses
        return HTTP_FORBIDDEN;
    }
    if (step == Step::access_check && APLOGrdebug(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "let through: %s", verify_value(decision).c_str());
    }
    if (scope.user_name != nullptr && decision.outcome == Decision::Outcome::success) {
        set_user(r, scope);
    }
    // By the end of the access phase, for authn, authz and mod_security2's phase 2; the fixups
    // export again only if something changed the environment since.
    if (!export_stands) {
        state.set_exported(r,
                           export_certificate(r->pool, r->subprocess_env, &scope, verdict, decision, request_seconds(r),
                                              scope.exports, scope.export_names, &standard_table_of(r->connection)));
    }
    return DECLINED;
}

template <Step step>
int settle_hook(request_rec* r) noexcept
{
    constexpr const char* doing =
        is_access_check(step) ? "checking the certificate" : "exporting the certificate's variables";
    return guard_request(r, doing, HTTP_INTERNAL_SERVER_ERROR, [&] { return settle(r, step); });
}

}  // namespace

void keep_out_of_shared_caches(request_rec* r) noexcept
{
    // httpd's own cache (mod_cache) stores nothing for it: its quick handler would answer later
    // requests before any access check. A subrequest's flag counts only with its main request's.
    for (request_rec* each = r; each != nullptr; each = each->main != nullptr ? each->main : each->prev) {
        each->no_cache = 1;
    }
    // Caches downstream are told the response is for this client only.
    const char* control = apr_table_get(r->err_headers_out, "Cache-Control");
    if (control == nullptr || ap_strcasestr(control, "private") == nullptr) {
        apr_table_mergen(r->err_headers_out, "Cache-Control", "private");
    }
}

// Runs for every request whatever Require says (access_checker, not auth_checker); counted here:
// httpd runs the access checkers before access_checker_ex, under any Satisfy.
extern "C" int check_access(request_rec* r)
{
    return settle_hook<Step::access_check>(r);
}

// Under 'Satisfy Any' a failed access_checker does not end the request: authz may still grant
// it. Refuse here too, first, so that the certificate rules cannot be bypassed that way.
extern "C" int check_access_ex(request_rec* r)
{
    if (ap_satisfies(r) != SATISFY_ANY) {
        return DECLINED;
    }
    return settle_hook<Step::access_check_ex>(r);
}

extern "C" int settle_fixups_first(request_rec* r)
{
    return settle_hook<Step::fixups_first>(r);
}

extern "C" int settle_fixups_after_ssl(request_rec* r)
{
    return settle_hook<Step::fixups_after_ssl>(r);
}

extern "C" int settle_fixups_last(request_rec* r)
{
    return settle_hook<Step::fixups_last>(r);
}

}  // namespace arrcert::httpd
