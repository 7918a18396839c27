// What the module keeps for one request: the certificate headers as the trusted front end sent
// them (the only values ever judged), the verdicts its chain already judged, what was exported.
#pragma once

#include <httpd.h>

namespace arrcert::httpd {

class RequestMemo;  // request_verdict.cpp

struct RequestState {
    // The initial request's: the value of each of the runtime's certificate_headers as the
    // front end sent it (null: absent), in that order; null when no trusted front end sent the
    // request. Recorded before any other module runs, so nothing httpd adds later is judged.
    const char** received = nullptr;
    RequestMemo* memo = nullptr;     // the initial request's only
    const void* exported = nullptr;  // this request_rec's own (kernel.cpp)
};

// This request_rec's state (its request_config slot), made on first use in its pool.
RequestState& request_state(request_rec* r);

// The first request of the chain; subrequests' and redirects' pools live inside its pool.
request_rec* initial_request(request_rec* r) noexcept;

// The value of header `name` as the trusted front end sent it for this request chain, every
// line joined; null when it sent none, when `name` is null, or when no front end sent the request.
const char* received_header(request_rec* r, const char* name) noexcept;

}  // namespace arrcert::httpd
