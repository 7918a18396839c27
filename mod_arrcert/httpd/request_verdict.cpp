#include "request_verdict.h"

#include <apr_strings.h>
#include <http_log.h>

#include <algorithm>
#include <array>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "arrcert/export.h"
#include "directives.h"
#include "front_end_verdict.h"
#include "request_state.h"
#include "runtime.h"
#include "verdict_tiers.h"
#include "log_ids.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {

// The first tier: what this request chain already judged. The values live in the initial
// request's pool: a subrequest's are copied there, since its header strings end with it.
class RequestMemo final : public VerdictTier {
public:
    [[nodiscard]] const char* name() const noexcept override { return "this request"; }

    std::optional<FoundVerdict> find(const VerdictKey& key, std::int64_t /*now*/, request_rec* /*r*/) override
    {
        if (first_.verdict != nullptr && JudgedFrom{first_.values, first_.fingerprint} == key.from()) {
            return FoundVerdict{first_.verdict, 0};
        }
        for (const Judged& judged : more_) {
            if (JudgedFrom{judged.values, judged.fingerprint} == key.from()) {
                return FoundVerdict{judged.verdict, 0};
            }
        }
        return std::nullopt;
    }

    void store(const VerdictKey& key, const FoundVerdict& found, std::int64_t /*now*/, request_rec* /*r*/) override
    {
        const std::string_view values = key.from().values;
        // The header strings the front end sent live as long as the initial request's pool;
        // others (a value joined with its chain) are copied there.
        const bool in_place = is_received(values.data());
        const std::string_view fingerprint = key.from().fingerprint;
        Judged judged{
            in_place ? values
                     : std::string_view(apr_pstrmemdup(initial_->pool, values.data(), values.size()), values.size()),
            std::string_view(apr_pstrmemdup(initial_->pool, fingerprint.data(), fingerprint.size()),
                             fingerprint.size()),
            found.verdict};
        if (first_.verdict == nullptr) {
            first_ = std::move(judged);
        } else {
            more_.push_back(std::move(judged));
        }
    }

    // Nothing judged or found yet for this chain: a lookup would go on to the memory cache.
    [[nodiscard]] bool empty() const noexcept { return first_.verdict == nullptr; }

    // What the initial request last looked up: its access check and its fixups ask with the same
    // scope and the same header strings, which give the same verdict. Only for the initial
    // request, whose pool holds all of these until it ends: no address is reused meanwhile.
    struct Last {
        const Scope* scope = nullptr;
        const char* value = nullptr;
        const char* chain_value = nullptr;
        const Verdict* verdict = nullptr;

        [[nodiscard]] bool same(const Last& other) const noexcept
        {
            return verdict != nullptr && scope == other.scope && value == other.value &&
                   chain_value == other.chain_value;
        }
    };
    Last last;

    explicit RequestMemo(request_rec* initial) noexcept : initial_(initial) {}

private:
    [[nodiscard]] bool is_received(const char* text) const noexcept
    {
        const RequestState& chain = RequestState::of(initial_);
        const std::size_t count = runtime_of(initial_->server).certificate_headers.size();
        return chain.received != nullptr &&
               std::find(chain.received, chain.received + count, text) != chain.received + count;
    }

    struct Judged {
        std::string_view values;  // both in the initial request's pool
        std::string_view fingerprint;
        std::shared_ptr<const Verdict> verdict;  // callers hold references to *verdict: it never moves
    };
    request_rec* initial_ = nullptr;
    Judged first_;  // almost always the only one: no allocation for it
    std::vector<Judged> more_;
};

namespace {

apr_status_t destroy_memo(void* memo) noexcept
{
    static_cast<RequestMemo*>(memo)->~RequestMemo();
    return APR_SUCCESS;
}

}  // namespace

RequestMemo* make_request_memo(request_rec* initial)
{
    // In the pool it lives as long as (only its destructor runs at the end: it holds verdicts).
    auto* memo = new (apr_palloc(initial->pool, sizeof(RequestMemo))) RequestMemo(initial);
    apr_pool_cleanup_register(initial->pool, memo, destroy_memo, apr_pool_cleanup_null);
    return memo;
}

// The last verdict the memory cache gave on a connection (a front end's keep-alive connection
// mostly carries one client's requests): the next request with the same runtime, scope, CRLs and
// header bytes, before the entry's expiry, takes it without hashing the header and locking a
// shard, counted as the memory-cache hit it stands for. The same key gives the same fingerprint.
class ConnectionVerdict {
public:
    const Runtime* runtime = nullptr;
    std::uint64_t scope = 0;                  // Scope::identity: a request's merged scope may reuse an address
    std::shared_ptr<const CrlSnapshot> crls;  // held, so that its address names only it
    std::string values;
    std::string fingerprint;
    FoundVerdict found;
    MemoryTier* memory = nullptr;  // the runtime's, which counts the hit

