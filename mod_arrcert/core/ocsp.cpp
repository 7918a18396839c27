#include "arrcert/ocsp.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <optional>

#include "arrcert/certificate.h"
#include "arrcert/openssl_ptr.h"

namespace arrcert {
namespace {

using OcspRequestPtr = OpenSslPtr<OCSP_REQUEST, OCSP_REQUEST_free>;
using OcspResponsePtr = OpenSslPtr<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using OcspBasicPtr = OpenSslPtr<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using OcspCertIdPtr = OpenSslPtr<OCSP_CERTID, OCSP_CERTID_free>;

constexpr std::size_t max_answers = 10000;
// A good answer without nextUpdate or a maximum age is asked for again after this.
constexpr std::int64_t default_answer_seconds = 300;

OcspStatus status(OcspStatus::Kind kind, std::string reason)
{
    return {kind, std::move(reason)};
}

template <class T, class Write>
std::string der_of(const T* object, Write write)
{
    const int length = write(object, nullptr);
    if (length <= 0) {
        ERR_clear_error();
        return {};
    }
    std::string der(static_cast<std::size_t>(length), '\0');
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    write(object, &out);
    return der;
}

}  // namespace

std::string OcspClient::responder_url(X509* certificate, const OcspPolicy& policy, std::string* refused)
{
    const std::string fallback = policy.default_responder != nullptr ? policy.default_responder : "";
    if (policy.override_responder && !fallback.empty()) {
        return is_fetchable_url(fallback) ? fallback : std::string();
    }
    // The first http:// OCSP location of Authority Information Access, else the default: a
    // location the module cannot ask (https://, ldap://) does not leave the certificate unchecked.
    std::string url;
    STACK_OF(OPENSSL_STRING)* locations = X509_get1_ocsp(certificate);
    for (int i = 0; locations != nullptr && i < sk_OPENSSL_STRING_num(locations) && url.empty(); ++i) {
        const char* location = sk_OPENSSL_STRING_value(locations, i);
        if (is_fetchable_url(location)) {
            url = location;
        } else if (is_http_url(location) && refused != nullptr && refused->empty()) {
            *refused = location;
        }
    }
    X509_email_free(locations);
    ERR_clear_error();
    if (url.empty()) {
        url = fallback;
    }
    return is_fetchable_url(url) ? url : std::string();
}

OcspClient::OcspClient(RevocationShare* share, int refresh_percent)
    : share_(share != nullptr ? share : &own_share_),
      refresh_percent_(refresh_percent),
      refreshes_([this](const std::string& key) { refresh_in_background(key); })
{
}

OcspClient::~OcspClient() = default;

std::chrono::steady_clock::duration OcspClient::busy_threshold(const OcspPolicy& policy)
{
    // Longer than a responder that works takes; shorter than the timeout.
    return std::min<std::chrono::steady_clock::duration>(std::chrono::seconds(2),
                                                         std::chrono::seconds(policy.timeout_seconds) / 2);
}

void OcspClient::release(const std::string& url)
{
    // Under mutex_.
    Busy& busy = busy_[url];
    --busy.queries;
    busy.answered = std::chrono::steady_clock::now();
}

bool OcspClient::answered(const Answer& answer) noexcept
{
    return answer.status.kind == OcspStatus::Kind::good || answer.status.kind == OcspStatus::Kind::revoked;
}

bool OcspClient::still_valid(const Answer& answer, const OcspPolicy& policy, std::int64_t now)
{
    // As OCSP_check_validity: the maximum age counts without the skew.
    return now < answer.status.valid_until &&
           (policy.max_age < 0 || !answered(answer) || now <= answer.this_update + policy.max_age);
}

std::int64_t OcspClient::refresh_at(const Answer& answer) const noexcept
{
    // At the refresh percent of the answer's window; one obtained past that point, halfway to its end.
    const std::int64_t end = answer.status.valid_until;
    return next_refresh(answer.obtained, answer.this_update, end,
                        std::max<std::int64_t>(first_retry_seconds, (end - answer.obtained) / 2), refresh_percent_);
}

OcspClient::Answer OcspClient::judge(std::string_view response_bytes, const Subject& subject, std::int64_t now,
                                     OCSP_REQUEST* request)
{
    using Kind = OcspStatus::Kind;
    const OcspPolicy& policy = subject.policy;
    const auto* data = reinterpret_cast<const unsigned char*>(response_bytes.data());
    OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &data, static_cast<long>(response_bytes.size())));
    if (!response) {
        ERR_clear_error();
        return {status(Kind::invalid, "OCSP response malformed")};
    }
    switch (OCSP_response_status(response.get())) {
        case OCSP_RESPONSE_STATUS_SUCCESSFUL: break;
        case OCSP_RESPONSE_STATUS_TRYLATER:
        case OCSP_RESPONSE_STATUS_INTERNALERROR:
            return {status(Kind::unreachable, "OCSP responder unavailable (tryLater or internalError)")};
        default: return {status(Kind::invalid, "OCSP responder refused the request")};
    }
    OcspBasicPtr basic(OCSP_response_get1_basic(response.get()));
    if (!basic) {
        ERR_clear_error();
        return {status(Kind::invalid, "OCSP response malformed")};
    }
    if (request != nullptr && policy.use_nonce && OCSP_check_nonce(request, basic.get()) != 1) {
        ERR_clear_error();
        return {status(Kind::invalid, "OCSP response nonce does not match the request")};
    }
    // The issuer, whose path this verification already checked (a partial one included), and the
    // configured responder certificates sign as they are (OCSP_TRUSTOTHER); a delegated responder
    // carried in the response is verified up to the store, with id-kp-OCSPSigning.
    CertificateStackPtr signers(policy.responder_certs != nullptr ? sk_X509_dup(policy.responder_certs)
                                                                  : sk_X509_new_null());
    if (!signers || sk_X509_push(signers.get(), subject.issuer.get()) == 0) {
        throw std::bad_alloc();
    }
    if (OCSP_basic_verify(basic.get(), signers.get(), subject.store.get(), OCSP_TRUSTOTHER) != 1) {
        ERR_clear_error();
        return {status(Kind::invalid, "OCSP response signature not verified")};
    }
    OcspCertIdPtr id(OCSP_cert_to_id(nullptr, subject.certificate.get(), subject.issuer.get()));
    int cert_status = 0;
    int reason = 0;
    ASN1_GENERALIZEDTIME* revoked_at = nullptr;
    ASN1_GENERALIZEDTIME* this_update = nullptr;
    ASN1_GENERALIZEDTIME* next_update = nullptr;
    if (!id || OCSP_resp_find_status(basic.get(), id.get(), &cert_status, &reason, &revoked_at, &this_update,
                                     &next_update) != 1) {
        ERR_clear_error();
        return {status(Kind::invalid, "OCSP response does not cover the certificate")};
    }
    if (OCSP_check_validity(this_update, next_update, policy.time_skew, policy.max_age) != 1) {
        ERR_clear_error();
        return {status(Kind::invalid, "OCSP response is not current")};
    }
    Answer result;
    result.this_update = epoch_seconds_or(this_update, now);
    result.next_update = epoch_seconds_or(next_update, -1);
    result.obtained = now;
    std::int64_t until = result.next_update >= 0 ? result.next_update + policy.time_skew : now + default_answer_seconds;
    if (policy.max_age >= 0) {
        until = std::min(until, result.this_update + policy.max_age);
    }
    switch (cert_status) {
        case V_OCSP_CERTSTATUS_GOOD: result.status = {Kind::good, {}, until}; break;
        case V_OCSP_CERTSTATUS_REVOKED:
            result.status = {Kind::revoked, X509_verify_cert_error_string(X509_V_ERR_CERT_REVOKED), until};
            break;
        default: result.status = status(Kind::invalid, "OCSP responder does not know the certificate"); break;
    }
    return result;
}

