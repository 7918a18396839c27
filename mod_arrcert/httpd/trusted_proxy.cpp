#include "trusted_proxy.h"

#include <apr_network_io.h>
#include <apr_strings.h>
#include <http_log.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string_view>
#include <strings.h>

#include "c_boundary.h"
#include "directive_handlers.h"
#include "request_state.h"
#include "runtime.h"
#include "server_config.h"
#include "log_ids.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {

extern "C" const char* add_trusted_proxy(cmd_parms* cmd, void* /*config*/, const char* arg)
{
    return on_server(cmd, false, [&](ServerConfig& server) -> const char* {
        // "none": this server trusts no peer, whatever the main server lists (a status listener).
        const bool none = strcasecmp(arg, "none") == 0;
        if (server.trusted_proxies != nullptr && (none || server.trusted_proxies->nelts == 0)) {
            return directive_error(cmd, "'none' stands alone: it cannot be combined with addresses");
        }
        if (none) {
            server.trusted_proxies = apr_array_make(cmd->pool, 1, sizeof(apr_ipsubnet_t*));
            return nullptr;
        }
        std::string text(arg);
        std::string mask;
        if (const auto slash = text.find('/'); slash != std::string::npos) {
            mask = text.substr(slash + 1);
            text.resize(slash);
        }
        apr_ipsubnet_t* subnet = nullptr;
        const apr_status_t status = apr_ipsubnet_create(&subnet, apr_pstrdup(cmd->temp_pool, text.c_str()),
                                                        mask.empty() ? nullptr : mask.c_str(), cmd->pool);
        if (status != APR_SUCCESS) {
            return directive_error(cmd, "'" + std::string(arg) + "' is not an IP address or CIDR range");
        }
        if (server.trusted_proxies == nullptr) {
            server.trusted_proxies = apr_array_make(cmd->pool, 4, sizeof(apr_ipsubnet_t*));
        }
        APR_ARRAY_PUSH(server.trusted_proxies, apr_ipsubnet_t*) = subnet;
        return nullptr;
    });
}

namespace {

bool listed(const apr_array_header_t* proxies, apr_sockaddr_t* peer) noexcept
{
    for (int i = 0; i < proxies->nelts; ++i) {
        if (apr_ipsubnet_test(APR_ARRAY_IDX(proxies, i, apr_ipsubnet_t*), peer) != 0) {
            return true;
        }
    }
    return false;
}

}  // namespace

bool peer_is_trusted(const request_rec* r) noexcept
{
    const apr_array_header_t* proxies = server_config(r->server).trusted_proxies;
    if (proxies == nullptr) {
        // Without a list anywhere every peer may send the header (the front end is the only way
        // in); once any server lists its front ends, a server that lists none trusts none.
        return !runtime_of(r->server).front_ends_listed;
    }
    return listed(proxies, r->connection->client_addr);
}

namespace {

// Whether a <VirtualHost> address serves connections to `local` (a wildcard address or port too).
bool serves(const server_addr_rec& address, const apr_sockaddr_t& local) noexcept
{
    if (address.host_port != 0 && address.host_port != local.port) {
        return false;
    }
    const apr_sockaddr_t* host = address.host_addr;
    if (host == nullptr) {
        return false;
    }
    static constexpr char zeros[16] = {};
    const bool wildcard = host->ipaddr_len > 0 && host->ipaddr_len <= static_cast<int>(sizeof(zeros)) &&
                          std::memcmp(host->ipaddr_ptr, zeros, static_cast<std::size_t>(host->ipaddr_len)) == 0;
    return wildcard || apr_sockaddr_equal(host, &local) != 0;
}

}  // namespace

