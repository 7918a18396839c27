#include "front_end_verdict.h"

#include <apr_strings.h>
#include <http_log.h>

#include <optional>
#include <string>
#include <string_view>

#include "arrcert/front_end_check.h"
#include "log_ids.h"
#include "request_state.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

// A refusal that names no certificate: fixed, shared by every request.
Verdict refusal(std::string_view reason)
{
    Verdict verdict;
    verdict.kind = Verdict::Kind::malformed;
    verdict.failed_rule = Rule::header;
    verdict.reason = reason;
    return verdict;
}

const Verdict& refusal_for(FingerprintCheck check)
{
    static const Verdict mismatch = refusal(fingerprint_mismatch);
    static const Verdict absent = refusal(fingerprint_absent);
    static const Verdict malformed = refusal(fingerprint_malformed);
    return check == FingerprintCheck::mismatch ? mismatch : check == FingerprintCheck::absent ? absent : malformed;
}

std::optional<std::string_view> value_of(const char* value) noexcept
{
    return value != nullptr ? std::optional<std::string_view>(value) : std::nullopt;
}

// Once per request chain: every hook asks again for the same request.
bool first_time(request_rec* r, const char* note) noexcept
{
    request_rec* initial = initial_request(r);
    if (apr_table_get(initial->notes, note) != nullptr) {
        return false;
    }
    apr_table_setn(initial->notes, note, "1");
    return true;
}

}  // namespace

const Verdict* front_end_refusal(request_rec* r, const Scope& scope)
{
    if (scope.verdicts.empty() || !carries_certificate(value_of(received_header(r, scope.headers.name)))) {
        return nullptr;  // no certificate: nothing to have verified
    }
    for (const VerdictLine& line : scope.verdicts) {
        const char* sent = received_header(r, line.header.data());
        if (verdict_holds(value_of(sent), line.accepted)) {
            continue;
        }
        if (first_time(r, "arrcert-front-end-verdict")) {
            // The value is the front end's, but escaped all the same.
            ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                          ARRCERT_LOGNO(0120) "front end did not verify the certificate: %s is %s%s%s "
                                              "(ArrCertVerdictHeader)",
                          line.header.data(), sent != nullptr ? "\"" : "absent",
                          sent != nullptr ? ap_escape_logitem(r->pool, sent) : "", sent != nullptr ? "\"" : "");
        }
        static const Verdict unverified = refusal(front_end_unverified);
        return &unverified;
    }
    return nullptr;
}

const Verdict* fingerprint_refusal(request_rec* r, const Scope& scope, const Verdict& verdict)
{
    if (!scope.fingerprint || verdict.kind != Verdict::Kind::judged) {
        return nullptr;  // nothing compared, or no certificate to compare
    }
    const FingerprintSource& source = *scope.fingerprint;
    std::optional<std::string> xfcc_value;
    std::optional<std::string_view> sent;
    if (source.header.empty()) {
        // Envoy's Hash, in the element the certificate came from.
        const char* header = received_header(r, scope.headers.name);
        xfcc_value = header != nullptr ? xfcc_hash(header, scope.xfcc_element) : std::nullopt;
        sent = xfcc_value;
    } else {
        sent = value_of(received_header(r, source.header.data()));
    }
    const FingerprintCheck check = check_fingerprint(sent, source.algorithm, verdict.sha1, verdict.sha256);
    if (check == FingerprintCheck::match) {
        return nullptr;
    }
    if (first_time(r, "arrcert-front-end-fingerprint")) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      ARRCERT_LOGNO(0121) "%s: certificate %s, %s %s (ArrCertFingerprintHeader)",
                      fingerprint_reason(check).data(), verdict.sha1_hex.c_str(),
                      source.header.empty() ? "XFCC Hash in" : "header",
                      source.header.empty() ? scope.headers.name : source.header.data());
    }
    return &refusal_for(check);
}

}  // namespace arrcert::httpd