OcspClient::Asked OcspClient::ask(const Subject& subject, std::int64_t now)
{
    using Kind = OcspStatus::Kind;
    OcspRequestPtr request(OCSP_REQUEST_new());
    OcspCertIdPtr id(OCSP_cert_to_id(nullptr, subject.certificate.get(), subject.issuer.get()));
    if (!request || !id) {
        ERR_clear_error();
        return {{status(Kind::invalid, "cannot make an OCSP request for the certificate")}, {}};
    }
    OCSP_CERTID* sent_id = OCSP_CERTID_dup(id.get());
    if (sent_id == nullptr || OCSP_request_add0_id(request.get(), sent_id) == nullptr ||
        (subject.policy.use_nonce && OCSP_request_add1_nonce(request.get(), nullptr, -1) != 1)) {
        OCSP_CERTID_free(sent_id);
        ERR_clear_error();
        throw std::bad_alloc();
    }
    const std::string body = der_of(request.get(), i2d_OCSP_REQUEST);
    const HttpLimits limits{subject.policy.timeout_seconds, ocsp_max_response_bytes};
    Result<std::string> response =
        http_post(subject.url, "application/ocsp-request", body, "application/ocsp-response", limits);
    if (!response) {
        return {{status(Kind::unreachable, "OCSP responder unreachable")}, {}};
    }
    Asked asked{judge(response.value(), subject, now, request.get()), {}};
    if (answered(asked.answer)) {
        asked.response = std::move(response.value());
    }
    return asked;
}

