#include "request_verdict.h"

#include <apr_strings.h>
#include <http_log.h>

#include <string>
#include <deque>

#include "arrcert/export.h"
#include "pool_owned.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

// What a verdict depends on, besides the header value.
struct Judged {  // NOLINT(cppcoreguidelines-pro-type-member-init): built whole by request_verdict
    std::string header_name;
    std::string header_value;
    bool header_present;
    const void* thumbprints;
    const void* issuers;
    const void* subjects;
    const void* trust;
    const void* crl_source;
    std::uint64_t crl_generation;
    RevocationPolicy revocation;
    int depth;
    std::size_t max_header_length;
    std::shared_ptr<const Verdict> verdict;

    [[nodiscard]] bool same_inputs(const Judged& other) const
    {
        return thumbprints == other.thumbprints && issuers == other.issuers && subjects == other.subjects &&
               trust == other.trust && crl_source == other.crl_source && crl_generation == other.crl_generation &&
               revocation.check == other.revocation.check &&
               revocation.no_crl_for_cert_ok == other.revocation.no_crl_for_cert_ok && depth == other.depth &&
               max_header_length == other.max_header_length && header_present == other.header_present &&
               strcasecmp(header_name.c_str(), other.header_name.c_str()) == 0;
    }
};

struct RequestVerdicts {
    std::deque<Judged> judged;  // almost always one; a deque keeps references stable
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

RequestVerdicts& verdicts_of(request_rec* r)
{
    request_rec* initial = initial_request(r);
    auto* verdicts = static_cast<RequestVerdicts*>(ap_get_module_config(initial->request_config, &arrcert_module));
    if (verdicts == nullptr) {
        verdicts = make_pool_owned<RequestVerdicts>(initial->pool);
        ap_set_module_config(initial->request_config, &arrcert_module, verdicts);
    }
    return *verdicts;
}

}  // namespace

std::int64_t request_seconds(const request_rec* r) noexcept
{
    return static_cast<std::int64_t>(apr_time_sec(r->request_time));
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

const Verdict& request_verdict(request_rec* r, const DirConfig& config)
{
    const char* header_name = config.effective_header_name();
    // Every line of the header, joined with ", " as httpd joins repeated lines: never the first.
    // From a peer that is not a trusted front end there is no certificate, whatever it sent.
    const char* value = peer_is_trusted(r) ? apr_table_getm(r->pool, r->headers_in, header_name) : nullptr;
    const std::string_view header_value = value != nullptr ? value : "";
    const std::shared_ptr<const CrlSnapshot> crls = current_crls(r, config);
    const RuleSet rules = config.rules(crls.get());

    Judged wanted{header_name,
                  {},  // the value is copied only when a new verdict is kept
                  value != nullptr,
                  rules.thumbprints.data(),
                  rules.issuers.data(),
                  rules.subjects.data(),
                  rules.chain.trust,
                  config.crls,
                  crls ? crls->generation() : 0,
                  rules.chain.revocation,
                  rules.chain.depth,
                  config.effective_max_header_length(),
                  {}};
    RequestVerdicts& verdicts = verdicts_of(r);
    for (const Judged& judged : verdicts.judged) {
        if (judged.header_value == header_value && judged.same_inputs(wanted)) {
            return *judged.verdict;
        }
    }

    const std::int64_t now = request_seconds(r);
    VerdictCache* cache = server_config(r->server).cache;
    CacheKey key{};
    if (cache != nullptr) {
        key = cache_key(header_value, rules_fingerprint(rules, wanted.max_header_length, wanted.trust,
                                                        wanted.crl_source, wanted.crl_generation));
        wanted.verdict = cache->find(key, now);
    }
    const bool cached = wanted.verdict != nullptr;
    if (!cached) {
        wanted.verdict = std::make_shared<const Verdict>(judge(header_value, rules, now, wanted.max_header_length));
        if (cache != nullptr) {
            cache->insert(key, wanted.verdict, now);
        }
    }
    const Verdict& verdict = *wanted.verdict;
    if (APLOGrdebug(r)) {
        const std::string outcome = verdict.kind == Verdict::Kind::absent ? std::string("no certificate")
                                    : verdict.failed_rule == Rule::none   ? std::string("rules passed")
                                                                          : "refused: " + verdict.reason;
        ap_log_rerror(
            APLOG_MARK, APLOG_DEBUG, 0, r, "judged %s (%" APR_SIZE_T_FMT " bytes, format %s, thumbprint %s%s): %s",
            header_name, static_cast<apr_size_t>(header_value.size()),
            verdict.format.empty() ? "-" : verdict.format.data(),
            verdict.sha1_hex.empty() ? "-" : verdict.sha1_hex.c_str(), cached ? ", from cache" : "", outcome.c_str());
    }
    wanted.header_value = header_value;
    verdicts.judged.push_back(std::move(wanted));
    return *verdicts.judged.back().verdict;
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
