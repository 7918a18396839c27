#include "arrcert/trust_store.h"

#include <openssl/err.h>

#include "arrcert/certificate.h"
#include "arrcert/chain_guard.h"
#include "arrcert/digest.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <limits>
#include <optional>
#include <new>
#include <system_error>

namespace arrcert {
namespace {

using StoreContextPtr = OpenSslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;

std::string openssl_reason()
{
    const unsigned long code = ERR_peek_last_error();
    const char* reason = code != 0 ? ERR_reason_error_string(code) : nullptr;
    ERR_clear_error();
    return reason != nullptr ? reason : "unknown error";
}

// no_crl_for_cert_ok: a certificate whose issuer has no CRL is not refused for that alone.
int tolerate_missing_crl(int ok, X509_STORE_CTX* context)
{
    if (ok == 0 && X509_STORE_CTX_get_error(context) == X509_V_ERR_UNABLE_TO_GET_CRL) {
        X509_STORE_CTX_set_error(context, X509_V_OK);
        return 1;
    }
    return ok;
}

// A refusal holds as long as what it was judged on (an OCSP answer kept 10 s, a missing CRL not at all).
ChainVerdict refused(std::string reason, std::int64_t valid_until = std::numeric_limits<std::int64_t>::max())
{
    ChainVerdict verdict;
    verdict.error = std::move(reason);
    verdict.valid_until = valid_until;
    return verdict;
}

// What the CRL lookup of one verification needs: set as the context's app data.
struct FetchContext {
    const ChainCheck* check = nullptr;
    std::int64_t now = 0;
    std::int64_t next_update = std::numeric_limits<std::int64_t>::max();
};

// The store's own CRLs and, when the verification fetches, those of the certificate's
// distribution points (OpenSSL asks when the files' CRLs did not cover the certificate).
STACK_OF(X509_CRL) * lookup_crls(const X509_STORE_CTX* context, const X509_NAME* name)
{
    STACK_OF(X509_CRL)* crls = X509_STORE_CTX_get1_crls(context, name);
    auto* fetching = static_cast<FetchContext*>(X509_STORE_CTX_get_ex_data(context, 0));
    X509* current = X509_STORE_CTX_get_current_cert(context);
    if (fetching == nullptr || fetching->check->fetcher == nullptr || current == nullptr) {
        return crls;
    }
    try {
        STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(context);
        const int depth = X509_STORE_CTX_get_error_depth(context);
        X509* issuer = depth + 1 < sk_X509_num(path)                      ? sk_X509_value(path, depth + 1)
                       : X509_check_issued(current, current) == X509_V_OK ? current
                                                                          : nullptr;
        // Whether every certificate from this one up is signed by the next, from the anchor down.
        // The path's signatures were verified before revocation is checked
        // (check_signatures_before_revocation); this holds the fetcher to its promise on its own.
        const auto genuine = [&] { return signed_from_the_top(path, depth); };
        CrlFetcher::Found found =
            fetching->check->fetcher->crls_for(current, issuer, fetching->now, fetching->check->fetch_refresh, genuine);
        if (!found.crls.empty() && crls == nullptr && (crls = sk_X509_CRL_new_null()) == nullptr) {
            return nullptr;
        }
        for (CrlPtr& crl : found.crls) {
            if (sk_X509_CRL_push(crls, crl.get()) != 0) {
                static_cast<void>(crl.release());  // the stack owns it now
            }
        }
        fetching->next_update = std::min(fetching->next_update, found.next_update);
        if (found.incomplete) {
            fetching->next_update = std::min(fetching->next_update, fetching->now - 1);  // not kept
        }
    } catch (...) {
        ERR_clear_error();  // no fetched CRL: the check fails closed, or passes under no_crl_for_cert_ok
    }
    return crls;
}

// OCSP for the verified path: the leaf (leaf) or every certificate but the anchor (on).
ChainVerdict check_ocsp(const ChainCheck& check, STACK_OF(X509) * path, std::int64_t now, ChainVerdict verdict)
{
    const OcspPolicy& policy = *check.ocsp;
    const int length = sk_X509_num(path);
    const int checked = policy.mode == OcspMode::leaf ? std::min(1, length - 1) : length - 1;
    for (int i = 0; i < checked; ++i) {
        const OcspStatus status = check.ocsp_client->check(sk_X509_value(path, i), sk_X509_value(path, i + 1),
                                                           check.trust->store(), policy, now);
        switch (status.kind) {
            case OcspStatus::Kind::good: verdict.valid_until = std::min(verdict.valid_until, status.valid_until); break;
            case OcspStatus::Kind::no_responder:
                if (!policy.no_ocsp_for_cert_ok) {
                    return refused(status.reason, status.valid_until);
                }
                break;
            case OcspStatus::Kind::unreachable:
                if (!policy.soft_fail) {
                    return refused(status.reason, status.valid_until);
                }
                verdict.warning = status.reason;
                verdict.valid_until = std::min(verdict.valid_until, status.valid_until);
                break;
            case OcspStatus::Kind::revoked:
            case OcspStatus::Kind::invalid: return refused(status.reason, status.valid_until);
        }
    }
    return verdict;
}

// The names `openssl rehash` gives: eight hex digits, a dot, a number.
bool is_hashed_name(std::string_view name)
{
    if (name.size() < 10 || name[8] != '.') {
        return false;
    }
    const auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    const auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
    return std::all_of(name.begin(), name.begin() + 8, hex) && std::all_of(name.begin() + 9, name.end(), digit);
}

// Every CRL OpenSSL may have consulted for `certificate`: those of the snapshot and of the store
// (a CA file may hold CRLs) whose issuer is the certificate's issuer.
template <class Visit>
void crls_for(const ChainCheck& check, X509* certificate, Visit visit)
{
    const X509_NAME* issuer = X509_get_issuer_name(certificate);
    if (check.crls != nullptr) {
        for (int i = 0; i < sk_X509_CRL_num(check.crls->stack()); ++i) {
            X509_CRL* crl = sk_X509_CRL_value(check.crls->stack(), i);
            if (X509_NAME_cmp(X509_CRL_get_issuer(crl), issuer) == 0) {
                visit(crl);
            }
        }
    }
    for (const CrlPtr& crl : check.trust->crls()) {
        if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), issuer) == 0) {
            visit(crl.get());
        }
    }
}

