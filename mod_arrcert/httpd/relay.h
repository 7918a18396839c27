// ArrCertRelayHeaders (its row in dir_config.h): what the certificate headers of a request that this httpd relays
// itself (mod_proxy: ProxyPass, RewriteRule [P], SetHandler proxy:) hold when it leaves. Another server of the same
// httpd may trust the address the relay comes from (a front end on the same host), so a relayed request never carries a
// value that httpd's modules or a tenant set.
#pragma once

#include <httpd.h>
#include <http_config.h>

#include <string_view>

namespace arrcert::httpd {

extern "C" {
// insert_filter, last: after every fixup (mod_headers, mod_rewrite, mod_lua), just before the
// handler; mod_proxy copies the headers from here.
void relay_certificate_headers(request_rec* r);
// The same, as mod_proxy's own (optional) fixups hook, just before mod_proxy_http copies the
// headers: after handlers that run before mod_proxy's, as mod_lua's.
int relay_proxy_fixups(request_rec* r);
}

// Where mod_proxy will send the request ("http://...", "balancer://...", "fcgi://..."), as its
// handler decides; null when it will not relay the request.
const char* relay_target(const request_rec* r) noexcept;

// Whether the target could be an HTTP server, this httpd included: every scheme but those only
// application servers speak (fcgi, scgi, uwsgi, ajp).
bool may_reach_http_server(std::string_view target) noexcept;

}  // namespace arrcert::httpd
