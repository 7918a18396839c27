// One verdict per certificate and rule set per request: subrequests and internal redirects
// reuse what the first request of the chain judged.
#pragma once

#include <httpd.h>

#include "arrcert/rules.h"
#include "config.h"

namespace arrcert::httpd {

const Verdict& request_verdict(request_rec* r, const DirConfig& config);

// The request time in whole seconds since the epoch (UTC).
std::int64_t request_seconds(const request_rec* r) noexcept;

}  // namespace arrcert::httpd
