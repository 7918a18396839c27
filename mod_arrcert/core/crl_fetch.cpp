#include "arrcert/crl_fetch.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <optional>

#include "arrcert/certificate.h"

namespace arrcert {
namespace {

using DistPointsPtr = OpenSslPtr<CRL_DIST_POINTS, CRL_DIST_POINTS_free>;

// DER or PEM, one CRL.
CrlPtr parse_crl(const std::string& body)
{
    const auto* data = reinterpret_cast<const unsigned char*>(body.data());
    CrlPtr crl(d2i_X509_CRL(nullptr, &data, static_cast<long>(body.size())));
    if (!crl) {
        BioPtr bio(BIO_new_mem_buf(body.data(), static_cast<int>(body.size())));
        crl.reset(bio ? PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    }
    ERR_clear_error();
    return crl;
}

// Which key an issuer has: the CRLs it verified are kept under it.
std::string key_digest(X509* issuer)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (X509_pubkey_digest(issuer, EVP_sha256(), digest, &length) != 1) {
        ERR_clear_error();
        return {};
    }
    return {reinterpret_cast<const char*>(digest), length};
}

}  // namespace

CrlFetcher::CrlFetcher(int timeout_seconds, Report report)
    : timeout_seconds_(timeout_seconds), report_(std::move(report))
{
}

CrlFetcher::~CrlFetcher()
{
    {
        const std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_.notify_all();
    if (worker_.joinable()) {
        worker_.join();
    }
}

std::vector<std::string> CrlFetcher::distribution_points(X509* certificate, std::vector<std::string>* refused)
{
    std::vector<std::string> urls;
    DistPointsPtr points(
        static_cast<CRL_DIST_POINTS*>(X509_get_ext_d2i(certificate, NID_crl_distribution_points, nullptr, nullptr)));
    ERR_clear_error();
    for (int i = 0; points && i < sk_DIST_POINT_num(points.get()); ++i) {
        const DIST_POINT* point = sk_DIST_POINT_value(points.get(), i);
        if (point->distpoint == nullptr || point->distpoint->type != 0) {
            continue;  // only full names
        }
        const GENERAL_NAMES* names = point->distpoint->name.fullname;
        for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
            const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
            if (name->type != GEN_URI) {
                continue;
            }
            const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
            std::string url(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                            static_cast<std::size_t>(ASN1_STRING_length(uri)));
            if (is_fetchable_url(url)) {
                urls.push_back(std::move(url));
            } else if (is_http_url(url) && refused != nullptr) {
                refused->push_back(std::move(url));
            }
        }
    }
    return urls;
}

void CrlFetcher::notice_to(NoticeLog notice)
{
    notice_ = std::move(notice);
}

void CrlFetcher::fetch(const std::string& id, const std::string& url, X509* issuer, std::int64_t now)
{
    const Result<std::string> body = http_get(url, {timeout_seconds_, crl_max_bytes});
    std::string problem;
    CrlPtr crl;
    std::int64_t next_update = 0;
    if (!body) {
        problem = body.error();
    } else if (crl = parse_crl(body.value()); !crl) {
        problem = "not a CRL";
    } else if (issuer == nullptr || X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(issuer)) != 0 ||
               X509_CRL_verify(crl.get(), X509_get0_pubkey(issuer)) != 1) {
        problem = "not signed by the certificate's issuer";
    } else if (next_update = epoch_seconds_or(X509_CRL_get0_nextUpdate(crl.get()), now + 86400);
               next_update <= now || epoch_seconds_or(X509_CRL_get0_lastUpdate(crl.get()), now) > now + 300) {
        problem = "outside its validity period (lastUpdate to nextUpdate)";
    }
    ERR_clear_error();
    {
        const std::lock_guard lock(mutex_);
        Entry& entry = entries_[id];
        entry.fetching = false;
        if (problem.empty()) {
            entry.crl = std::move(crl);
            entry.next_update = next_update;
            entry.fetched_at = now;
        } else {
            entry.fetched_at = now;  // the next attempt waits for the refresh interval
        }
    }
    if (!problem.empty()) {
        report_({SourceKind::crl_fetch, url, false, now, -1, problem},
                "CRL from " + url + " not taken: " + problem + "; the last good one stays until its nextUpdate");
    } else {
        report_({SourceKind::crl_fetch, url, true, now, next_update, {}}, "CRL fetched from " + url);
    }
}