// OpenSSL's verifier decodes every extension of the leaf (thousands of SANs, if a client sends
// them) before it looks for an issuer. A leaf whose issuer's name neither the store nor the
// certificates sent with it carry can never verify: it is refused first, with OpenSSL's reason
// ("self-signed certificate" for a self-issued leaf, which OpenSSL gives when the leaf's key
// identifiers agree, as they do in any certificate a tool makes).
std::optional<int> missing_issuer(const TrustStore& trust, X509* leaf, const std::vector<X509*>& intermediates)
{
    const X509_NAME* issuer = X509_get_issuer_name(leaf);
    for (X509* certificate : intermediates) {
        if (X509_NAME_cmp(issuer, X509_get_subject_name(certificate)) == 0) {
            return std::nullopt;
        }
    }
    if (trust.holds_subject(issuer)) {
        return std::nullopt;
    }
    return X509_NAME_cmp(issuer, X509_get_subject_name(leaf)) == 0 ? X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
                                                                   : X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
}

// The earliest notAfter of the verified path and, where revocation was checked, nextUpdate of
// the CRLs that cover its certificates.
std::int64_t path_valid_until(const ChainCheck& check, STACK_OF(X509) * path)
{
    std::int64_t until = std::numeric_limits<std::int64_t>::max();
    const auto earliest = [&](const ASN1_TIME* time) {
        if (const Result<std::int64_t> seconds = epoch_seconds(time); seconds) {
            until = std::min(until, seconds.value());
        }
    };
    const int length = path != nullptr ? sk_X509_num(path) : 0;
    for (int i = 0; i < length; ++i) {
        X509* certificate = sk_X509_value(path, i);
        earliest(X509_get0_notAfter(certificate));
        const bool checked = check.revocation.check == RevocationCheck::chain ||
                             (check.revocation.check == RevocationCheck::leaf && i == 0);
        if (checked) {
            crls_for(check, certificate, [&](X509_CRL* crl) { earliest(X509_CRL_get0_nextUpdate(crl)); });
        }
    }
    return until;
}

}  // namespace

TrustStore::TrustStore() : store_(X509_STORE_new())
{
    if (!store_) {
        throw std::bad_alloc();
    }
    X509_STORE_set_lookup_crls(store_.get(), lookup_crls);
    check_signatures_before_revocation(store_.get());
}

Result<void> TrustStore::add_file(const std::string& path)
{
    if (X509_STORE_load_file(store_.get(), path.c_str()) != 1) {
        return Result<void>::failure("cannot load CA certificates from " + path +
                                     ": no certificate in PEM form could be read (" + openssl_reason() + ")");
    }
    ERR_clear_error();
    update_identity();
    return {};
}

Result<void> TrustStore::add_directory(const std::string& path)
{
    std::error_code error;
    if (!std::filesystem::is_directory(path, error)) {
        return Result<void>::failure("CA certificate directory " + path + " does not exist or is not a directory");
    }
    // Read now rather than looked up on demand: a file removed or broken at run time changes
    // nothing until the next (graceful) restart, as for ArrCertCACertificateFile.
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
        if (entry.is_regular_file(error) && is_hashed_name(entry.path().filename().string())) {
            files.push_back(entry.path());
        }
    }
    if (error) {
        return Result<void>::failure("cannot read CA certificate directory " + path + ": " + error.message());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
        if (X509_STORE_load_file(store_.get(), file.c_str()) != 1) {
            return Result<void>::failure("cannot load CA certificates from " + file.string() + " (" + openssl_reason() +
                                         ")");
        }
    }
    ERR_clear_error();
    update_identity();
    return {};
}

