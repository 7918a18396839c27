#include "arrcert/crl_fetch.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
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

CrlFetcher::CrlFetcher(int timeout_seconds, Report report, RevocationShare* share, int refresh_percent)
    : timeout_seconds_(timeout_seconds),
      refresh_percent_(refresh_percent),
      report_(std::move(report)),
      share_(share != nullptr ? share : &own_share_),
      refreshes_([this](const std::string& id) { refresh_in_background(id); })
{
}

CrlFetcher::~CrlFetcher() = default;

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

Result<CrlFetcher::Taken> CrlFetcher::verified(const std::string& bytes, X509* issuer, std::int64_t now)
{
    Taken taken;
    taken.crl = parse_crl(bytes);
    std::string problem;
    if (!taken.crl) {
        problem = "not a CRL";
    } else if (issuer == nullptr ||
               X509_NAME_cmp(X509_CRL_get_issuer(taken.crl.get()), X509_get_subject_name(issuer)) != 0 ||
               X509_CRL_verify(taken.crl.get(), X509_get0_pubkey(issuer)) != 1) {
        problem = "not signed by the certificate's issuer";
    } else if (taken.next_update = epoch_seconds_or(X509_CRL_get0_nextUpdate(taken.crl.get()), now + 86400),
               taken.this_update = epoch_seconds_or(X509_CRL_get0_lastUpdate(taken.crl.get()), now);
               taken.next_update <= now || taken.this_update > now + 300) {
        problem = "outside its validity period (lastUpdate to nextUpdate)";
    }
    ERR_clear_error();
    if (!problem.empty()) {
        return Result<Taken>::failure(problem);
    }
    return taken;
}

void CrlFetcher::adopt(Entry& entry, Taken taken, std::int64_t fetched_at, std::int64_t stamp)
{
    entry.stamp = stamp;
    // Never back to an older CRL, wherever it came from.
    if (!entry.crl || taken.this_update > entry.this_update ||
        (taken.this_update == entry.this_update && fetched_at >= entry.fetched_at)) {
        entry.crl = std::move(taken.crl);
        entry.this_update = taken.this_update;
        entry.next_update = taken.next_update;
        entry.fetched_at = fetched_at;
    }
}

void CrlFetcher::plan(const Entry& entry, const std::string& id, std::int64_t not_before)
{
    if (entry.crl) {
        refreshes_.at(std::max(not_before, next_refresh(entry.fetched_at, entry.this_update, entry.next_update,
                                                        entry.refresh_seconds, refresh_percent_)),
                      id);
    }
}

void CrlFetcher::refresh_in_background(const std::string& id)
{
    {
        const std::lock_guard lock(mutex_);
        const auto found = entries_.find(id);
        if (found == entries_.end() || found->second.busy) {
            return;
        }
        found->second.busy = true;
    }
    renew(id, static_cast<std::int64_t>(std::time(nullptr)), true, std::chrono::milliseconds(0));
}

