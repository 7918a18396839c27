#include "request_state.h"

#include <http_config.h>

#include <new>
#include <strings.h>
#include <utility>

#include "module.h"
#include "request_verdict.h"
#include "runtime.h"

namespace arrcert::httpd {

RequestState& RequestState::of(request_rec* r)
{
    auto* state = static_cast<RequestState*>(ap_get_module_config(r->request_config, &arrcert_module));
    if (state == nullptr) {
        state = new (apr_pcalloc(r->pool, sizeof(RequestState))) RequestState();
        state->initial_ = initial_request(r);
        ap_set_module_config(r->request_config, &arrcert_module, state);
    }
    return *state;
}

RequestState& RequestState::of_chain(request_rec* r)
{
    return of(initial_request(r));
}

RequestMemo& RequestState::memo()
{
    if (RequestState& chain = of(initial_); &chain != this) {
        return chain.memo();
    }
    if (memo_ == nullptr) {
        memo_ = make_request_memo(initial_);
    }
    return *memo_;
}

bool RequestState::first_count() noexcept
{
    if (RequestState& chain = of(initial_); &chain != this) {
        return chain.first_count();
    }
    return !std::exchange(counted_, true);
}

ConnectionState& ConnectionState::of(conn_rec* c)
{
    auto* state = static_cast<ConnectionState*>(ap_get_module_config(c->conn_config, &arrcert_module));
    if (state == nullptr) {
        state = new (apr_pcalloc(c->pool, sizeof(ConnectionState))) ConnectionState();
        ap_set_module_config(c->conn_config, &arrcert_module, state);
    }
    return *state;
}

StandardTable& standard_table_of(conn_rec* c)
{
    ConnectionState& state = ConnectionState::of(c);
    if (state.standard == nullptr) {
        apr_pool_t* pool = nullptr;
        if (apr_pool_create(&pool, c->pool) != APR_SUCCESS) {
            throw std::bad_alloc();
        }
        state.standard = new (apr_palloc(c->pool, sizeof(StandardTable))) StandardTable(pool);
    }
    return *state.standard;
}

request_rec* initial_request(request_rec* r) noexcept
{
    while (r->main != nullptr || r->prev != nullptr) {
        r = r->main != nullptr ? r->main : r->prev;
    }
    return r;
}

const char* received_header(request_rec* r, const char* name) noexcept
{
    if (name == nullptr) {
        return nullptr;
    }
    const request_rec* initial = initial_request(r);
    const auto* state =
        static_cast<const RequestState*>(ap_get_module_config(initial->request_config, &arrcert_module));
    if (state == nullptr || state->received == nullptr) {
        return nullptr;
    }
    const std::vector<std::string>& names = runtime_of(r->server).certificate_headers;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (strcasecmp(names[i].c_str(), name) == 0) {
            return state->received[i];
        }
    }
    return nullptr;
}

}  // namespace arrcert::httpd
