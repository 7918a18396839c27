// The module: its configuration hooks, its directives and where its request hooks run. The index
// of the glue: each hook's file says what it does.
#include "module.h"

#include <http_protocol.h>
#include <http_request.h>
#include <http_ssl.h>
#include <mod_proxy.h>
#include <mod_status.h>
#include <util_mutex.h>

#include <openssl/crypto.h>

#include "authz.h"
#include "c_boundary.h"
#include "directives.h"
#include "header_limits.h"
#include "kernel.h"
#include "relay.h"
#include "runtime.h"
#include "scope_audit.h"
#include "server_config.h"
#include "ssl_vars.h"
#include "status.h"
#include "trusted_proxy.h"

namespace {

extern "C" int pre_config(apr_pool_t* pool, apr_pool_t* /*log*/, apr_pool_t* /*temp*/)
{
    // OpenSSL stays for the life of the process (the module never cleans it up, other modules
    // share it), so its own exit handler is off: run in forked children such as mod_cgid's daemon,
    // it left some of its nodes unreachable, which valgrind reported now and then.
    OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr);
    arrcert::httpd::register_log_tag(pool);
    const apr_status_t status =
        ap_mutex_register(pool, arrcert::httpd::shared_cache_mutex_type, nullptr, APR_LOCK_DEFAULT, 0);
    return status == APR_SUCCESS ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

extern "C" int start_runtime(apr_pool_t* pool, apr_pool_t* /*log*/, apr_pool_t* temp, server_rec* base)
{
    // Shown with ServerTokens Full, as mod_ssl shows its OpenSSL.
    ap_add_version_component(pool, "mod_arrcert/" ARRCERT_VERSION);
    return arrcert::httpd::guard_server(base, "starting (caches, certificate headers)", HTTP_INTERNAL_SERVER_ERROR,
                                        [&] { return arrcert::httpd::start_runtime(pool, temp, base); });
}

extern "C" void start_child(apr_pool_t* pool, server_rec* base)
{
    arrcert::httpd::guard_server(base, "starting a child process", 0, [&] {
        arrcert::httpd::start_child(pool, base);
        return 0;
    });
}

void register_hooks(apr_pool_t* pool)
{
    using namespace arrcert::httpd;
    static const char* const mod_ssl[] = {"mod_ssl.c", nullptr};
    static const char* const after_log_config_and_ssl[] = {"mod_log_config.c", "mod_ssl.c", nullptr};
    ap_hook_pre_config(pre_config, after_log_config_and_ssl, nullptr, APR_HOOK_MIDDLE);
    ap_hook_check_config(audit_scopes, nullptr, nullptr, APR_HOOK_MIDDLE);  // also for apachectl -t
    ap_hook_check_config(warn_about_local_front_ends, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_post_config(start_runtime, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_post_config(warn_about_field_size, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_child_init(start_child, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_post_read_request(receive_certificate_headers, nullptr, nullptr, APR_HOOK_REALLY_FIRST);
    // From map_to_storage on (so <If> conditions of the last walk see it), and at the latest once
    // the walks are done, even if another module's map_to_storage answered first.
    ap_hook_map_to_storage(mark_scope_known, nullptr, nullptr, APR_HOOK_REALLY_FIRST);
    ap_hook_post_perdir_config(mark_scope_known, nullptr, nullptr, APR_HOOK_REALLY_FIRST);
    // The settle step (kernel.cpp) at each point that decides the request or touches its
    // environment. AP_AUTH_INTERNAL_PER_CONF: a per-URI registrant would turn off httpd's auth caching.
    ap_hook_check_access(check_access, nullptr, nullptr, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_check_access_ex(check_access_ex, nullptr, nullptr, APR_HOOK_FIRST, AP_AUTH_INTERNAL_PER_CONF);
    // First of the fixups but after mod_env (which httpd's hook sort puts before REALLY_FIRST
    // ones anyway), and before mod_security2's phase 2: what the access check exported, again.
    static const char* const after_env[] = {"mod_env.c", nullptr};
    static const char* const before_mod_security[] = {"mod_security2.c", nullptr};
    ap_hook_fixups(settle_fixups_first, after_env, before_mod_security, APR_HOOK_REALLY_FIRST);
    // After mod_env's SetEnv and mod_ssl's StdEnvVars (MIDDLE fixups too, whose order would
    // otherwise follow the load order): where the module is on, the certificate variables are its.
    static const char* const after_env_and_ssl[] = {"mod_env.c", "mod_ssl.c", nullptr};
    ap_hook_fixups(settle_fixups_after_ssl, after_env_and_ssl, nullptr, APR_HOOK_MIDDLE);
    // Last of all, after mod_dir's DirectoryIndex, which merges its subrequest's environment and
    // moves the request into the index file's scope.
    static const char* const after_dir[] = {"mod_dir.c", nullptr};
    ap_hook_fixups(settle_fixups_last, after_dir, nullptr, APR_HOOK_REALLY_LAST);
    // Before mod_ssl's expression lookup (which claims every SSL_* name) and before its SSL
    // variables (httpd asks these hooks before mod_ssl's own function).
    ap_hook_expr_lookup(expr_lookup, nullptr, mod_ssl, APR_HOOK_FIRST);
    ap_hook_ssl_var_lookup(ssl_var_lookup, nullptr, nullptr, APR_HOOK_MIDDLE);
    // What a request that mod_proxy relays carries (relay.cpp): the last word after every fixup,
    // and mod_proxy's own optional fixups hook, just before mod_proxy_http copies the headers.
    ap_hook_insert_filter(relay_certificate_headers, nullptr, nullptr, APR_HOOK_REALLY_LAST);
    APR_OPTIONAL_HOOK(proxy, fixups, relay_proxy_fixups, nullptr, nullptr, APR_HOOK_REALLY_LAST);
    // Live status (status.cpp): mod_status's optional hook and the arrcert-status handler.
    APR_OPTIONAL_HOOK(ap, status_hook, status_section, nullptr, nullptr, APR_HOOK_MIDDLE);
    ap_hook_handler(status_handler, nullptr, nullptr, APR_HOOK_MIDDLE);
    // The Require providers arrcert, arrcert-thumbprint, -issuer, -subject and -san (authz.cpp).
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
