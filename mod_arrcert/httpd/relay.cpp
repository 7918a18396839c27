#include "relay.h"

#include <apr_optional_hooks.h>
#include <apr_strings.h>
#include <mod_proxy.h>
#include <http_log.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <strings.h>

#include "c_boundary.h"
#include "dir_config.h"
#include "directive_values.h"
#include "directives.h"
#include "request_state.h"
#include "runtime.h"
#include "trusted_proxy.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

// Every certificate header as the relay leaves: what the front end sent (front-end), or nothing.
// Never throws: it is also the fallback when the hook fails.
void settle_relayed_headers(request_rec* r, RelayHeaders mode) noexcept
{
    remove_look_alikes(r, runtime_of(r->server).certificate_headers);
    for (const std::string& name : runtime_of(r->server).certificate_headers) {
        const char* sent = mode == RelayHeaders::front_end ? received_header(r, name.c_str()) : nullptr;
        const char* present = apr_table_get(r->headers_in, name.c_str());
        if (sent != nullptr) {
            apr_table_setn(r->headers_in, name.c_str(), sent);
        } else if (present != nullptr) {
            apr_table_unset(r->headers_in, name.c_str());
        }
        if (present != nullptr && (sent == nullptr || std::strcmp(present, sent) != 0) && APLOGrdebug(r)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "relayed to %s %s %s (ArrCertRelayHeaders %s)",
                          relay_target(r), sent != nullptr ? "with the front end's" : "without", name.c_str(),
                          mode == RelayHeaders::front_end ? "front-end" : "none");
        }
    }
}

}  // namespace

const char* relay_target(const request_rec* r) noexcept
{
    // mod_proxy's handler takes a request marked for it by its translation, mod_rewrite's [P] or
    // a forward proxy (proxyreq and a "proxy:" filename), or one whose handler names it.
    const char* target = nullptr;
    if (r->proxyreq != PROXYREQ_NONE && r->filename != nullptr && std::strncmp(r->filename, "proxy:", 6) == 0) {
        target = r->filename + 6;
    } else if (r->proxyreq == PROXYREQ_NONE && r->handler != nullptr && std::strncmp(r->handler, "proxy:", 6) == 0) {
        target = r->handler + 6;
    } else {
        return nullptr;
    }
    // "unix:/path|fcgi://host/": the scheme follows the socket's path.
    if (strncasecmp(target, "unix:", 5) == 0) {
        const char* bar = std::strchr(target, '|');
        return bar != nullptr ? bar + 1 : target;
    }
    return target;
}

bool may_reach_http_server(std::string_view target) noexcept
{
    const std::string_view scheme = target.substr(0, target.find(':'));
    constexpr std::array<std::string_view, 4> only_application{"fcgi", "scgi", "uwsgi", "ajp"};
    return std::ranges::none_of(only_application, [&](std::string_view known) {
        return scheme.size() == known.size() && strncasecmp(scheme.data(), known.data(), scheme.size()) == 0;
    });
}

extern "C" void relay_certificate_headers(request_rec* r)
{
    const char* target = relay_target(r);
    if (target == nullptr || !may_reach_http_server(target)) {
        return;
    }
    RelayHeaders mode = RelayHeaders::none;
    guard_request(r, "choosing the certificate headers of a relayed request", 0, [&] {
        mode = scope_of(r).relay_headers;
        return 0;
    });
    settle_relayed_headers(r, mode);
}

// mod_proxy_http's own last call before it copies the headers (proxy_run_fixups in
// ap_proxy_create_hdrbrgd): after any handler that ran before mod_proxy's (mod_lua's map handler).
extern "C" int relay_proxy_fixups(request_rec* r)
{
    relay_certificate_headers(r);
    return OK;
}

}  // namespace arrcert::httpd