std::optional<OcspClient::Answer> OcspClient::obtain(const Subject& subject, std::int64_t now, bool background)
{
    using Kind = OcspStatus::Kind;
    // Another process's answer (re-verified here; its nonce was checked by the process that asked):
    // enough when current, unless a refresh is what is wanted.
    const auto from_share = [&](std::int64_t at) -> std::optional<Answer> {
        const std::optional<RevocationShare::Document> document = share_->read(subject.name, ocsp_max_response_bytes);
        if (!document) {
            return std::nullopt;
        }
        Answer answer = judge(document->bytes, subject, at, nullptr);
        answer.obtained = document->written;
        if (!answered(answer) || !still_valid(answer, subject.policy, at) || (background && refresh_at(answer) <= at) ||
            answer.this_update < share_->newest(subject.name)) {
            return std::nullopt;  // another certificate's, stale, or put back from the past
        }
        share_->saw(subject.name, answer.this_update);
        return answer;
    };
    if (!background) {
        if (std::optional<Answer> shared = from_share(now)) {
            return shared;
        }
    }
    const std::optional<RevocationShare::Lock> held = share_->lock(
        subject.name, background ? std::chrono::seconds(0) : std::chrono::seconds(subject.policy.timeout_seconds));
    now = std::max(now, static_cast<std::int64_t>(std::time(nullptr)));
    if (!held) {
        if (background) {
            return std::nullopt;
        }
        // Another process's query outlasted this request's wait: not a sign that the responder is
        // down, so other certificates are not paused for it.
        return Answer{{Kind::unreachable, "OCSP responder did not answer in time", now + 1}};
    }
    if (std::optional<Answer> shared = from_share(now)) {
        return shared;
    }
    if (const std::optional<std::string> bytes = share_->from_fleet(subject.name, now)) {
        Answer answer = judge(*bytes, subject, now, nullptr);
        if (answered(answer) && still_valid(answer, subject.policy, now) && (!background || refresh_at(answer) > now) &&
            answer.this_update >= share_->newest(subject.name)) {
            share_->write(subject.name, *bytes, now, 0);
            share_->saw(subject.name, answer.this_update);
            return answer;
        }
    }
    const std::string responder = RevocationShare::name_for("responder", subject.url);
    if (const RevocationShare::Attempts attempts = share_->attempts(responder); attempts.next_attempt > now) {
        return Answer{{Kind::unreachable, "OCSP responder unreachable (retried after a pause)", attempts.next_attempt}};
    }
    Asked asked = ask(subject, now);
    // From when the query ended, not when the request began: a query may take the whole timeout.
    const std::int64_t ended = std::max(now, static_cast<std::int64_t>(std::time(nullptr)));
    Answer& answer = asked.answer;
    answer.obtained = ended;
    int failures = 0;
    if (answer.status.kind == Kind::unreachable) {
        const RevocationShare::Attempts attempts = share_->failed(responder, ended);
        answer.status.valid_until = attempts.next_attempt;
        failures = attempts.failures;
    } else {
        share_->succeeded(responder);
        if (answer.status.kind == Kind::invalid) {
            answer.status.valid_until = ended + ocsp_backoff_seconds;  // not asked again at once
        } else {
            share_->write(subject.name, asked.response, ended, std::min(answer.status.valid_until, refresh_at(answer)));
            share_->saw(subject.name, answer.this_update);
        }
    }
    report(subject.url, answer, ended, failures);
    return answer;
}

