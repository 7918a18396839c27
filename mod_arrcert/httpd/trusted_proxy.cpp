#include "trusted_proxy.h"

#include <apr_network_io.h>
#include <apr_strings.h>
#include <http_log.h>

#include <algorithm>
#include <strings.h>

#include "c_boundary.h"
#include "runtime.h"
#include "server_config.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {

extern "C" const char* add_trusted_proxy(cmd_parms* cmd, void* /*config*/, const char* arg)
{
    return guard_directive(cmd, [&]() -> const char* {
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
        ServerConfig& server = server_config_of(cmd);
        if (server.trusted_proxies == nullptr) {
            server.trusted_proxies = apr_array_make(cmd->pool, 4, sizeof(apr_ipsubnet_t*));
        }
        APR_ARRAY_PUSH(server.trusted_proxies, apr_ipsubnet_t*) = subnet;
        return nullptr;
    });
}

bool peer_is_trusted(const request_rec* r) noexcept
{
    const ServerConfig& config = server_config(r->server);
    if (config.trusted_proxies == nullptr) {
        return true;
    }
    for (int i = 0; i < config.trusted_proxies->nelts; ++i) {
        if (apr_ipsubnet_test(APR_ARRAY_IDX(config.trusted_proxies, i, apr_ipsubnet_t*), r->connection->client_addr) !=
            0) {
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

// Before any other module sees the request: from a peer that is not a trusted front end, every
// certificate header is removed, so that no handler, proxied backend, CGI or PHP app reads it.
extern "C" int remove_untrusted_headers(request_rec* r)
{
    return guard_request(r, "removing untrusted certificate headers", HTTP_INTERNAL_SERVER_ERROR, [&] {
        if (peer_is_trusted(r)) {
            return DECLINED;
        }
        for (const std::string& name : runtime_of(r->server).certificate_headers) {
            if (apr_table_get(r->headers_in, name.c_str()) != nullptr) {
                apr_table_unset(r->headers_in, name.c_str());
                runtime_of(r->server).status->count(Counter::headers_stripped);
                ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                              "removed %s sent by %s, which is not an ArrCertTrustedProxy: no certificate",
                              name.c_str(), r->connection->client_ip);
            }
        }
        return DECLINED;
    });
}

}  // namespace arrcert::httpd
