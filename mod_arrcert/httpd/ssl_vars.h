// Every way another module reads the certificate's values, besides the environment: ap_expr
// (Require expr, <If>, SSI, RewriteCond expr, SetEnvIfExpr), and httpd's SSL variable hook
// (mod_rewrite's %{SSL:...}, mod_headers' %{...}s, mod_lua). One rule for all of them: a value is
// visible only once the request's scope is known and only where the module is on in that scope,
// always as that scope's verdict gives it.
#pragma once

#include <httpd.h>
#include <ap_expr.h>

namespace arrcert::httpd {

extern "C" {
// map_to_storage and post_perdir_config, first: the configuration that applies to the request is
// settled from here on.
int mark_scope_known(request_rec* r);
int expr_lookup(ap_expr_lookup_parms* parms);
const char* ssl_var_lookup(apr_pool_t* pool, server_rec* s, conn_rec* c, request_rec* r, const char* name);
const char* log_variable(request_rec* r, char* name);
}

// pre_config, after mod_log_config's and mod_ssl's: LogFormat's %{NAME}x (mod_ssl's tag), through
// httpd's SSL variable hook, so that existing log formats keep working behind a front end and a
// TLS hop's certificate is never logged for the forwarded one.
void register_log_tag(apr_pool_t* pool);

}  // namespace arrcert::httpd
