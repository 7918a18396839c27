// The request kernel: where a request is refused (403), its user set and its variables exported.
#pragma once

#include <httpd.h>

namespace arrcert::httpd {

// Each hook runs the one settle step (refuse, set the user, export) at its point of the request.
extern "C" {
int check_access(request_rec* r);
int check_access_ex(request_rec* r);
int settle_fixups_first(request_rec* r);
int settle_fixups_after_ssl(request_rec* r);
int settle_fixups_last(request_rec* r);
}

// A response that depends on the forwarded certificate: httpd's cache stores none of it, and
// caches downstream are told it is private.
void keep_out_of_shared_caches(request_rec* r) noexcept;

}  // namespace arrcert::httpd
