// ArrCertTrustedProxy: which peers may send a certificate header, and the removal of every
// certificate header from the others before any module sees it (as mod_remoteip's proxy list).
#pragma once

#include <apr_network_io.h>
#include <httpd.h>
#include <http_config.h>

#include <string>
#include <vector>

namespace arrcert::httpd {

extern "C" {
// The directive: ADDRESS|CIDR ..., server config and <VirtualHost>.
const char* add_trusted_proxy(cmd_parms* cmd, void* config, const char* arg);
// post_read_request, before every other module: records the certificate headers a trusted
// front end sent, removes them from any other peer.
int receive_certificate_headers(request_rec* r);
// check_config: a warning where a loopback address is trusted and mod_proxy is loaded.
int warn_about_local_front_ends(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp, server_rec* base);
}

// Whether the request's TCP peer may send the certificate header: it is in the server's list, or
// no server of the configuration lists any. The connection's own peer: mod_remoteip rewrites only
// r->useragent_addr.
bool peer_is_trusted(const request_rec* r) noexcept;
// Whether the peer is a front end (ArrCertTrustedProxy) of any server that this connection's
// listener serves: a front end relays for anyone, and passes on the Host header that picks one.
bool peer_is_front_end_here(const request_rec* r) noexcept;
// Removes the request headers whose names differ from a certificate header's only by '_' for '-'.
void remove_look_alikes(request_rec* r, const std::vector<std::string>& names) noexcept;
// Whether any server of the configuration lists a front end ("none" lists none).
bool front_ends_listed(server_rec* base) noexcept;

// Every certificate header that any server of the configuration reads, and the default: a
// header that one virtual host ignores may be relayed (mod_proxy) to one that reads it.
std::vector<std::string> certificate_headers(server_rec* base);

}  // namespace arrcert::httpd