void OcspClient::report(const std::string& url, const Answer& answer, std::int64_t ended, int failures) const
{
    if (report_) {
        const bool ok = answered(answer);
        report_({SourceKind::ocsp_responder, url, ok, ended, ok ? answer.next_update : -1,
                 ok ? std::string_view() : std::string_view(answer.status.reason), ok ? -1 : answer.status.valid_until,
                 failures});
    }
}

void OcspClient::keep(const std::string& key, const Answer& answer, const OcspPolicy& policy, std::int64_t now)
{
    if (answers_.size() >= max_answers) {
        std::erase_if(answers_, [&](const auto& entry) { return !still_valid(entry.second, policy, now); });
        if (answers_.size() >= max_answers) {
            answers_.clear();
        }
    }
    answers_[key] = answer;
}

void OcspClient::plan(const std::string& key, const Subject& subject, const Answer& answer)
{
    if (!answered(answer) || planned_.contains(key) || planned_.size() >= max_answers) {
        return;
    }
    Subject& kept = planned_[key];
    X509_up_ref(subject.certificate.get());
    kept.certificate.reset(subject.certificate.get());
    X509_up_ref(subject.issuer.get());
    kept.issuer.reset(subject.issuer.get());
    X509_STORE_up_ref(subject.store.get());
    kept.store.reset(subject.store.get());
    kept.policy = subject.policy;
    kept.url = subject.url;
    kept.name = subject.name;
    refreshes_.at(refresh_at(answer), key);
}

void OcspClient::refresh_in_background(const std::string& key)
{
    Subject subject;
    {
        const std::lock_guard lock(mutex_);
        const auto found = planned_.find(key);
        if (found == planned_.end() || in_flight_.contains(key)) {
            return;
        }
        subject = std::move(found->second);
        planned_.erase(found);
        in_flight_.insert(key);
    }
    const auto now = static_cast<std::int64_t>(std::time(nullptr));
    std::optional<Answer> answer;
    try {
        answer = obtain(subject, now, true);
    } catch (...) {
        answer.reset();
    }
    const std::lock_guard lock(mutex_);
    in_flight_.erase(key);
    if (answer && answered(*answer)) {
        keep(key, *answer, subject.policy, now);
    } else if (!answer && answers_.contains(key) && !planned_.contains(key)) {
        // Another process is asking: its answer is read from the share in a moment.
        planned_.emplace(key, std::move(subject));
        refreshes_.at(now + 2, key);
    }
    // A failed refresh leaves the answer in hand until it expires; a request then asks again.
    answered_.notify_all();
}

