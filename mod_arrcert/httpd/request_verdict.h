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

class RequestMemo;
// The memo of a request chain, in the pool of its initial request (RequestState owns it).
RequestMemo* make_request_memo(request_rec* initial);

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
