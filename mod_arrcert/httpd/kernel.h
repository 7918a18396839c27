// The request kernel: where a request is refused (403) and where variables are exported.
#pragma once

#include <httpd.h>

namespace arrcert::httpd {

extern "C" {
int remove_untrusted_header(request_rec* r);
int check_access(request_rec* r);
int check_access_ex(request_rec* r);
int export_fixups(request_rec* r);
}

}  // namespace arrcert::httpd
