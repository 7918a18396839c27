#include "ssl_vars.h"

#include <apr_strings.h>
#include <http_config.h>
#include <http_log.h>
#include <http_ssl.h>
#include <mod_log_config.h>

#include <optional>
#include <string>
#include <strings.h>

#include "arrcert/variables.h"
#include "c_boundary.h"
#include "directives.h"
#include "request_verdict.h"
#include "request_state.h"
#include "runtime.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

// What a lookup of a certificate name answers: a value (possibly empty), or "not ours": then
// mod_ssl answers, when it is loaded and terminated the connection.
struct Answer {
    bool ours = true;
    const char* value = "";
};
constexpr Answer not_ours{false, nullptr};

Answer certificate_value(request_rec* r, const char* name, apr_pool_t* pool)
{
    if (r == nullptr) {
        return is_arrcert_name(name) ? Answer{} : not_ours;  // connection-level: mod_ssl's
    }
    if (!RequestState::of(r).scope_known) {
        // post_read_request, translate_name (server-level SetEnvIf, virtual-host RewriteRule): the
        // section that will judge the request is not known yet. Where every section judges as the
        // virtual host's own directives do, that verdict answers; elsewhere, where some scope
        // checks certificates, nothing is visible, not even mod_ssl's values of the hop before.
        const Runtime& runtime = runtime_of(r->server);
        if (runtime.judges_alike(r->server)) {
            const auto* server =
                static_cast<const DirConfig*>(ap_get_module_config(r->server->lookup_defaults, &arrcert_module));
            const std::optional<std::string> value = request_variable(r, server->scope, name);
            return {true, value ? apr_pstrmemdup(pool, value->data(), value->size()) : ""};
        }
        return is_arrcert_name(name) || runtime.checks_certificates(r->server) ? Answer{} : not_ours;
    }
    if (scope_of(r).mode == VerifyMode::none) {
        return is_arrcert_name(name) ? Answer{} : not_ours;
    }
    const std::optional<std::string> value = request_variable(r, name);
    return {true, value ? apr_pstrmemdup(pool, value->data(), value->size()) : ""};
}

// An expression has no way to fail the request: a failure is logged and answers nothing.
const char* evaluate(ap_expr_eval_ctx_t* ctx, const char* name, bool explicit_call) noexcept
{
    return guard_request(ctx->r, "evaluating an expression", static_cast<const char*>(""), [&]() -> const char* {
        const Answer answer = certificate_value(ctx->r, name, ctx->p);
        if (answer.ours || explicit_call) {
            return answer.ours ? answer.value : "";
        }
        // mod_ssl's answer (through httpd's hook, which this module then declines).
        return ap_ssl_var_lookup(ctx->p, ctx->s, ctx->c, ctx->r, name);
    });
}

extern "C" const char* expr_variable(ap_expr_eval_ctx_t* ctx, const void* data)
{
    return evaluate(ctx, static_cast<const char*>(data), false);
}

// arrcert('SSL_CLIENT_S_DN_CN'): the module's value, never mod_ssl's.
extern "C" const char* expr_function(ap_expr_eval_ctx_t* ctx, const void* /*data*/, const char* arg)
{
    return evaluate(ctx, arg != nullptr ? arg : "", true);
}

// mod_ssl's SSL('NAME'), which would read mod_ssl's own variables directly: the certificate names
// follow the one rule, every other name is mod_ssl's answer as before.
extern "C" const char* ssl_function(ap_expr_eval_ctx_t* ctx, const void* /*data*/, const char* arg)
{
    if (arg == nullptr) {
        return "";
    }
    if (is_ssl_client_name(arg) || is_arrcert_name(arg)) {
        return evaluate(ctx, arg, false);
    }
    const char* value = ap_ssl_var_lookup(ctx->p, ctx->s, ctx->c, ctx->r, arg);
    return value != nullptr ? value : "";
}

}  // namespace

extern "C" int mark_scope_known(request_rec* r)
{
    RequestState::of(r).scope_known = true;
    return DECLINED;
}

extern "C" int expr_lookup(ap_expr_lookup_parms* parms)
{
    // Before mod_ssl's lookup, which claims every SSL_* name: SSL_CLIENT_* are decided per scope.
    if (parms->type == AP_EXPR_FUNC_VAR && (is_ssl_client_name(parms->name) || is_arrcert_name(parms->name))) {
        *parms->func = reinterpret_cast<const void*>(&expr_variable);
        *parms->data = parms->name;
        return OK;
    }
    if (parms->type == AP_EXPR_FUNC_STRING && strcasecmp(parms->name, "arrcert") == 0) {
        *parms->func = reinterpret_cast<const void*>(&expr_function);
        *parms->data = parms->name;
        return OK;
    }
    if (parms->type == AP_EXPR_FUNC_STRING && strcasecmp(parms->name, "SSL") == 0) {
        *parms->func = reinterpret_cast<const void*>(&ssl_function);
        *parms->data = parms->name;
        return OK;
    }
    return DECLINED;
}

// LogFormat's %{NAME}x, as mod_ssl's: the value, or "-" (null) when empty.
extern "C" const char* log_variable(request_rec* r, char* name)
{
    return guard_request(r, "logging an SSL variable", static_cast<const char*>(nullptr), [&]() -> const char* {
        const char* value = ap_ssl_var_lookup(r->pool, r->server, r->connection, r, name);
        return value != nullptr && *value != '\0' ? value : nullptr;
    });
}

void register_log_tag(apr_pool_t* pool)
{
    // Also when mod_ssl is loaded: its own %x handler reads its variables directly, past the hook.
    if (auto* register_handler = APR_RETRIEVE_OPTIONAL_FN(ap_register_log_handler); register_handler != nullptr) {
        register_handler(pool, apr_pstrdup(pool, "x"), log_variable, 0);
    }
}

extern "C" const char* ssl_var_lookup(apr_pool_t* pool, server_rec* /*s*/, conn_rec* /*c*/, request_rec* r,
                                      const char* name)
{
    if (name == nullptr || !(is_ssl_client_name(name) || is_arrcert_name(name))) {
        return nullptr;
    }
    if (r == nullptr) {
        return nullptr;
    }
    return guard_request(r, "looking up an SSL variable", static_cast<const char*>(""), [&]() -> const char* {
        const Answer answer = certificate_value(r, name, pool);
        return answer.ours ? answer.value : nullptr;
    });
}

}  // namespace arrcert::httpd