void CrlFetcher::renew(const std::string& id, std::int64_t now, bool fetch, std::chrono::milliseconds wait)
{
    std::string url;
    std::string name;
    X509Ptr issuer;
    std::int64_t refresh_seconds = 0;
    {
        const std::lock_guard lock(mutex_);
        const Entry& entry = entries_[id];
        url = entry.url;
        name = entry.name;
        X509_up_ref(entry.issuer.get());
        issuer.reset(entry.issuer.get());
        refresh_seconds = entry.refresh_seconds;
    }
    // Leaves the entry settled, and its next refresh planned, however this ends.
    struct Settle {
        CrlFetcher& fetcher;
        const std::string& id;
        std::int64_t not_before;  // a refresh that failed or found another process at it waits
        Settle(CrlFetcher& owner, const std::string& entry, std::int64_t earliest)
            : fetcher(owner), id(entry), not_before(earliest)
        {
        }
        Settle(const Settle&) = delete;
        Settle& operator=(const Settle&) = delete;
        Settle(Settle&&) = delete;
        Settle& operator=(Settle&&) = delete;
        ~Settle()
        {
            {
                const std::lock_guard lock(fetcher.mutex_);
                Entry& entry = fetcher.entries_[id];
                entry.busy = false;
                fetcher.plan(entry, id, not_before);
            }
            fetcher.settled_.notify_all();
        }
    } settle(*this, id, now + 1);

    const auto from_share = [&](std::int64_t at) {
        // What another process of the server brought: taken when newer, and enough when not due.
        std::optional<RevocationShare::Document> document = share_->read(name, crl_max_bytes);
        if (!document) {
            const std::lock_guard lock(mutex_);
            entries_[id].stamp = share_->stamp(name);  // not read again until it changes
            return false;
        }
        Result<Taken> taken = verified(document->bytes, issuer.get(), at);
        const std::lock_guard lock(mutex_);
        Entry& entry = entries_[id];
        if (!taken || taken.value().this_update < share_->newest(name)) {
            entry.stamp = document->stamp;  // another CA's, expired, or put back from the past
            return false;
        }
        share_->saw(name, taken.value().this_update);
        adopt(entry, std::move(taken.value()), document->written, document->stamp);
        return entry.crl && next_refresh(entry.fetched_at, entry.this_update, entry.next_update, refresh_seconds,
                                         refresh_percent_) > at;
    };
    if (!fetch) {
        from_share(now);
        return;
    }
    const std::optional<RevocationShare::Lock> held = share_->lock(name, wait);
    now = std::max(now, static_cast<std::int64_t>(std::time(nullptr)));
    if (!held) {
        settle.not_before = now + 2;  // another process is fetching it: its file is read then
        return;
    }
    if (from_share(now)) {
        return;
    }
    std::int64_t held_this_update = 0;
    {
        const std::lock_guard lock(mutex_);
        held_this_update = std::max(entries_[id].crl ? entries_[id].this_update : 0, share_->newest(name));
    }
    if (std::optional<std::string> bytes = share_->from_fleet(name, now)) {
        // Another server's fetch, verified here as if fetched.
        // Never an older CRL than the one in hand: that would not be a refresh.
        Result<Taken> taken = verified(*bytes, issuer.get(), now);
        if (taken && taken.value().this_update >= held_this_update) {
            share_->write(name, *bytes, now, 0);
            share_->saw(name, taken.value().this_update);
            const std::lock_guard lock(mutex_);
            adopt(entries_[id], std::move(taken.value()), now, share_->stamp(name));
            return;
        }
    }
    if (const std::int64_t next_attempt = share_->attempts(name).next_attempt; next_attempt > now) {
        settle.not_before = next_attempt;  // a failed fetch pauses every process
        return;
    }
    const Result<std::string> body = http_get(url, {timeout_seconds_, crl_max_bytes});
    Result<Taken> taken = body ? verified(body.value(), issuer.get(), now) : Result<Taken>::failure(body.error());
    if (taken && taken.value().this_update < held_this_update) {
        // A stale mirror: not a refresh, and not to be asked again at once.
        taken = Result<Taken>::failure("older than the CRL in hand (lastUpdate)");
    }
    if (!taken) {
        const RevocationShare::Attempts attempts = share_->failed(name, now);
        settle.not_before = attempts.next_attempt;
        report_({SourceKind::crl_fetch, url, false, now, -1, taken.error(), attempts.next_attempt, attempts.failures},
                "CRL from " + url + " not taken: " + taken.error() +
                    "; the last good one stays until its nextUpdate; tried again in " +
                    std::to_string(attempts.next_attempt - now) + " s");
        return;
    }
    const std::int64_t next_update = taken.value().next_update;
    const std::int64_t refresh =
        next_refresh(now, taken.value().this_update, next_update, refresh_seconds, refresh_percent_);
    share_->write(name, body.value(), now, std::min(next_update, refresh));
    share_->succeeded(name);
    share_->saw(name, taken.value().this_update);
    {
        const std::lock_guard lock(mutex_);
        adopt(entries_[id], std::move(taken.value()), now, share_->stamp(name));
    }
    report_({SourceKind::crl_fetch, url, true, now, next_update, {}, refresh, 0}, "CRL fetched from " + url);
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
            entry.name = RevocationShare::name_for("crl", id);
        }
        // Fetched again at the shortest interval of the scopes that use it.
        if (entry.refresh_seconds == 0 || refresh_seconds < entry.refresh_seconds) {
            entry.refresh_seconds = refresh_seconds;
            if (!entry.busy) {
                plan(entry, id, now);
            }
        }
        if (!entry.busy && entry.looked_at != now) {
            // A newer CRL another process fetched: looked for at most once a second (a stat).
            entry.looked_at = now;
            if (const std::int64_t stamp = share_->stamp(entry.name); stamp != 0 && stamp != entry.stamp) {
                entry.busy = true;
                lock.unlock();
                renew(id, now, false, {});
                lock.lock();
            }
        }
        const auto current = [&] {
            const Entry& held = entries_[id];
            return held.crl && held.next_update > now;
        };
        if (!current()) {
            // Nobody has it: this request fetches it, or waits (at most the timeout) for the one
            // that does, in this process or another.
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds_);
            if (entries_[id].busy) {
                settled_.wait_until(lock, deadline, [&] { return !entries_[id].busy; });
            } else {
                entries_[id].busy = true;
                lock.unlock();
                renew(id, now, true, std::chrono::seconds(timeout_seconds_));
                lock.lock();
            }
        }
        if (!current()) {
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