OcspStatus OcspClient::check(X509* certificate, X509* issuer, X509_STORE* store, const OcspPolicy& policy,
                             std::int64_t now)
{
    std::string refused;
    const std::string url = responder_url(certificate, policy, &refused);
    if (!refused.empty() && notice_) {
        notice_(
            "OCSP responder location not asked (characters outside RFC 3986), as if the certificate named "
            "none: " +
            url_for_log(refused));
    }
    if (url.empty()) {
        return status(OcspStatus::Kind::no_responder, "the certificate names no OCSP responder");
    }
    OcspCertIdPtr id(OCSP_cert_to_id(nullptr, certificate, issuer));
    if (!id) {
        ERR_clear_error();
        return status(OcspStatus::Kind::invalid, "cannot make an OCSP request for the certificate");
    }
    const std::string certificate_id = der_of(id.get(), i2d_OCSP_CERTID);
    const std::string key = certificate_id + '\n' + url + '\n' + (policy.use_nonce ? "n" : "-") +
                            std::to_string(policy.time_skew) + std::to_string(policy.max_age) +
                            policy.responder_certs_identity;
    Subject subject;
    X509_up_ref(certificate);
    subject.certificate.reset(certificate);
    X509_up_ref(issuer);
    subject.issuer.reset(issuer);
    X509_STORE_up_ref(store);
    subject.store.reset(store);
    subject.policy = policy;
    subject.url = url;
    // Apart by nonce policy: an answer taken without a nonce never serves a scope that wants one.
    subject.name = RevocationShare::name_for(policy.use_nonce ? "ocsp" : "ocsp-no-nonce", certificate_id + '\n' + url);

    std::unique_lock lock(mutex_);
    for (;;) {
        if (const auto found = answers_.find(key); found != answers_.end() && still_valid(found->second, policy, now)) {
            plan(key, subject, found->second);  // a certificate seen: its answer is kept current
            return found->second.status;
        }
        if (const auto down = down_until_.find(url); down != down_until_.end() && down->second > now) {
            return {OcspStatus::Kind::unreachable, "OCSP responder unreachable (retried after a pause)", down->second};
        }
        if (!in_flight_.contains(key)) {
            // A responder that has not answered another query for a while is not asked again meanwhile:
            // during an outage each request would otherwise hold a worker for the whole timeout.
            if (const auto busy = busy_.find(url);
                busy != busy_.end() && busy->second.queries > 0 &&
                std::chrono::steady_clock::now() - std::max(busy->second.since, busy->second.answered) >
                    busy_threshold(policy)) {
                return {OcspStatus::Kind::unreachable, "OCSP responder not answering", now + ocsp_backoff_seconds};
            }
            break;
        }
        // Another request asks for the same certificate: share its answer, waiting no longer than it may.
        if (answered_.wait_for(lock, std::chrono::seconds(policy.timeout_seconds)) == std::cv_status::timeout) {
            return {OcspStatus::Kind::unreachable, "OCSP responder did not answer in time", now + ocsp_backoff_seconds};
        }
    }
    in_flight_.insert(key);
    Busy& busy = busy_[url];
    if (busy.queries++ == 0) {
        busy.since = std::chrono::steady_clock::now();
    }
    lock.unlock();
    std::optional<Answer> obtained;
    try {
        obtained = obtain(subject, now, false);
    } catch (...) {
        lock.lock();
        in_flight_.erase(key);
        release(url);
        answered_.notify_all();
        throw;
    }
    lock.lock();
    in_flight_.erase(key);
    release(url);
    const Answer answer = obtained.value_or(Answer{});
    if (answer.status.kind == OcspStatus::Kind::unreachable) {
        down_until_[url] = answer.status.valid_until;
    } else {
        down_until_.erase(url);
        keep(key, answer, policy, now);
        plan(key, subject, answer);
    }
    answered_.notify_all();
    return answer.status;
}

void OcspClient::report_to(std::function<void(const SourceEvent&)> report)
{
    report_ = std::move(report);
}

void OcspClient::notice_to(NoticeLog notice)
{
    notice_ = std::move(notice);
}

}  // namespace arrcert
