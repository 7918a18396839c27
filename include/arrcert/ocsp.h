// OCSP (RFC 6960) for the client's certificate and its intermediates, with mod_ssl's directives'
// meanings: responses verified by OpenSSL's OCSP functions (again by each process that reads them
// from the share), answers kept until nextUpdate and asked for again before it, one query per
// certificate at a time for all the processes of a server, and a responder that is down left
// alone for a pause that grows.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <cstdint>
#include <limits>
#include <optional>
#include <string_view>
#include <mutex>
#include <type_traits>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#include "arrcert/http_fetch.h"
#include "arrcert/openssl_ptr.h"
#include "arrcert/refresh_queue.h"
#include "arrcert/revocation_share.h"
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

// One per process, shared by its threads; the processes of one server meet in a RevocationShare.
class OcspClient {
public:
    // `share` (null: this process alone) outlives the client; `refresh_percent` of an answer's
    // window passed, the answer of a certificate seen since is asked for again in the background.
    explicit OcspClient(RevocationShare* share = nullptr, int refresh_percent = default_refresh_percent);
    OcspClient(const OcspClient&) = delete;
    OcspClient& operator=(const OcspClient&) = delete;
    OcspClient(OcspClient&&) = delete;
    OcspClient& operator=(OcspClient&&) = delete;
    ~OcspClient();  // stops the background queries

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
        std::int64_t obtained = 0;      // when it was asked for (by whichever process)
    };
    // What one certificate's query needs, kept for its background refresh.
    struct Subject {
        X509Ptr certificate;
        X509Ptr issuer;
        X509StorePtr store;
        OcspPolicy policy;
        std::string url;
        std::string name;  // in the share
    };
    // A query: its answer, and the response's bytes when it answered (good or revoked).
    struct Asked {
        Answer answer;
        std::string response;
    };
    static Asked ask(const Subject& subject, std::int64_t now);
    // A response read as an answer about the subject's certificate. `request`: the nonce to match.
    static Answer judge(std::string_view response, const Subject& subject, std::int64_t now, OCSP_REQUEST* request);
    // The share's answer, the fleet's, else the responder's (under the share's lock). Nothing when
    // `background` and another process is at it.
    std::optional<Answer> obtain(const Subject& subject, std::int64_t now, bool background);
    [[nodiscard]] std::int64_t refresh_at(const Answer& answer) const noexcept;
    [[nodiscard]] static bool answered(const Answer& answer) noexcept;
    [[nodiscard]] static bool still_valid(const Answer& answer, const OcspPolicy& policy, std::int64_t now);
    static std::chrono::steady_clock::duration busy_threshold(const OcspPolicy& policy);
    void release(const std::string& url);
    void keep(const std::string& key, const Answer& answer, const OcspPolicy& policy,
              std::int64_t now);                                                      // under mutex_
    void plan(const std::string& key, const Subject& subject, const Answer& answer);  // under mutex_
    void refresh_in_background(const std::string& key);
    void report(const std::string& url, const Answer& answer, std::int64_t ended, int failures) const;

    // The queries in flight to one responder: since when some are, and when one last ended.
    struct Busy {
        int queries = 0;
        std::chrono::steady_clock::time_point since;
        std::chrono::steady_clock::time_point answered;
    };

    RevocationShare own_share_;
    RevocationShare* share_;
    int refresh_percent_;
    std::mutex mutex_;
    std::condition_variable answered_;
    std::unordered_map<std::string, Answer> answers_;  // by certificate ID, responder and policy
    std::unordered_set<std::string> in_flight_;
    std::unordered_map<std::string, std::int64_t> down_until_;  // responder URL: back-off end
    std::unordered_map<std::string, Busy> busy_;                // responder URL
    std::unordered_map<std::string, Subject> planned_;          // by answer key: background refreshes
    std::function<void(const SourceEvent&)> report_;
    NoticeLog notice_;
    RefreshQueue refreshes_;  // last: stopped first
};

}  // namespace arrcert