bool TrustStore::holds_subject(const X509_NAME* name) const noexcept
{
    return std::any_of(subjects_.begin(), subjects_.end(),
                       [&](const X509NamePtr& subject) { return X509_NAME_cmp(subject.get(), name) == 0; });
}

void TrustStore::update_identity()
{
    // The store keeps its objects sorted, and they are sorted again here: the same certificates
    // (and CRLs, which a CA file may hold too) give the same identity.
    std::vector<std::string> ders;
    subjects_.clear();
    crls_.clear();
    STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store_.get());
    for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
        const X509_OBJECT* object = sk_X509_OBJECT_value(objects, i);
        unsigned char* der = nullptr;
        int length = -1;
        if (X509* certificate = X509_OBJECT_get0_X509(object); certificate != nullptr) {
            subjects_.emplace_back(X509_NAME_dup(X509_get_subject_name(certificate)));
            if (!subjects_.back()) {
                throw std::bad_alloc();
            }
            length = i2d_X509(certificate, &der);
        } else if (X509_CRL* crl = X509_OBJECT_get0_X509_CRL(object); crl != nullptr) {
            if (X509_CRL_up_ref(crl) != 1) {
                throw std::bad_alloc();
            }
            crls_.emplace_back(crl);
            length = i2d_X509_CRL(crl, &der);
        }
        if (length < 0) {
            continue;
        }
        ders.emplace_back(reinterpret_cast<const char*>(der), static_cast<std::size_t>(length));
        OPENSSL_free(der);
    }
    std::sort(ders.begin(), ders.end());
    Sha256Digest digest;
    for (const std::string& der : ders) {
        digest.add(der);
    }
    identity_ = to_hex(digest.finish());
}

ChainVerdict verify_chain(const ChainCheck& check, X509* leaf, const std::vector<X509*>& intermediates,
                          std::int64_t time, std::int64_t now)
{
    if (const std::optional<int> missing = missing_issuer(*check.trust, leaf, intermediates); missing.has_value()) {
        return refused(X509_verify_cert_error_string(*missing));
    }
    // Before any signature is checked: a key whose public operation costs milliseconds is refused.
    if (!key_within_limits(leaf) ||
        !std::all_of(intermediates.begin(), intermediates.end(), [](X509* one) { return key_within_limits(one); })) {
        return refused(std::string(oversized_key_reason));
    }
    CertificateStackPtr untrusted(sk_X509_new_null());
    StoreContextPtr context(X509_STORE_CTX_new());
    if (!untrusted || !context) {
        throw std::bad_alloc();
    }
    for (X509* certificate : intermediates) {
        if (sk_X509_push(untrusted.get(), certificate) == 0) {
            throw std::bad_alloc();
        }
    }
    if (X509_STORE_CTX_init(context.get(), check.trust->store(), leaf, untrusted.get()) != 1) {
        ERR_clear_error();
        throw std::bad_alloc();
    }
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(context.get());
    X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(time));
    // OpenSSL counts neither the leaf nor the trust anchor; mod_ssl's depth counts the anchor.
    X509_VERIFY_PARAM_set_depth(param, check.depth - 1);
    X509_STORE_CTX_set_purpose(context.get(), X509_PURPOSE_SSL_CLIENT);

    if (check.partial_chain) {
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    }
    FetchContext fetching{&check, now};
    const bool with_crls = check.revocation.check != RevocationCheck::none;
    if (with_crls) {
        unsigned long flags = X509_V_FLAG_CRL_CHECK;
        if (check.revocation.check == RevocationCheck::chain) {
            flags |= X509_V_FLAG_CRL_CHECK_ALL;
        }
        X509_VERIFY_PARAM_set_flags(param, flags);
        if (check.fetcher != nullptr) {
            X509_STORE_CTX_set_ex_data(context.get(), 0, &fetching);
        }
        if (check.crls != nullptr) {
            X509_STORE_CTX_set0_crls(context.get(), check.crls->stack());
        }
        if (check.revocation.no_crl_for_cert_ok) {
            X509_STORE_CTX_set_verify_cb(context.get(), tolerate_missing_crl);
        }
    }

    const int verified = X509_verify_cert(context.get());
    const int error = X509_STORE_CTX_get_error(context.get());
    ERR_clear_error();
    if (verified != 1) {
        // A refusal for want of a fetched CRL holds no longer than the verdict it stands for.
        ChainVerdict failed =
            refused(X509_verify_cert_error_string(error == X509_V_OK ? X509_V_ERR_UNSPECIFIED : error));
        failed.valid_until = fetching.next_update;
        return failed;
    }
    STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(context.get());
    ChainVerdict verdict;
    verdict.valid_until = std::min(path_valid_until(check, path), fetching.next_update);
    if (check.ocsp != nullptr && check.ocsp->mode != OcspMode::off && check.ocsp_client != nullptr) {
        verdict = check_ocsp(check, path, now, std::move(verdict));
    }
    return verdict;
}

}  // namespace arrcert
