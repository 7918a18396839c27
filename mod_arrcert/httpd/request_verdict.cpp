#include "request_verdict.h"

#include <apr_strings.h>
#include <http_log.h>

#include <optional>
#include <string>
#include <vector>

#include "arrcert/export.h"
#include "pool_owned.h"
#include "runtime.h"
#include "trusted_proxy.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

// One verdict of this request, by what it was judged from. The values live in the initial
// request's pool: a subrequest's are copied there, since its header strings end with it.
struct Judged {
    std::string_view values;
    std::string fingerprint;
    std::shared_ptr<const Verdict> verdict;  // callers hold references to *verdict: it never moves

    [[nodiscard]] JudgedFrom from() const noexcept { return {values, fingerprint}; }
};

// What the initial request last looked up: its access check and its fixups ask with the same
// configuration object and the same header strings, which give the same verdict. Only for the
// initial request, whose pool holds all of these until it ends: no address is reused meanwhile.
struct LastLookup {
    const DirConfig* config = nullptr;
    const char* value = nullptr;
    const char* chain_value = nullptr;
    const Verdict* verdict = nullptr;
};

struct RequestVerdicts {
    std::vector<Judged> judged;  // almost always one
    LastLookup last;
};

// The first request of the chain; subrequests' and redirects' pools live inside its pool.
request_rec* initial_request(request_rec* r) noexcept
{
    while (true) {
        if (r->main != nullptr) {
            r = r->main;
        } else if (r->prev != nullptr) {
            r = r->prev;
        } else {
            return r;
        }
    }
}

RequestVerdicts& verdicts_of(request_rec* initial)
{
    auto* verdicts = static_cast<RequestVerdicts*>(ap_get_module_config(initial->request_config, &arrcert_module));
    if (verdicts == nullptr) {
        verdicts = make_pool_owned<RequestVerdicts>(initial->pool);
        ap_set_module_config(initial->request_config, &arrcert_module, verdicts);
    }
    return *verdicts;
}

// The CRLs in force, logging a reload or a failed one (only the request that did it sees it).
std::shared_ptr<const CrlSnapshot> current_crls(request_rec* r, const DirConfig& config)
{
    if (config.crls == nullptr) {
        return nullptr;
    }
    CrlSource::Current current = config.crls->current(request_seconds(r), config.effective_crl_refresh());
    if (!current.event.empty()) {
        ap_log_rerror(APLOG_MARK, current.event_is_error ? APLOG_ERR : APLOG_NOTICE, 0, r, "%s", current.event.c_str());
    }
    return std::move(current.snapshot);
}

// Every line of a header, joined with ", " as httpd joins repeated lines: never only the first.
const char* header_lines(request_rec* r, const char* name)
{
    return name != nullptr ? apr_table_getm(r->pool, r->headers_in, name) : nullptr;
}

DecodedHeader decode(std::string_view value, std::string_view chain_value, const HeaderSettings& headers,
                     const DecodeOptions& options)
{
    DecodedHeader decoded = decode_header(value, options);
    if (decoded.status == DecodedHeader::Status::ok && headers.chain_name != nullptr) {
        const DecodedHeader chain = decode_chain_header(chain_value, headers.chain_format, options.max_length);
        if (chain.status == DecodedHeader::Status::malformed) {
            decoded.status = DecodedHeader::Status::malformed;
            decoded.chain.clear();
            decoded.reason = chain.reason;
        } else {
            append_chain(decoded, chain);
        }
    }
    return decoded;
}

}  // namespace

std::int64_t request_seconds(const request_rec* r) noexcept
{
    return static_cast<std::int64_t>(apr_time_sec(r->request_time));
}

