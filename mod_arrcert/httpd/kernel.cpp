#include "kernel.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstring>

#include <apr_cstr.h>
#include <apr_strings.h>
#include <http_core.h>
#include <http_log.h>
#include <http_request.h>

#include <string>

#include "arrcert/export.h"
#include "arrcert/variables.h"
#include "c_boundary.h"
#include "directives.h"
#include "request_verdict.h"
#include "runtime.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

// The note that marks a request refused, so a refusal is logged once; also usable in LogFormat.
constexpr const char* refused_note = "arrcert-refused";

void log_refusal(request_rec* r, const Scope& scope, const Verdict& verdict, const Decision& decision)
{
    if (apr_table_get(r->notes, refused_note) != nullptr) {
        return;
    }
    if (decision.outcome == Decision::Outcome::none) {
        apr_table_setn(r->notes, refused_note, "no-certificate");
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "refused: no client certificate in %s", scope.headers.name);
        return;
    }
    apr_table_setn(r->notes, refused_note, rule_name(decision.rule).data());
    const std::string reason(decision.reason);
    // The client's own text (a PEM label, ...) only escaped, and only here.
    const char* detail = verdict.detail.empty() ? "" : ap_escape_logitem(r->pool, verdict.detail.c_str());
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "refused (rule %s): %s%s%s; header %s, thumbprint %s, subject \"%s\"",
                  rule_name(decision.rule).data(), reason.c_str(), *detail != '\0' ? ": " : "", detail,
                  scope.headers.name, verdict.sha1_hex.empty() ? "-" : verdict.sha1_hex.c_str(),
                  verdict.subject_dn.empty() ? "-" : ap_escape_logitem(r->pool, verdict.subject_dn.c_str()));
}

void set_user(request_rec* r, const Scope& scope)
{
    const auto user = request_variable(r, scope.user_name);
    if (user && !user->empty()) {
        r->user = apr_pstrmemdup(r->pool, user->data(), user->size());
    } else {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "ArrCertUserName: the certificate has no %s", scope.user_name);
    }
}

// SSL_CLIENT_* and ARRCERT_*, also as an internal redirect renames them (REDIRECT_..., repeated).
bool is_certificate_name(const char* name) noexcept
{
    // Most names of an environment start otherwise: SERVER_, HTTP_, SCRIPT_, ...
    const char first = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
    if (first != 'A' && first != 'R' && (first != 'S' || (name[1] != 'S' && name[1] != 's'))) {
        return false;
    }
    while (apr_cstr_casecmpn(name, "REDIRECT_", 9) == 0) {
        name += 9;
    }
    return is_ssl_client_name(name) || is_arrcert_name(name);
}

// The environment without any certificate variable (mod_ssl's, SetEnv's, a parent request's),
// copied once: unsetting names one by one, or apr_table_setn, is quadratic in their number.
apr_table_t* environment_without_certificate(request_rec* r)
{
    const apr_array_header_t* entries = apr_table_elts(r->subprocess_env);
    const auto* entry = reinterpret_cast<const apr_table_entry_t*>(entries->elts);
    const bool any = std::any_of(entry, entry + entries->nelts, [](const apr_table_entry_t& e) {
        return e.key != nullptr && is_certificate_name(e.key);
    });
    if (!any) {
        return r->subprocess_env;
    }
    apr_table_t* kept = apr_table_make(r->pool, entries->nelts + 32);
    for (int i = 0; i < entries->nelts; ++i) {
        if (entry[i].key != nullptr && !is_certificate_name(entry[i].key)) {
            apr_table_addn(kept, entry[i].key, entry[i].val);
        }
    }
    return kept;
}

// What the access check put into a request's environment, so that the fixups can tell whether
// anything (mod_env's SetEnv, RewriteRule [E=...], an authn or authz module) changed it since.
struct ExportRecord {
    const request_rec* request = nullptr;  // whose it is (kept per request_rec: export_slot)
    const apr_table_t* table = nullptr;
    int size = 0;   // the table's entries then
    int first = 0;  // where the exported ones start
    int count = 0;
    apr_table_entry_t* entries = nullptr;  // what was exported, in order
};

