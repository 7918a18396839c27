// The request kernel: where a request is refused (403) and where variables are exported.
#pragma once

#include <httpd.h>

namespace arrcert::httpd {

extern "C" {
int check_access(request_rec* r);
int check_access_ex(request_rec* r);
int export_fixups(request_rec* r);
int settle_environment(request_rec* r);
}

// A response that depends on the forwarded certificate: httpd's cache stores none of it, and
// caches downstream are told it is private.
void keep_out_of_shared_caches(request_rec* r) noexcept;

}  // namespace arrcert::httpd
