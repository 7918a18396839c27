// What the front end says of its own check, applied to a request: its verdict headers before
// anything is decoded, its fingerprint against the certificate judged. The matching is the
// core's (arrcert/front_end_check.h); this reads the values the trusted front end sent.
#pragma once

#include <httpd.h>

#include "arrcert/rules.h"
#include "dir_config.h"

namespace arrcert::httpd {

// A refusal ("front end did not verify the certificate") where the request carries a certificate
// and one of the scope's verdict lines does not hold; null otherwise. Logged once per request.
const Verdict* front_end_refusal(request_rec* r, const Scope& scope);

// A refusal where the certificate of `verdict` is not the one whose fingerprint the front end
// sent (or it sent none, or not a fingerprint); null where it matches or nothing is compared.
const Verdict* fingerprint_refusal(request_rec* r, const Scope& scope, const Verdict& verdict);

}  // namespace arrcert::httpd
