#include "header_limits.h"

#include <apr_strings.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>

#include "c_boundary.h"
#include "log_ids.h"
#include "scope_audit.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {

// Post-quantum certificates are large: an ML-DSA-87 certificate is about 7.5 KB of DER, 10 KB in
// base64, over httpd's default LimitRequestFieldSize of 8190.
extern "C" int warn_about_field_size(apr_pool_t* /*pconf*/, apr_pool_t* /*plog*/, apr_pool_t* ptemp, server_rec* base)
{
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    return guard_server(base, "comparing LimitRequestFieldSize with ArrCertMaxHeaderLength", OK, [&] {
        for (server_rec* server = base; server != nullptr; server = server->next) {
            const HeaderLineNeed need = longest_certificate_header(server, ptemp);
            const auto limit = static_cast<std::size_t>(server->limit_req_fieldsize);
            if (need.line == 0 || limit >= need.line) {
                continue;
            }
            const char* text = apr_psprintf(
                ptemp,
                "mod_arrcert: server %s:%u (%s:%d): LimitRequestFieldSize %" APR_SIZE_T_FMT
                " is smaller than the %" APR_SIZE_T_FMT "-byte header line that ArrCertMaxHeaderLength %" APR_SIZE_T_FMT
                " allows in %s: httpd refuses a larger certificate header with 400 before mod_arrcert reads it "
                "(post-quantum ML-DSA-87 certificates need about 10 KB). Set 'LimitRequestFieldSize %" APR_SIZE_T_FMT
                "' in this server, or lower ArrCertMaxHeaderLength to what the front end sends.",
                server->server_hostname != nullptr ? server->server_hostname : "?", static_cast<unsigned>(server->port),
                server->defn_name != nullptr ? server->defn_name : "?", server->defn_line_number, limit, need.line,
                need.max_header_length, need.header, need.line);
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, server, ARRCERT_LOGNO(0240) "%s", text);
        }
        return OK;
    });
}

}  // namespace arrcert::httpd