// The scope's variables, replacing every certificate name of the environment. The names and
// values are the request's own copies: the environment never points into a verdict that other
// requests share (a module writing into a value in place would change it for them, and a pool
// cleanup reading it would outlive it). The verdict's strings are copied in one block.
void export_environment(request_rec* r, const Scope& scope, const Verdict& verdict, const Decision& decision)
{
    r->subprocess_env = environment_without_certificate(r);
    const ExportOptions options = scope.exports;
    apr_table_t* env = r->subprocess_env;
    const int first = apr_table_elts(env)->nelts;
    if (options.standard || options.certificate) {
        const std::vector<std::string>* only = scope.export_names;
        struct Pending {
            std::string_view name;
            std::string_view value;
        };
        std::array<Pending, 128> pending;  // the verdict's strings, copied together below
        std::size_t count = 0;
        std::size_t bytes = 0;
        // Each name is exported once and none is there any more: adding is linear.
        export_variables(verdict, decision, request_seconds(r), options,
                         [&](std::string_view name, std::string_view value, Lasting lasting) {
                             if (only != nullptr && std::find(only->begin(), only->end(), name) == only->end()) {
                                 return;
                             }
                             if (lasting.name && lasting.value && count < pending.size()) {
                                 pending.at(count++) = {name, value};
                                 bytes += name.size() + value.size() + 2;
                                 return;
                             }
                             apr_table_addn(env, apr_pstrmemdup(r->pool, name.data(), name.size()),
                                            apr_pstrmemdup(r->pool, value.data(), value.size()));
                         });
        char* block = static_cast<char*>(apr_palloc(r->pool, bytes > 0 ? bytes : 1));
        const auto copy = [&block](std::string_view text) {
            char* copied = block;
            std::memcpy(copied, text.data(), text.size());
            copied[text.size()] = '\0';
            block += text.size() + 1;
            return copied;
        };
        for (std::size_t i = 0; i < count; ++i) {
            const Pending& each = pending.at(i);
            const char* name = copy(each.name);
            apr_table_addn(env, name, copy(each.value));
        }
    }
    const apr_array_header_t* entries = apr_table_elts(env);
    auto* record = static_cast<ExportRecord*>(apr_pcalloc(r->pool, sizeof(ExportRecord)));
    record->request = r;
    record->table = env;
    record->size = entries->nelts;
    record->first = first;
    record->count = entries->nelts - first;
    const auto bytes = sizeof(apr_table_entry_t) * static_cast<std::size_t>(record->count);
    record->entries = static_cast<apr_table_entry_t*>(
        apr_pmemdup(r->pool, reinterpret_cast<const apr_table_entry_t*>(entries->elts) + first, bytes > 0 ? bytes : 1));
    export_slot(r) = record;
}

const ExportRecord* export_record(request_rec* r)
{
    const auto* record = static_cast<const ExportRecord*>(export_slot(r));
    return record != nullptr && record->request == r ? record : nullptr;
}

// Whether the certificate names of the environment are exactly what export_environment left
// there: the same entries (pointers), in the same order, and no other. Other names may come and go.
bool exported_unchanged(request_rec* r)
{
    const ExportRecord* record = export_record(r);
    if (record == nullptr) {
        return false;
    }
    const apr_array_header_t* entries = apr_table_elts(r->subprocess_env);
    const auto* entry = reinterpret_cast<const apr_table_entry_t*>(entries->elts);
    const auto same = [&](int at, int exported) {
        return entry[at].key == record->entries[exported].key && entry[at].val == record->entries[exported].val;
    };
    // Usually nothing changed: the same table and size, the exported entries in place, byte for
    // byte as they were copied (so the same key and value pointers). Then only names added after
    // them could be certificate names (a removal before them would move them, an addition lands
    // at the end, a replaced value keeps its name).
    if (record->table == r->subprocess_env && record->size == entries->nelts) {
        const bool in_place = std::memcmp(entry + record->first, record->entries,
                                          sizeof(apr_table_entry_t) * static_cast<std::size_t>(record->count)) == 0;
        if (in_place) {
            for (int i = record->first + record->count; i < entries->nelts; ++i) {
                if (entry[i].key != nullptr && is_certificate_name(entry[i].key)) {
                    return false;
                }
            }
            return true;
        }
    }
    int next = 0;
    for (int i = 0; i < entries->nelts; ++i) {
        if (entry[i].key == nullptr || !is_certificate_name(entry[i].key)) {
            continue;
        }
        if (next == record->count || !same(i, next)) {
            return false;
        }
        ++next;
    }
    return next == record->count;
}

// Where the module is off in the scope a request ended in (mod_dir's DirectoryIndex moves a request
// into its index file's scope), what it exported for an earlier scope of the request goes.
void forget_own_exports(request_rec* r)
{
    const ExportRecord* record = export_record(r);
    if (record == nullptr || record->count == 0) {
        return;
    }
    const apr_array_header_t* entries = apr_table_elts(r->subprocess_env);
    const auto* entry = reinterpret_cast<const apr_table_entry_t*>(entries->elts);
    apr_table_t* kept = apr_table_make(r->pool, entries->nelts);
    for (int i = 0; i < entries->nelts; ++i) {
        const bool ours =
            std::any_of(record->entries, record->entries + record->count,
                        [&](const apr_table_entry_t& e) { return e.key == entry[i].key && e.val == entry[i].val; });
        if (!ours) {
            apr_table_addn(kept, entry[i].key, entry[i].val);
        }
    }
    r->subprocess_env = kept;
}

