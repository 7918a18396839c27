// The module: its configuration hooks, its directives and where its request hooks run.
#include "module.h"

#include <http_protocol.h>
#include <http_request.h>
#include <util_mutex.h>

#include "authz.h"
#include "config.h"
#include "expressions.h"
#include "kernel.h"

namespace {

extern "C" int pre_config(apr_pool_t* pool, apr_pool_t* /*log*/, apr_pool_t* /*temp*/)
{
    const apr_status_t status =
        ap_mutex_register(pool, arrcert::httpd::shared_cache_mutex_type, nullptr, APR_LOCK_DEFAULT, 0);
    return status == APR_SUCCESS ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

extern "C" int post_config(apr_pool_t* pool, apr_pool_t* /*log*/, apr_pool_t* /*temp*/, server_rec* base)
{
    try {
        return arrcert::httpd::make_verdict_caches(pool, base);
    } catch (...) {
        return HTTP_INTERNAL_SERVER_ERROR;  // start-up stops
    }
}

extern "C" void child_init(apr_pool_t* pool, server_rec* base)
{
    if (arrcert::httpd::SharedCache* shared = arrcert::httpd::server_config(base).shared_cache; shared != nullptr) {
        shared->child_init(pool, base);
    }
}

void register_hooks(apr_pool_t* pool)
{
    using namespace arrcert::httpd;
    ap_hook_pre_config(pre_config, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(remove_untrusted_header, nullptr, nullptr, APR_HOOK_REALLY_FIRST);
    // AP_AUTH_INTERNAL_PER_CONF: a per-URI registrant would turn off httpd's auth caching.
    ap_hook_check_access(check_access, nullptr, nullptr, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_access_ex(check_access_ex, nullptr, nullptr, APR_HOOK_FIRST, AP_AUTH_INTERNAL_PER_CONF);
    // After mod_env's SetEnv (also a fixup, also MIDDLE), so that no SetEnv, even one in an
    // .htaccess, replaces the verdict's variables; Debian loads mod_arrcert first.
    static const char* const after_modules[] = {"mod_env.c", nullptr};
    ap_hook_fixups(export_fixups, after_modules, nullptr, APR_HOOK_MIDDLE);
    ap_hook_expr_lookup(expr_lookup, nullptr, nullptr, APR_HOOK_MIDDLE);
    register_authz_providers(pool);
}

}  // namespace

extern "C" {
module AP_MODULE_DECLARE_DATA arrcert_module = {
    // STANDARD20_MODULE_STUFF, but named as a C module would be, so that <IfModule mod_arrcert.c>
    // and "LogLevel arrcert:debug" work.
    MODULE_MAGIC_NUMBER_MAJOR,
    MODULE_MAGIC_NUMBER_MINOR,
    -1,
    "mod_arrcert.c",
    nullptr,
    nullptr,
    MODULE_MAGIC_COOKIE,
    nullptr,
    arrcert::httpd::create_dir_config,
    arrcert::httpd::merge_dir_config,
    arrcert::httpd::create_server_config,
    arrcert::httpd::merge_server_config,
    arrcert::httpd::directives,
    register_hooks,
    AP_MODULE_FLAG_NONE,
};
}
