#include "status.h"

#include <apr_optional_hooks.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_status.h>

#include <cstring>
#include <string>

#include "arrcert/status_report.h"
#include "c_boundary.h"
#include "directive_values.h"
#include "runtime.h"
#include "server_config.h"
#include "trusted_proxy.h"
#include "log_ids.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

constexpr const char* area_key = "arrcert-status-area";
constexpr const char* handler_name = "arrcert-status";

struct KeptArea {
    apr_shm_t* shm = nullptr;
    StatusArea* area = nullptr;
};

StatusSnapshot snapshot_of(const request_rec* r)
{
    const StatusArea* area = runtime_of(r->server).status;
    return area != nullptr ? area->snapshot(apr_time_sec(apr_time_now())) : StatusSnapshot{};
}

}  // namespace

// mod_status's page: a section, or (?auto) one line per counter.
extern "C" int status_section(request_rec* r, int flags)
{
    return guard_request(r, "adding to the server status", OK, [&] {
        // Counters only: no lock for a scrape of ?auto.
        const StatusArea* area = runtime_of(r->server).status;
        const StatusSnapshot snapshot =
            area != nullptr ? area->counters(apr_time_sec(apr_time_now())) : StatusSnapshot{};
        const std::string text =
            (flags & AP_STATUS_SHORT) != 0 ? status_lines(snapshot) : status_summary_html(snapshot);
        ap_rwrite(text.data(), static_cast<int>(text.size()), r);
        return OK;
    });
}

namespace {

// The format asked for in the query string (format=html|json|prometheus); null when unknown.
const char* format_of(request_rec* r)
{
    if (r->args == nullptr || *r->args == '\0') {
        return "html";
    }
    for (const char* format : {"html", "json", "prometheus"}) {
        if (std::strcmp(r->args, apr_pstrcat(r->pool, "format=", format, nullptr)) == 0) {
            return format;
        }
    }
    return nullptr;
}

}  // namespace

extern "C" int status_handler(request_rec* r)
{
    if (r->handler == nullptr || std::strcmp(r->handler, handler_name) != 0) {
        return DECLINED;
    }
    return guard_request(r, "showing the status", HTTP_INTERNAL_SERVER_ERROR, [&] {
        // A front end relays for anyone, from its own address: "Require ip" cannot tell its
        // clients from the host's own.
        if (peer_is_front_end_here(r)) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          ARRCERT_LOGNO(0501) "arrcert-status: refused a request relayed by the front end %s (ArrCertTrustedProxy): "
                          "serve the status page on a listener the front end does not reach",
                          r->connection->client_ip);
            return HTTP_FORBIDDEN;
        }
        r->allowed |= (AP_METHOD_BIT << M_GET);
        ap_allow_methods(r, REPLACE_ALLOW, "GET", "HEAD", nullptr);  // the Allow of a 405
        if (r->method_number != M_GET) {
            return HTTP_METHOD_NOT_ALLOWED;
        }
        const char* format = format_of(r);
        if (format == nullptr) {
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          ARRCERT_LOGNO(0502) "arrcert-status: unknown query (format=html|json|prometheus)");
            return HTTP_BAD_REQUEST;
        }
        const StatusSnapshot snapshot = snapshot_of(r);
        const int warning_days = server_rows::status_expiry_warning.value(server_config(r->server));
        std::string body;
        if (std::strcmp(format, "json") == 0) {
            ap_set_content_type(r, "application/json");
            body = status_json(snapshot, warning_days);
        } else if (std::strcmp(format, "prometheus") == 0) {
            ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
            body = status_prometheus(snapshot);
        } else {
            ap_set_content_type(r, "text/html; charset=utf-8");
            body = status_page_html(snapshot, warning_days);
        }
        // Live figures and client identities: for no cache, and shown only as what they are.
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
        apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
        apr_table_setn(r->headers_out, "Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
        if (r->header_only == 0) {
            ap_rwrite(body.data(), static_cast<int>(body.size()), r);
        }
        return OK;
    });
}

StatusArea* status_area(server_rec* base, std::size_t capacity)
{
    apr_pool_t* process_pool = base->process->pool;
    void* data = nullptr;
    apr_pool_userdata_get(&data, area_key, process_pool);
    auto* kept = static_cast<KeptArea*>(data);
    if (kept != nullptr && kept->area->inventory_capacity() == std::min(capacity, StatusArea::max_inventory)) {
        return kept->area;
    }
    if (kept == nullptr) {
        kept = static_cast<KeptArea*>(apr_pcalloc(process_pool, sizeof(KeptArea)));
        apr_pool_userdata_set(kept, area_key, apr_pool_cleanup_null, process_pool);
    } else {
        // Children of the previous generation keep their own mapping of the old area.
        apr_shm_destroy(kept->shm);
        kept->shm = nullptr;
        kept->area = nullptr;
    }
    // Anonymous: inherited by every child that httpd forks.
    const apr_size_t bytes = StatusArea::bytes_for(capacity);
    if (const apr_status_t status = apr_shm_create(&kept->shm, bytes, nullptr, process_pool); status != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, status, base,
                     ARRCERT_LOGNO(0503) "cannot create the status area (%" APR_SIZE_T_FMT " bytes)", bytes);
        return nullptr;
    }
    kept->area = StatusArea::create(apr_shm_baseaddr_get(kept->shm), capacity);
    return kept->area;
}

}  // namespace arrcert::httpd