    [[nodiscard]] bool answers(const Runtime& asked_runtime, const Scope& asked_scope, const CrlSnapshot* asked_crls,
                               std::string_view asked_values, std::int64_t now) const noexcept
    {
        return found.verdict != nullptr && runtime == &asked_runtime && scope == asked_scope.identity &&
               crls.get() == asked_crls && now <= found.expires && values == asked_values;
    }
};

namespace {

apr_status_t destroy_connection_verdict(void* verdict) noexcept
{
    static_cast<ConnectionVerdict*>(verdict)->~ConnectionVerdict();
    return APR_SUCCESS;
}

ConnectionVerdict& connection_verdict(conn_rec* c)
{
    ConnectionState& state = ConnectionState::of(c);
    if (state.verdict == nullptr) {
        state.verdict = new (apr_palloc(c->pool, sizeof(ConnectionVerdict))) ConnectionVerdict();
        apr_pool_cleanup_register(c->pool, state.verdict, destroy_connection_verdict, apr_pool_cleanup_null);
    }
    return *state.verdict;
}

// The CRLs in force, logging a reload or a failed one (only the request that did it sees it).
std::shared_ptr<const CrlSnapshot> current_crls(request_rec* r, const Scope& scope)
{
    if (scope.crls == nullptr) {
        return nullptr;
    }
    CrlSource::Current current = scope.crls->current(request_seconds(r), scope.crl_refresh);
    if (!current.event.empty()) {
        ap_log_rerror(APLOG_MARK, current.event_is_error ? APLOG_ERR : APLOG_NOTICE, 0, r, ARRCERT_LOGNO(0301) "%s",
                      current.event.c_str());
        StatusArea& status = *runtime_of(r->server).status;
        status.count(current.event_is_error ? Counter::crl_reload_failures : Counter::crl_reloads);
        const std::string name = scope.crls->description();
        const std::int64_t next_update = current.snapshot != nullptr ? current.snapshot->next_update() : -1;
        status.record_source({SourceKind::crl_file, name, !current.event_is_error, request_seconds(r), next_update,
                              current.event_is_error ? std::string_view(current.event) : std::string_view()});
    }
    return std::move(current.snapshot);
}

void log_judgement(request_rec* r, const Scope& scope, std::size_t size, const Verdict& verdict, const char* source)
{
    std::string outcome = verdict.kind == Verdict::Kind::absent ? std::string("no certificate")
                          : verdict.failed_rule == Rule::none   ? std::string("rules passed")
                                                                : "refused: " + verdict.reason;
    if (!verdict.detail.empty()) {  // the client's text, escaped
        outcome.append(": ").append(ap_escape_logitem(r->pool, verdict.detail.c_str()));
    }
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                  "judged %s (%" APR_SIZE_T_FMT " bytes, format %s, thumbprint %s%s%s): %s", scope.headers.name,
                  static_cast<apr_size_t>(size), verdict.format.empty() ? "-" : verdict.format.data(),
                  verdict.sha1_hex.empty() ? "-" : verdict.sha1_hex.c_str(), *source != '\0' ? ", from " : "", source,
                  outcome.c_str());
}

struct Lookup {
    FoundVerdict verdict;
    VerdictTier* tier = nullptr;  // where it was found; null: judged now
};

// The tiers in order; a verdict found in one is stored in the tiers before it, a judged one in all.
template <class Judge>
Lookup find_or_judge(std::span<VerdictTier* const> tiers, const VerdictKey& key, std::int64_t now, request_rec* r,
                     Judge judge_now)
{
    for (std::size_t hit = 0; hit < tiers.size(); ++hit) {
        if (std::optional<FoundVerdict> found = tiers[hit]->find(key, now, r); found) {
            for (std::size_t tier = 0; tier < hit; ++tier) {
                tiers[tier]->store(key, *found, now, r);
            }
            return {std::move(*found), tiers[hit]};
        }
    }
    FoundVerdict judged = judge_now();
    for (VerdictTier* tier : tiers) {
        tier->store(key, judged, now, r);
    }
    return {std::move(judged), nullptr};
}

}  // namespace

std::int64_t request_seconds(const request_rec* r) noexcept
{
    return static_cast<std::int64_t>(apr_time_sec(r->request_time));
}