// The status counters and the inventory: once per request chain, by the first access check
// where the module is on (the initial request's, or a subrequest's or redirect's when the module is
// off where the chain began), not again for the rest, which carry the same certificate.
void count_request(request_rec* r, const Verdict& verdict, const Decision& decision)
{
    if (!first_count_of_chain(r)) {
        return;
    }
    StatusArea& status = *runtime_of(r->server).status;
    status.count_decision(decision.outcome, decision.rule);
    if (belongs_in_inventory(verdict)) {
        status.record_certificate({verdict.sha1, verdict.subject_dn, verdict.issuer_dn, verdict.not_before,
                                   verdict.not_after, request_seconds(r), decision.outcome, decision.rule});
    }
}

enum class Counting { yes, no };

// 403 when the scope's ArrCertVerifyClient does not let this request's certificate through,
// DECLINED otherwise (other modules decide the rest).
int enforce(request_rec* r, Counting counting)
{
    const Scope& scope = scope_of(r);
    if (scope.mode == VerifyMode::none) {
        if (r->main != nullptr || r->prev != nullptr) {
            r->subprocess_env = environment_without_certificate(r);  // as the fixups would, earlier
        }
        return DECLINED;
    }
    keep_out_of_shared_caches(r);
    const auto [verdict, decision] = request_certificate(r);
    if (counting == Counting::yes) {
        count_request(r, verdict, decision);
    }
    if (!permits(scope.mode, decision.outcome)) {
        log_refusal(r, scope, verdict, decision);  // once per request, whichever hook refuses
        return HTTP_FORBIDDEN;
    }
    if (APLOGrdebug(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "let through: %s", verify_value(decision).c_str());
    }
    if (scope.user_name != nullptr && decision.outcome == Decision::Outcome::success) {
        set_user(r, scope);
    }
    // By the end of the access phase, for authn, authz and mod_security2's phase 2 (fixups,
    // REALLY_FIRST); the fixups export again only if something changed the environment since.
    export_environment(r, scope, verdict, decision);
    return DECLINED;
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

// The first fixup: a subrequest or an internal redirect starts without the certificate
// variables of the request it came from (copied, or renamed REDIRECT_*) where the module is off
// (mod_ssl's fixup, which runs later, sets its own where it terminated the connection); where it
// is on, the access check's export stands again over what mod_env's SetEnv added since.
extern "C" int settle_environment(request_rec* r)
{
    return guard_request(r, "settling the certificate variables", HTTP_INTERNAL_SERVER_ERROR, [&] {
        const Scope& scope = scope_of(r);
        if (scope.mode == VerifyMode::none) {
            if (r->main != nullptr || r->prev != nullptr) {
                r->subprocess_env = environment_without_certificate(r);
            }
        } else if (!exported_unchanged(r)) {
            const auto [verdict, decision] = request_certificate(r);
            export_environment(r, scope, verdict, decision);
        }
        return DECLINED;
    });
}

// Runs for every request whatever Require says (access_checker, not auth_checker).
extern "C" int check_access(request_rec* r)
{
    // Counted here: httpd runs the access checkers before access_checker_ex, under any Satisfy.
    return guard_request(r, "checking the certificate", HTTP_INTERNAL_SERVER_ERROR,
                         [&] { return enforce(r, Counting::yes); });
}

// Under 'Satisfy Any' a failed access_checker does not end the request: authz may still grant
// it. Refuse here too, first, so that the certificate rules cannot be bypassed that way.
extern "C" int check_access_ex(request_rec* r)
{
    return guard_request(r, "checking the certificate", HTTP_INTERNAL_SERVER_ERROR, [&] {
        if (ap_satisfies(r) != SATISFY_ANY) {
            return DECLINED;
        }
        return enforce(r, Counting::no);
    });
}

// Where the module is on, every SSL_CLIENT_* and ARRCERT_* name of the environment is the
// forwarded certificate's: whatever mod_ssl, SetEnv or a parent request put there goes first.
// Registered twice: after mod_ssl's fixup, and last of all, after mod_dir's DirectoryIndex, which
// merges its subrequest's environment and moves the request into the index file's scope.
extern "C" int export_fixups(request_rec* r)
{
    return guard_request(r, "exporting the certificate's variables", HTTP_INTERNAL_SERVER_ERROR, [&] {
        const Scope& scope = scope_of(r);
        if (scope.mode == VerifyMode::none) {
            forget_own_exports(r);
            return DECLINED;
        }
        if (exported_unchanged(r)) {
            return DECLINED;
        }
        const auto [verdict, decision] = request_certificate(r);
        if (!permits(scope.mode, decision.outcome)) {
            // Only after a fast redirect into a scope whose access check did not run for this request.
            log_refusal(r, scope, verdict, decision);
            return HTTP_FORBIDDEN;
        }
        export_environment(r, scope, verdict, decision);
        if (scope.user_name != nullptr && decision.outcome == Decision::Outcome::success) {
            set_user(r, scope);
        }
        return DECLINED;
    });
}

}  // namespace arrcert::httpd