bool peer_is_front_end_here(const request_rec* r) noexcept
{
    // Every server the client's Host header could choose on this listener (a front end passes it
    // on), not only the one it chose; the main server where no <VirtualHost> serves the address.
    const conn_rec* connection = r->connection;
    server_rec* main_server = runtime_of(r->server).main_server;
    if (main_server == nullptr) {
        return true;  // not started: refuse
    }
    bool any_virtual_host = false;
    for (server_rec* server = main_server; server != nullptr; server = server->next) {
        if (server->is_virtual == 0) {
            continue;
        }
        for (const server_addr_rec* address = server->addrs; address != nullptr; address = address->next) {
            if (serves(*address, *connection->local_addr)) {
                any_virtual_host = true;
                const apr_array_header_t* proxies = server_config(server).trusted_proxies;
                if (proxies != nullptr && listed(proxies, connection->client_addr)) {
                    return true;
                }
                break;
            }
        }
    }
    const apr_array_header_t* main = server_config(main_server).trusted_proxies;
    return !any_virtual_host && main != nullptr && listed(main, connection->client_addr);
}

bool front_ends_listed(server_rec* base) noexcept
{
    // "none" lists no front end: a status listener that says it changes nothing for the others.
    for (server_rec* server = base; server != nullptr; server = server->next) {
        const apr_array_header_t* proxies = server_config(server).trusted_proxies;
        if (proxies != nullptr && proxies->nelts > 0) {
            return true;
        }
    }
    return false;
}

std::vector<std::string> certificate_headers(server_rec* base)
{
    std::vector<std::string> names{HeaderSettings{}.name};
    for (server_rec* server = base; server != nullptr; server = server->next) {
        const apr_array_header_t* declared = server_config(server).header_names;
        for (int i = 0; i < declared->nelts; ++i) {
            const char* name = APR_ARRAY_IDX(declared, i, const char*);
            if (std::none_of(names.begin(), names.end(),
                             [&](const std::string& known) { return strcasecmp(known.c_str(), name) == 0; })) {
                names.emplace_back(name);
            }
        }
    }
    return names;
}

namespace {

// "X_ARR_ClientCert" for "X-ARR-ClientCert": httpd keeps it apart, but some backends (WSGI
// servers) read both as one, and a front end that replaces the real name leaves it.
bool looks_alike(std::string_view key, std::string_view name) noexcept
{
    return key.size() == name.size() && key.find('_') != std::string_view::npos &&
           std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
               const bool dashes = (a == '_' || a == '-') && (b == '_' || b == '-');
               return dashes ||
                      std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
           });
}

// Every line of header `name`, joined as apr_table_getm joins them; a single line is its own
// value (what apr_table_getm returns then), found without its callback walk.
const char* every_line(request_rec* r, const char* name) noexcept
{
    const apr_array_header_t* entries = apr_table_elts(r->headers_in);
    const auto* entry = reinterpret_cast<const apr_table_entry_t*>(entries->elts);
    const char* first = nullptr;
    for (int i = 0; i < entries->nelts; ++i) {
        if (entry[i].key != nullptr && strcasecmp(entry[i].key, name) == 0) {
            if (first != nullptr) {
                return apr_table_getm(r->pool, r->headers_in, name);
            }
            first = entry[i].val;
        }
    }
    return first;
}

}  // namespace

void remove_look_alikes(request_rec* r, const std::vector<std::string>& names) noexcept
{
    const apr_array_header_t* entries = apr_table_elts(r->headers_in);
    const auto* entry = reinterpret_cast<const apr_table_entry_t*>(entries->elts);
    apr_array_header_t* found = nullptr;  // removed after the walk, which removal would disturb
    for (int i = 0; i < entries->nelts; ++i) {
        const char* key = entry[i].key;
        if (key != nullptr && std::strchr(key, '_') != nullptr &&
            std::ranges::any_of(names, [&](const std::string& name) { return looks_alike(key, name); })) {
            if (found == nullptr) {
                found = apr_array_make(r->pool, 2, sizeof(const char*));
            }
            APR_ARRAY_PUSH(found, const char*) = key;
        }
    }
    for (int i = 0; found != nullptr && i < found->nelts; ++i) {
        const char* key = APR_ARRAY_IDX(found, i, const char*);
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      ARRCERT_LOGNO(0103) "removed %s: a look-alike of a certificate header",
                      ap_escape_logitem(r->pool, key));
        apr_table_unset(r->headers_in, key);
    }
}

