#include "c_boundary.h"
#include "log_ids.h"

#include <http_log.h>

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {

void log_request_failure(const request_rec* r, const char* doing, const char* what) noexcept
{
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, ARRCERT_LOGNO(0901) "internal failure while %s: %s", doing,
                  what != nullptr ? what : "unknown exception");
}

void log_server_failure(const server_rec* s, const char* doing, const char* what) noexcept
{
    ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, ARRCERT_LOGNO(0902) "internal failure while %s: %s", doing,
                 what != nullptr ? what : "unknown exception");
}

}  // namespace arrcert::httpd
