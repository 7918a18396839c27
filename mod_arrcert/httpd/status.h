// Live status: the shared status area (made at start-up, kept across graceful restarts), the
// section and lines it adds to mod_status, and the arrcert-status handler (HTML, JSON, Prometheus).
#pragma once

#include <httpd.h>
#include <http_config.h>

#include "arrcert/status_area.h"

namespace arrcert::httpd {

// post_config: the area for `capacity` inventory entries. One per httpd process tree, in the
// process pool: a restart finds it again (counters go on), unless the capacity changed.
StatusArea* status_area(server_rec* base, std::size_t capacity);

extern "C" {
// mod_status's optional status_hook: a section of its page, or one line per counter (?auto).
int status_section(request_rec* r, int flags);
// The arrcert-status handler: the status page as HTML, JSON or Prometheus text.
int status_handler(request_rec* r);
}

}  // namespace arrcert::httpd