void CrlFetcher::schedule(const std::string& id)
{
    // Under mutex_.
    queue_.push_back(id);
    if (!worker_.joinable()) {
        worker_ = std::thread([this] { run_background(); });
    }
    work_.notify_one();
}

void CrlFetcher::run_background()
{
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (queue_.empty()) {
            work_.wait(lock);
            continue;
        }
        const std::string id = std::move(queue_.front());
        queue_.pop_front();
        const Entry& entry = entries_[id];
        const std::string url = entry.url;
        X509* issuer = entry.issuer.get();
        if (issuer != nullptr) {
            X509_up_ref(issuer);
        }
        const X509Ptr held(issuer);
        lock.unlock();
        try {
            fetch(id, url, issuer, static_cast<std::int64_t>(std::time(nullptr)));
        } catch (...) {
            const std::lock_guard relock(mutex_);
            entries_[id].fetching = false;
        }
        lock.lock();
    }
}

CrlFetcher::Found CrlFetcher::crls_for(X509* certificate, X509* issuer, std::int64_t now, std::int64_t refresh_seconds,
                                       const std::function<bool()>& genuine)
{
    Found found;
    const std::string issuer_key = issuer != nullptr ? key_digest(issuer) : std::string();
    std::optional<bool> is_genuine;
    const auto may_fetch = [&] {
        if (!is_genuine) {
            is_genuine = genuine();
        }
        return *is_genuine;
    };
    std::vector<std::string> refused;
    for (const std::string& url : distribution_points(certificate, &refused)) {
        if (issuer_key.empty()) {
            found.incomplete = true;  // no issuer to verify a CRL with
            continue;
        }
        const std::string id = std::string(url).append(1, '\n').append(issuer_key);
        std::unique_lock lock(mutex_);
        if (!entries_.contains(id)) {
            // A URL not seen before: only one that a certificate with verified signatures names
            // (the trust store has them verified first; asked again here on the fetcher's own
            // account), and a bounded number of them.
            const bool full = entries_.size() >= max_fetched_urls;
            lock.unlock();
            if (full) {
                found.incomplete = true;
                continue;
            }
            if (!may_fetch()) {
                // A chain that does not verify is refused for that, whatever a CRL would say: its
                // refusal holds, and is kept as any other.
                continue;
            }
            lock.lock();
        }
        Entry& entry = entries_[id];
        if (!entry.issuer) {
            X509_up_ref(issuer);
            entry.issuer.reset(issuer);
            entry.url = url;
            entry.issuer_key = issuer_key;
        }
        if (!entry.crl && !entry.fetching && (entry.fetched_at == 0 || now >= entry.fetched_at + refresh_seconds)) {
            // Never fetched (or the last attempt failed long enough ago): this request fetches it.
            entry.fetching = true;
            lock.unlock();
            try {
                fetch(id, url, issuer, now);
            } catch (...) {
                const std::lock_guard relock(mutex_);
                entries_[id].fetching = false;
                throw;
            }
            lock.lock();
        } else if (entry.crl && !entry.fetching && now >= entry.fetched_at + refresh_seconds && !stopping_) {
            entries_[id].fetching = true;
            schedule(id);
        }
        if (const Entry& current = entries_[id]; !current.crl || current.next_update <= now) {
            found.incomplete = true;
        }
    }
    if (notice_) {
        for (const std::string& url : refused) {
            notice_(
                "CRL distribution point not fetched (characters outside RFC 3986), as if the certificate "
                "named none: " +
                url_for_log(url));
        }
    }
    // Every current CRL of the certificate's issuer, whichever certificate's distribution point it
    // came from (a CA's own, self-issued certificate names none), as if it were in a CRL file; only
    // those that the issuer's own key verified.
    const X509_NAME* issuer_name = X509_get_issuer_name(certificate);
    const std::lock_guard lock(mutex_);
    for (const auto& [id, entry] : entries_) {
        if (entry.crl && entry.next_update > now && !issuer_key.empty() && entry.issuer_key == issuer_key &&
            X509_NAME_cmp(X509_CRL_get_issuer(entry.crl.get()), issuer_name) == 0) {
            X509_CRL_up_ref(entry.crl.get());
            found.crls.emplace_back(entry.crl.get());
            found.next_update = std::min(found.next_update, entry.next_update);
        }
    }
    return found;
}

}  // namespace arrcert
