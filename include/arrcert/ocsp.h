// OCSP (RFC 6960) for the client's certificate and its intermediates, with mod_ssl's directives'
// meanings: responses verified by OpenSSL's OCSP functions, answers kept until nextUpdate, one
// query per certificate at a time, and a responder that is down left alone for a while.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <limits>
#include <mutex>
#include <type_traits>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <openssl/x509.h>

#include "arrcert/http_fetch.h"
#include "arrcert/source_event.h"

namespace arrcert {

enum class OcspMode { off, leaf, on };

// Plain values and pointers into the configuration: a scope holds it by value.
struct OcspPolicy {
    OcspMode mode = OcspMode::off;
    bool no_ocsp_for_cert_ok = false;         // a certificate that names no responder passes
    bool soft_fail = false;                   // an unreachable responder lets the request through, with a warning
    const char* default_responder = nullptr;  // null: none
    bool override_responder = false;          // the default even where the certificate names one
    int timeout_seconds = 10;
    std::int64_t max_age = -1;  // seconds since thisUpdate; -1: no limit
    std::int64_t time_skew = 300;
    bool use_nonce = true;
    STACK_OF(X509) * responder_certs = nullptr;  // trusted as signers, besides the issuer
    const char* responder_certs_identity = "";   // SHA-256 of them, for the rules' fingerprint
};
static_assert(std::is_trivially_destructible_v<OcspPolicy>);

inline constexpr std::int64_t ocsp_backoff_seconds = 10;
inline constexpr std::size_t ocsp_max_response_bytes = std::size_t{64} * 1024;

struct OcspStatus {
    enum class Kind { good, revoked, invalid, unreachable, no_responder };
    Kind kind = Kind::invalid;
    std::string reason;                                                   // fixed text for refusals and warnings
    std::int64_t valid_until = std::numeric_limits<std::int64_t>::max();  // how long a good answer holds
};

// One per process, shared by its threads.
class OcspClient {
public:
    // The status of `certificate`, issued by `issuer`, at `now`; `store` verifies the responder.
    OcspStatus check(X509* certificate, X509* issuer, X509_STORE* store, const OcspPolicy& policy, std::int64_t now);

    // The responder for a certificate as the policy chooses it; empty when none (or not http://).
    // A location with bytes outside RFC 3986 counts as none (and is put in `refused`, when given).
    static std::string responder_url(X509* certificate, const OcspPolicy& policy, std::string* refused = nullptr);

    // Before any check: where each query's end is reported (answered, or not usable), from any thread.
    void report_to(std::function<void(const SourceEvent&)> report);
    // Before any check: where a responder location left out is reported.
    void notice_to(NoticeLog notice);

private:
    struct Answer {
        OcspStatus status;
        std::int64_t this_update = 0;
        std::int64_t next_update = -1;  // -1: none
    };
    static Answer query(X509* certificate, X509* issuer, X509_STORE* store, const OcspPolicy& policy,
                        const std::string& url, std::int64_t now);
    [[nodiscard]] static bool still_valid(const Answer& answer, const OcspPolicy& policy, std::int64_t now);
    static std::chrono::steady_clock::duration busy_threshold(const OcspPolicy& policy);
    void release(const std::string& url);

    // The queries in flight to one responder: since when some are, and when one last ended.
    struct Busy {
        int queries = 0;
        std::chrono::steady_clock::time_point since;
        std::chrono::steady_clock::time_point answered;
    };

    std::mutex mutex_;
    std::condition_variable answered_;
    std::unordered_map<std::string, Answer> answers_;  // by certificate ID, responder and policy
    std::unordered_set<std::string> in_flight_;
    std::unordered_map<std::string, std::int64_t> down_until_;  // responder URL: back-off end
    std::unordered_map<std::string, Busy> busy_;                // responder URL
    std::function<void(const SourceEvent&)> report_;
    NoticeLog notice_;
};

}  // namespace arrcert