const Verdict& request_verdict(request_rec* r, const DirConfig& config)
{
    const HeaderSettings headers = config.headers();
    const DecodeOptions options = config.decode_options();
    // From a peer that is not a trusted front end there is no certificate, whatever it sent.
    const bool trusted = peer_is_trusted(r);
    const char* value = trusted ? header_lines(r, headers.name) : nullptr;
    const char* chain_value = trusted ? header_lines(r, headers.chain_name) : nullptr;
    request_rec* initial = initial_request(r);
    const bool is_initial = initial == r;
    RequestVerdicts& verdicts = verdicts_of(initial);
    const LastLookup& last = verdicts.last;
    if (is_initial && last.verdict != nullptr && last.config == &config && last.value == value &&
        last.chain_value == chain_value) {
        return *last.verdict;
    }
    const auto remember = [&](const Verdict& verdict) -> const Verdict& {
        if (is_initial) {
            verdicts.last = {&config, value, chain_value, &verdict};
        }
        return verdict;
    };
    const std::string_view header_value = value != nullptr ? value : "";
    const std::string_view chain_header_value = chain_value != nullptr ? chain_value : "";
    const std::shared_ptr<const CrlSnapshot> crls = current_crls(r, config);
    const RuleSet rules = config.rules(crls.get());

    // A header line cannot hold a newline: it separates the two values unambiguously. Without a
    // chain header the value is used in place (it is about 1.3 KB; no copy per request).
    std::string joined;
    std::string_view values = header_value;
    if (headers.chain_name != nullptr) {
        joined.reserve(header_value.size() + 1 + chain_header_value.size());
        joined.append(header_value).append("\n").append(chain_header_value);
        values = joined;
    }
    std::string fingerprint = rules_fingerprint(rules, options);
    const JudgedFrom from{values, fingerprint};
    for (const Judged& judged : verdicts.judged) {
        if (judged.from() == from) {
            return remember(*judged.verdict);
        }
    }

    const Runtime& server = runtime_of(r->server);
    const std::int64_t now = request_seconds(r);
    std::shared_ptr<const Verdict> verdict;
    const char* source = "";
    if (server.cache != nullptr) {
        verdict = server.cache->find(from, now);
        source = ", from cache";
    }
    // Beyond this process, the key is a SHA-256 of both: computed only when the memory misses.
    std::optional<CacheKey> shared_key;
    if (verdict == nullptr && server.shared_cache != nullptr) {
        shared_key = cache_key(from, server.sha256 != nullptr ? server.sha256->get() : nullptr);
        if (std::optional<OpenedVerdict> shared = server.shared_cache->find(*shared_key, now, r); shared.has_value()) {
            verdict = std::move(shared->verdict);
            source = ", from shared cache";
            if (server.cache != nullptr) {
                server.cache->insert_until(from, verdict, shared->expires);
            }
        }
    }
    if (verdict == nullptr) {
        source = "";
        verdict = std::make_shared<const Verdict>(
            judge(decode(header_value, chain_header_value, headers, options), rules, now));
        if (server.cache != nullptr) {
            server.cache->insert(from, verdict, now);
        }
        if (shared_key.has_value()) {
            server.shared_cache->store(*shared_key, *verdict, now, r->pool);
        }
    }
    if (APLOGrdebug(r)) {
        std::string outcome = verdict->kind == Verdict::Kind::absent ? std::string("no certificate")
                              : verdict->failed_rule == Rule::none   ? std::string("rules passed")
                                                                     : "refused: " + verdict->reason;
        if (!verdict->detail.empty()) {  // the client's text, escaped
            outcome.append(": ").append(ap_escape_logitem(r->pool, verdict->detail.c_str()));
        }
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "judged %s (%" APR_SIZE_T_FMT " bytes, format %s, thumbprint %s%s): %s", headers.name,
                      static_cast<apr_size_t>(values.size()), verdict->format.empty() ? "-" : verdict->format.data(),
                      verdict->sha1_hex.empty() ? "-" : verdict->sha1_hex.c_str(), source, outcome.c_str());
    }
    // The initial request's own header strings live as long as its pool; others are copied there.
    const std::string_view kept =
        is_initial && joined.empty()
            ? values
            : std::string_view(apr_pstrmemdup(initial->pool, values.data(), values.size()), values.size());
    verdicts.judged.push_back({kept, std::move(fingerprint), std::move(verdict)});
    return remember(*verdicts.judged.back().verdict);
}

RequestCertificate request_certificate(request_rec* r)
{
    const DirConfig& config = dir_config(r);
    const Verdict& verdict = request_verdict(r, config);
    return {verdict, decide(verdict, request_seconds(r), config.effective_clock_skew())};
}

std::optional<std::string> request_variable(request_rec* r, std::string_view name)
{
    const RequestCertificate certificate = request_certificate(r);
    return find_variable(certificate.verdict, certificate.decision, request_seconds(r), name);
}

}  // namespace arrcert::httpd
