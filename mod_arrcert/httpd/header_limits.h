// Start-up warning: httpd refuses a request line longer than LimitRequestFieldSize with 400 before
// any module sees it, so a certificate header that ArrCertMaxHeaderLength accepts may never arrive.
#pragma once

#include <httpd.h>

namespace arrcert::httpd {

extern "C" {
// post_config: once per start (not in httpd's first, trial reading of the configuration).
int warn_about_field_size(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp, server_rec* base);
}

}  // namespace arrcert::httpd
