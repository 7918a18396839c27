// ArrCertTrustedProxy: which peers may send a certificate header, and the removal of every
// certificate header from the others before any module sees it (as mod_remoteip's proxy list).
#pragma once

#include <httpd.h>
#include <http_config.h>

#include <string>
#include <vector>

namespace arrcert::httpd {

extern "C" {
// The directive: ADDRESS|CIDR ..., server config and <VirtualHost>.
const char* add_trusted_proxy(cmd_parms* cmd, void* config, const char* arg);
// post_read_request, before every other module.
int remove_untrusted_headers(request_rec* r);
}

// Whether the request's TCP peer may send the certificate header. The connection's own peer:
// mod_remoteip rewrites only r->useragent_addr.
bool peer_is_trusted(const request_rec* r) noexcept;

// Every certificate header that any server of the configuration reads, and the default: a
// header that one virtual host ignores may be relayed (mod_proxy) to one that reads it.
std::vector<std::string> certificate_headers(server_rec* base);

}  // namespace arrcert::httpd
