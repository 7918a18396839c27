#include "expressions.h"

#include <apr_strings.h>
#include <http_config.h>
#include <http_log.h>

#include <string_view>

#include "module.h"
#include "request_verdict.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

const char* lookup(ap_expr_eval_ctx_t* ctx, std::string_view name) noexcept
{
    if (ctx->r == nullptr) {
        return nullptr;  // a server-context expression: there is no request, so no certificate
    }
    try {
        const auto value = request_variable(ctx->r, name);
        return value ? apr_pstrmemdup(ctx->p, value->data(), value->size()) : "";
    } catch (...) {
        // An expression has no way to fail the request: say so and answer nothing.
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, ctx->r, "expression lookup of %.*s failed",
                      static_cast<int>(name.size()), name.data());
        return "";
    }
}

extern "C" const char* variable(ap_expr_eval_ctx_t* ctx, const void* data)
{
    return lookup(ctx, static_cast<const char*>(data));
}

extern "C" const char* function(ap_expr_eval_ctx_t* ctx, const void* /*data*/, const char* arg)
{
    return lookup(ctx, arg != nullptr ? arg : "");
}

bool ours(std::string_view name)
{
    if (name.starts_with("ARRCERT_")) {
        return true;
    }
    // When mod_ssl is loaded its SSL_* names stay its own; arrcert('SSL_CLIENT_...') reaches ours.
    return name.starts_with("SSL_CLIENT_") && ap_find_linked_module("mod_ssl.c") == nullptr;
}

}  // namespace

extern "C" int expr_lookup(ap_expr_lookup_parms* parms)
{
    if (parms->type == AP_EXPR_FUNC_VAR && ours(parms->name)) {
        *parms->func = reinterpret_cast<const void*>(&variable);
        *parms->data = parms->name;
        return OK;
    }
    if (parms->type == AP_EXPR_FUNC_STRING && strcasecmp(parms->name, "arrcert") == 0) {
        *parms->func = reinterpret_cast<const void*>(&function);
        *parms->data = parms->name;
        return OK;
    }
    return DECLINED;
}

}  // namespace arrcert::httpd
