// One verdict per certificate and scope per request: subrequests and internal redirects reuse what
// the first request of the chain judged, and verdicts judged before are found in the runtime's
// caches (tiers) before anything is judged again.
#pragma once

#include <httpd.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "arrcert/rules.h"
#include "dir_config.h"

namespace arrcert::httpd {

// The verdict stays until the initial request's pool is cleared: the request's memo holds it.
const Verdict& request_verdict(request_rec* r, const Scope& scope);

// True once per request chain (a request, its subrequests and internal redirects): the first
// decision where the module is on is the one the status counters count.
bool first_count_of_chain(request_rec* r);

// A pointer kept for this request_rec alone (not its subrequests or redirects), null until set:
// what the kernel exported. It must live in the request's pool.
const void*& export_slot(request_rec* r);

// The request time in whole seconds since the epoch (UTC).
std::int64_t request_seconds(const request_rec* r) noexcept;

// The verdict for this request's scope, decided at the request time.
struct RequestCertificate {
    const Verdict& verdict;
    Decision decision;
};
RequestCertificate request_certificate(request_rec* r);
RequestCertificate request_certificate(request_rec* r, const Scope& scope);

// A variable of this request's certificate (SSL_CLIENT_..., ARRCERT_...), as the fixups would
// export it; nullopt when it would not be set.
std::optional<std::string> request_variable(request_rec* r, std::string_view name);
std::optional<std::string> request_variable(request_rec* r, const Scope& scope, std::string_view name);

}  // namespace arrcert::httpd