namespace {

// The verdict on the certificate the front end sent: from the memo, the caches or judged now.
const Verdict& judged_verdict(request_rec* r, const Scope& scope)
{
    // Only what a trusted front end sent, as it arrived: never a value httpd's modules (mod_headers,
    // a tenant's .htaccess) set since.
    const char* value = received_header(r, scope.headers.name);
    const char* chain_value = received_header(r, scope.headers.chain_name);
    RequestMemo& memo = RequestState::of_chain(r).memo();
    const bool is_initial = initial_request(r) == r;
    const RequestMemo::Last asked{&scope, value, chain_value, memo.last.verdict};
    if (is_initial && memo.last.same(asked)) {
        return *memo.last.verdict;
    }

    const std::string_view certificate = value != nullptr ? value : "";
    const std::string_view chain = chain_value != nullptr ? chain_value : "";
    std::shared_ptr<const CrlSnapshot> crls = current_crls(r, scope);
    const Runtime& runtime = runtime_of(r->server);
    // A header line cannot hold a newline: it separates the two values unambiguously. Without a
    // chain header the value is used in place (it is about 1.3 KB; no copy per request).
    std::string joined;
    if (scope.headers.chain_name != nullptr) {
        joined.reserve(certificate.size() + 1 + chain.size());
        joined.append(certificate).append("\n").append(chain);
    }
    const std::string_view values = joined.empty() ? certificate : std::string_view(joined);
    const std::int64_t now = request_seconds(r);
    ConnectionVerdict& on_connection = connection_verdict(r->connection);
    if (memo.empty() && on_connection.answers(runtime, scope, crls.get(), values, now)) {
        on_connection.memory->count_hit();
        const VerdictKey key({values, on_connection.fingerprint}, &runtime.sha256);
        memo.store(key, on_connection.found, now, r);
        const Verdict& verdict = *on_connection.found.verdict;
        if (APLOGrdebug(r)) {
            log_judgement(r, scope, values.size(), verdict, on_connection.memory->name());
        }
        if (is_initial) {
            memo.last = {&scope, value, chain_value, &verdict};
        }
        return verdict;
    }
    const RuleSet rules = scope.rules(crls.get(), {runtime.crl_fetcher.get(), runtime.ocsp_client.get()});
    std::array<char, 512> buffer;  // NOLINT(cppcoreguidelines-pro-type-member-init): written before it is read
    std::string spill;
    const std::string_view fingerprint = scope.verdict_fingerprint(rules, buffer, spill);
    const VerdictKey key({values, fingerprint}, &runtime.sha256);

    // This request's memo, then the runtime's caches: no allocation on the request path.
    std::array<VerdictTier*, 1 + Runtime::max_tiers> tiers{&memo};
    std::size_t count = 1;
    for (const auto& tier : runtime.tiers) {
        tiers.at(count++) = tier.get();
    }
    const Lookup found = find_or_judge(std::span<VerdictTier* const>(tiers.data(), count), key, now, r, [&] {
        auto judged = std::make_shared<const Verdict>(
            judge(decode_request(certificate, chain, scope.headers, scope.max_header_length, scope.xfcc_element), rules,
                  now));
        return FoundVerdict{judged, cache_expiry(*judged, now, runtime.cache_timeout)};
    });
    if (found.tier == nullptr && !found.verdict.verdict->warning.empty()) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r,
                      ARRCERT_LOGNO(0302) "let through under soft_fail: %s (thumbprint %s)",
                      found.verdict.verdict->warning.c_str(), found.verdict.verdict->sha1_hex.c_str());
    }
    if (APLOGrdebug(r) && found.tier != &memo) {  // not again for what this request already judged
        log_judgement(r, scope, key.from().values.size(), *found.verdict.verdict,
                      found.tier != nullptr ? found.tier->name() : "");
    }
    if (auto* memory = dynamic_cast<MemoryTier*>(found.tier); memory != nullptr) {
        on_connection.runtime = &runtime;
        on_connection.scope = scope.identity;
        on_connection.crls = std::move(crls);
        on_connection.values.assign(values);
        on_connection.fingerprint.assign(fingerprint);
        on_connection.found = found.verdict;
        on_connection.memory = memory;
    }
    if (is_initial) {
        memo.last = {&scope, value, chain_value, found.verdict.verdict.get()};
    }
    return *found.verdict.verdict;  // the memo holds it for the rest of the request
}

}  // namespace

const Verdict& request_verdict(request_rec* r, const Scope& scope)
{
    // The front end's own verdict first: what it did not verify is not even decoded.
    if (const Verdict* refused = front_end_refusal(r, scope); refused != nullptr) {
        return *refused;
    }
    const Verdict& verdict = judged_verdict(r, scope);
    const Verdict* mismatch = fingerprint_refusal(r, scope, verdict);
    return mismatch != nullptr ? *mismatch : verdict;
}

RequestCertificate request_certificate(request_rec* r)
{
    return request_certificate(r, scope_of(r));
}

RequestCertificate request_certificate(request_rec* r, const Scope& scope)
{
    const Verdict& verdict = request_verdict(r, scope);
    return {verdict, decide(verdict, request_seconds(r), scope.clock_skew)};
}

std::optional<std::string> request_variable(request_rec* r, std::string_view name)
{
    return request_variable(r, scope_of(r), name);
}

std::optional<std::string> request_variable(request_rec* r, const Scope& scope, std::string_view name)
{
    const RequestCertificate certificate = request_certificate(r, scope);
    return find_variable(certificate.verdict, certificate.decision, request_seconds(r), name);
}

}  // namespace arrcert::httpd
