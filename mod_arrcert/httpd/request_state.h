// What the module keeps for one request: the certificate headers as the trusted front end sent
// them (the only values ever judged), the verdicts the request chain already judged, whether the
// chain's decision is counted, and what this request_rec's environment holds of the module's.
#pragma once

#include <httpd.h>

#include "environment.h"

namespace arrcert::httpd {

class RequestMemo;  // request_verdict.cpp

class RequestState {
public:
    // This request_rec's state (its request_config slot), made on first use in its pool.
    static RequestState& of(request_rec* r);
    // The state of the request chain (a request, its subrequests and internal redirects): the
    // initial request's, whose pool outlives every other of the chain.
    static RequestState& of_chain(request_rec* r);

    // Of the chain: the value of each of the runtime's certificate_headers as the front end sent
    // it (null: absent), in that order; null when no trusted front end sent the request. Recorded
    // before any other module runs, so nothing httpd adds later is judged.
    const char** received = nullptr;

    // Of this request_rec: whether its section is known (map_to_storage or post_perdir_config ran
    // for it; mod_dir's fast redirect keeps the request's own state, which knows it already).
    bool scope_known = false;

    // Of the chain: what it already judged, made on first use.
    RequestMemo& memo();

    // Of the chain: true once, for the first decision where the module is on (the one the status
    // counters count).
    bool first_count() noexcept;

    // Of this request_rec: what its environment holds of the module's, if the last export was
    // made for this request_rec (mod_dir's fast redirect copies another's state into it).
    [[nodiscard]] const ExportRecord* exported(const request_rec* r) const noexcept
    {
        return exported_by_ == r ? exported_ : nullptr;
    }
    void set_exported(const request_rec* r, const ExportRecord& record) noexcept
    {
        exported_by_ = r;
        exported_ = &record;
    }

private:
    request_rec* initial_ = nullptr;
    RequestMemo* memo_ = nullptr;
    bool counted_ = false;
    const request_rec* exported_by_ = nullptr;
    const ExportRecord* exported_ = nullptr;
};

class ConnectionVerdict;  // request_verdict.cpp

// What the module keeps for one connection, in its pool (its conn_config slot), made on first use:
// a connection carries one request at a time.
struct ConnectionState {
    StandardTable* standard = nullptr;     // see StandardTable
    ConnectionVerdict* verdict = nullptr;  // the last memory-cache hit (request_verdict.cpp)

    static ConnectionState& of(conn_rec* c);
};

StandardTable& standard_table_of(conn_rec* c);

// The first request of the chain; subrequests' and redirects' pools live inside its pool.
request_rec* initial_request(request_rec* r) noexcept;

// The value of header `name` as the trusted front end sent it for this request chain, every
// line joined; null when it sent none, when `name` is null, or when no front end sent the request.
const char* received_header(request_rec* r, const char* name) noexcept;

}  // namespace arrcert::httpd