// Before any other module sees the request: from a trusted front end, the certificate headers
// are recorded as they arrived (what is judged, whatever modules do to the headers later); from
// any other peer they are removed, so that no handler, proxied backend, CGI or PHP app reads them.
extern "C" int receive_certificate_headers(request_rec* r)
{
    return guard_request(r, "receiving the certificate headers", HTTP_INTERNAL_SERVER_ERROR,
                         [&] {
                             const Runtime& runtime = runtime_of(r->server);
                             const std::vector<std::string>& names = runtime.certificate_headers;
                             remove_look_alikes(r, names);
                             if (peer_is_trusted(r)) {
                                 auto** received =
                                     static_cast<const char**>(apr_palloc(r->pool, sizeof(const char*) * names.size()));
                                 for (std::size_t i = 0; i < names.size(); ++i) {
                                     // Every line, joined with ", " as httpd joins repeated lines: never only the
                                     // first.
                                     received[i] = every_line(r, names[i].c_str());
                                 }
                                 RequestState::of(r).received = received;
                                 return DECLINED;
                             }
                             for (const std::string& name : names) {
                                 if (apr_table_get(r->headers_in, name.c_str()) != nullptr) {
                                     apr_table_unset(r->headers_in, name.c_str());
                                     runtime.status->count(Counter::headers_stripped);
                                     ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                              ARRCERT_LOGNO(0104) "removed %s sent by %s, which is not an ArrCertTrustedProxy: no certificate",
                              name.c_str(), r->connection->client_ip);
                                 }
                             }
                             return DECLINED;
                         });
}

// A trusted loopback address is every local process's: a CGI or PHP script, a tenant's code, any
// daemon of the host can send a certificate header as the front end. httpd's own relays carry
// none (ArrCertRelayHeaders), but with mod_proxy loaded the mistake is common enough to say so.
extern "C" int warn_about_local_front_ends(apr_pool_t* /*pconf*/, apr_pool_t* /*plog*/, apr_pool_t* ptemp,
                                           server_rec* base)
{
    return guard_server(base, "checking the trusted front ends", OK, [&] {
        if (ap_find_linked_module("mod_proxy.c") == nullptr) {
            return OK;
        }
        const bool connect = ap_find_linked_module("mod_proxy_connect.c") != nullptr;
        apr_sockaddr_t* v4 = nullptr;
        apr_sockaddr_t* v6 = nullptr;
        apr_sockaddr_info_get(&v4, "127.0.0.1", APR_INET, 0, 0, ptemp);
        apr_sockaddr_info_get(&v6, "::1", APR_INET6, 0, 0, ptemp);
        for (server_rec* server = base; server != nullptr; server = server->next) {
            const apr_array_header_t* proxies = server_config(server).trusted_proxies;
            if (proxies == nullptr || (server != base && proxies == server_config(base).trusted_proxies)) {
                continue;  // inherited from the main server: said once, there
            }
            if ((v4 != nullptr && listed(proxies, v4)) || (v6 != nullptr && listed(proxies, v6))) {
                const char* where =
                    server == base ? ""
                                   : apr_psprintf(ptemp, " (virtual host %s:%u, line %d)",
                                                  server->server_hostname != nullptr ? server->server_hostname : "?",
                                                  static_cast<unsigned>(server->port), server->defn_line_number);
                ap_log_error(APLOG_MARK, APLOG_STARTUP | APLOG_WARNING, 0, nullptr,
                             ARRCERT_LOGNO(0201) "mod_arrcert: ArrCertTrustedProxy trusts a loopback address%s: every local process "
                             "(CGI and PHP scripts, tenants' code) can send a certificate header as the front "
                             "end. Requests this httpd relays carry none unless ArrCertRelayHeaders says so%s; "
                             "prefer a dedicated address or listener for the front end (docs/security.md).",
                             where,
                             connect ? ", but a CONNECT tunnel through it (mod_proxy_connect) carries what the "
                                       "client writes, unseen"
                                     : "");
            }
        }
        return OK;
    });
}

}  // namespace arrcert::httpd
