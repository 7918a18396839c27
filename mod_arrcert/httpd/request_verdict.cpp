#include "request_verdict.h"

#include <apr_strings.h>
#include <http_log.h>

#include <string>
#include <deque>

#include "pool_owned.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

struct Judged {
    std::string header_name;
    std::string header_value;
    bool header_present;
    const void* thumbprints;
    const void* issuers;
    const void* subjects;
    std::size_t max_header_length;
    Verdict verdict;
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

const Verdict& request_verdict(request_rec* r, const DirConfig& config)
{
    const char* header_name = config.effective_header_name();
    // Every line of the header, joined with ", " as httpd joins repeated lines: never the first.
    const char* value = apr_table_getm(r->pool, r->headers_in, header_name);
    const std::string_view header_value = value != nullptr ? value : "";
    const RuleSet rules = config.rules();
    const std::size_t max_length = config.effective_max_header_length();

    RequestVerdicts& verdicts = verdicts_of(r);
    for (const Judged& judged : verdicts.judged) {
        if (judged.thumbprints == rules.thumbprints.data() && judged.issuers == rules.issuers.data() &&
            judged.subjects == rules.subjects.data() && judged.max_header_length == max_length &&
            judged.header_present == (value != nullptr) && judged.header_value == header_value &&
            strcasecmp(judged.header_name.c_str(), header_name) == 0) {
            return judged.verdict;
        }
    }

    Verdict verdict = judge(header_value, rules, max_length);
    if (APLOGrdebug(r)) {
        const std::string outcome = verdict.kind == Verdict::Kind::absent ? std::string("no certificate")
                                    : verdict.failed_rule == Rule::none   ? std::string("rules passed")
                                                                          : "refused: " + verdict.reason;
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "judged %s (%" APR_SIZE_T_FMT " bytes, format %s, thumbprint %s): %s", header_name,
                      static_cast<apr_size_t>(header_value.size()),
                      verdict.format.empty() ? "-" : verdict.format.data(),
                      verdict.sha1_hex.empty() ? "-" : verdict.sha1_hex.c_str(), outcome.c_str());
    }
    verdicts.judged.push_back({header_name, std::string(header_value), value != nullptr, rules.thumbprints.data(),
                               rules.issuers.data(), rules.subjects.data(), max_length, std::move(verdict)});
    return verdicts.judged.back().verdict;
}

}  // namespace arrcert::httpd
