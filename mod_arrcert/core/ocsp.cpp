#include "arrcert/ocsp.h"

#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <chrono>

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

std::int64_t seconds_of(const ASN1_GENERALIZEDTIME* time, std::int64_t otherwise)
{
    if (time == nullptr) {
        return otherwise;
    }
    const Result<std::int64_t> seconds = epoch_seconds(time);
    return seconds ? seconds.value() : otherwise;
}

}  // namespace

std::string OcspClient::responder_url(X509* certificate, const OcspPolicy& policy)
{
    std::string url;
    if (policy.override_responder && !policy.default_responder.empty()) {
        url = policy.default_responder;
    } else {
        // The first OCSP location of Authority Information Access, as mod_ssl takes it.
        STACK_OF(OPENSSL_STRING)* locations = X509_get1_ocsp(certificate);
        if (locations != nullptr && sk_OPENSSL_STRING_num(locations) > 0) {
            url = sk_OPENSSL_STRING_value(locations, 0);
        }
        X509_email_free(locations);
        ERR_clear_error();
        if (url.empty()) {
            url = policy.default_responder;
        }
    }
    return is_http_url(url) ? url : std::string();
}

bool OcspClient::still_valid(const Answer& answer, const OcspPolicy& policy, std::int64_t now)
{
    return now < answer.status.valid_until &&
           (policy.max_age < 0 || now <= answer.this_update + policy.max_age + policy.time_skew);
}

OcspClient::Answer OcspClient::query(X509* certificate, X509* issuer, X509_STORE* store, const OcspPolicy& policy,
                                     const std::string& url, std::int64_t now)
{
    using Kind = OcspStatus::Kind;
    OcspRequestPtr request(OCSP_REQUEST_new());
    OcspCertIdPtr id(OCSP_cert_to_id(nullptr, certificate, issuer));
    if (!request || !id) {
        ERR_clear_error();
        return {status(Kind::invalid, "cannot make an OCSP request for the certificate")};
    }
    OCSP_CERTID* sent_id = OCSP_CERTID_dup(id.get());
    if (sent_id == nullptr || OCSP_request_add0_id(request.get(), sent_id) == nullptr ||
        (policy.use_nonce && OCSP_request_add1_nonce(request.get(), nullptr, -1) != 1)) {
        OCSP_CERTID_free(sent_id);
        ERR_clear_error();
        throw std::bad_alloc();
    }
    const std::string body = der_of(request.get(), i2d_OCSP_REQUEST);
    const HttpLimits limits{policy.timeout_seconds, ocsp_max_response_bytes};
    const Result<std::string> answer =
        http_post(url, "application/ocsp-request", body, "application/ocsp-response", limits);
    if (!answer) {
        return {status(Kind::unreachable, "OCSP responder unreachable")};
    }
    const auto* data = reinterpret_cast<const unsigned char*>(answer.value().data());
    OcspResponsePtr response(d2i_OCSP_RESPONSE(nullptr, &data, static_cast<long>(answer.value().size())));
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
    if (policy.use_nonce && OCSP_check_nonce(request.get(), basic.get()) != 1) {
        ERR_clear_error();
        return {status(Kind::invalid, "OCSP response nonce does not match the request")};
    }
    // The issuer, already verified, may sign its own responses: it need not be in the store.
    CertificateStackPtr signers(policy.responder_certs != nullptr ? sk_X509_dup(policy.responder_certs)
                                                                  : sk_X509_new_null());
    if (!signers || sk_X509_push(signers.get(), issuer) == 0) {
        throw std::bad_alloc();
    }
    const unsigned long flags = policy.responder_certs != nullptr ? OCSP_TRUSTOTHER : 0;
    if (OCSP_basic_verify(basic.get(), signers.get(), store, flags) != 1) {
        ERR_clear_error();
        return {status(Kind::invalid, "OCSP response signature not verified")};
    }
    int cert_status = 0;
    int reason = 0;
    ASN1_GENERALIZEDTIME* revoked_at = nullptr;
    ASN1_GENERALIZEDTIME* this_update = nullptr;
    ASN1_GENERALIZEDTIME* next_update = nullptr;
    if (OCSP_resp_find_status(basic.get(), id.get(), &cert_status, &reason, &revoked_at, &this_update, &next_update) !=
        1) {
        ERR_clear_error();
        return {status(Kind::invalid, "OCSP response does not cover the certificate")};
    }
    if (OCSP_check_validity(this_update, next_update, policy.time_skew, policy.max_age) != 1) {
        ERR_clear_error();
        return {status(Kind::invalid, "OCSP response is not current")};
    }
    Answer result;
    result.this_update = seconds_of(this_update, now);
    result.next_update = seconds_of(next_update, -1);
    std::int64_t until = result.next_update >= 0 ? result.next_update + policy.time_skew : now + default_answer_seconds;
    if (policy.max_age >= 0) {
        until = std::min(until, result.this_update + policy.max_age + policy.time_skew);
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

OcspStatus OcspClient::check(X509* certificate, X509* issuer, X509_STORE* store, const OcspPolicy& policy,
                             std::int64_t now)
{
    const std::string url = responder_url(certificate, policy);
    if (url.empty()) {
        return status(OcspStatus::Kind::no_responder, "the certificate names no OCSP responder");
    }
    OcspCertIdPtr id(OCSP_cert_to_id(nullptr, certificate, issuer));
    if (!id) {
        ERR_clear_error();
        return status(OcspStatus::Kind::invalid, "cannot make an OCSP request for the certificate");
    }
    const std::string key = der_of(id.get(), i2d_OCSP_CERTID) + '\n' + url + '\n' + (policy.use_nonce ? "n" : "-") +
                            std::to_string(policy.time_skew) + policy.responder_certs_identity;

    std::unique_lock lock(mutex_);
    for (;;) {
        if (const auto found = answers_.find(key); found != answers_.end() && still_valid(found->second, policy, now)) {
            return found->second.status;
        }
        if (const auto down = down_until_.find(url); down != down_until_.end() && down->second > now) {
            return status(OcspStatus::Kind::unreachable, "OCSP responder unreachable (retried after a pause)");
        }
        if (!in_flight_.contains(key)) {
            break;
        }
        // Another request asks for the same certificate: share its answer, waiting no longer than it may.
        if (answered_.wait_for(lock, std::chrono::seconds(policy.timeout_seconds)) == std::cv_status::timeout) {
            return status(OcspStatus::Kind::unreachable, "OCSP responder did not answer in time");
        }
    }
    in_flight_.insert(key);
    lock.unlock();
    Answer answer;
    try {
        answer = query(certificate, issuer, store, policy, url, now);
    } catch (...) {
        lock.lock();
        in_flight_.erase(key);
        answered_.notify_all();
        throw;
    }
    lock.lock();
    in_flight_.erase(key);
    if (answer.status.kind == OcspStatus::Kind::unreachable) {
        down_until_[url] = now + ocsp_backoff_seconds;
    } else {
        down_until_.erase(url);
        if (answer.status.kind == OcspStatus::Kind::invalid) {
            answer.status.valid_until = now + ocsp_backoff_seconds;  // not asked again at once
        }
        if (answers_.size() >= max_answers) {
            std::erase_if(answers_, [&](const auto& entry) { return !still_valid(entry.second, policy, now); });
            if (answers_.size() >= max_answers) {
                answers_.clear();
            }
        }
        answers_[key] = answer;
    }
    answered_.notify_all();
    return answer.status;
}

}  // namespace arrcert
