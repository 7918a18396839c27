// CRLs fetched from the http:// URLs of certificates' CRL Distribution Points (ArrCertCARevocationFetch):
// verified when fetched and when read from the share, fetched once for all the processes of a
// server, fetched again in the background before they are due.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <chrono>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <openssl/x509.h>

#include "arrcert/http_fetch.h"
#include "arrcert/openssl_ptr.h"
#include "arrcert/refresh_queue.h"
#include "arrcert/result.h"
#include "arrcert/revocation_share.h"
#include "arrcert/source_event.h"

namespace arrcert {

inline constexpr std::size_t crl_max_bytes = std::size_t{16} * 1024 * 1024;
inline constexpr int default_crl_fetch_timeout_seconds = 10;
inline constexpr std::size_t max_fetched_urls = 1000;  // per process

// One per process, shared by its threads; the processes of one server meet in a RevocationShare.
class CrlFetcher {
public:
    // Each fetch as it ended, with a line for the log, from any thread.
    using Report = std::function<void(const SourceEvent& event, const std::string& text)>;
    // `share` (null: this process alone) outlives the fetcher; `refresh_percent` of a CRL's window
    // passed, it is fetched again.
    CrlFetcher(int timeout_seconds, Report report, RevocationShare* share = nullptr,
               int refresh_percent = default_refresh_percent);
    CrlFetcher(const CrlFetcher&) = delete;
    CrlFetcher& operator=(const CrlFetcher&) = delete;
    CrlFetcher(CrlFetcher&&) = delete;
    CrlFetcher& operator=(CrlFetcher&&) = delete;
    ~CrlFetcher();  // stops the background fetches

    struct Found {
        std::vector<CrlPtr> crls;  // up-referenced: the caller owns them
        std::int64_t next_update = std::numeric_limits<std::int64_t>::max();
        // Some distribution point of the certificate has no current CRL (failed, expired, not
        // taken): what is judged now is not kept, so the CRL counts once it is there.
        bool incomplete = false;
    };
    // The current CRLs of `certificate`'s distribution points (`issuer` signs them). A CRL another
    // process of the server fetched is taken from the share; one nobody has is fetched now, by
    // one process, while the requests that need it wait (at most the timeout); one due for a
    // refresh (`refresh_seconds` after it was fetched, or the refresh percent of its window) is
    // fetched again in the background; one past its nextUpdate is not returned.
    // `genuine` is asked (at most once) before a URL is fetched: whether the certificate's signature
    // chain is verified, so that no URL a client made up is ever fetched. A CRL counts only for a
    // certificate whose issuer has the key that verified it (not merely the name): one issuer's CRL
    // never judges another's certificates, whichever trust store each came through.
    Found crls_for(X509* certificate, X509* issuer, std::int64_t now, std::int64_t refresh_seconds,
                   const std::function<bool()>& genuine);

    // The http:// URLs of `certificate`'s distribution points; those with bytes outside RFC 3986
    // are left out (and added to `refused`, when given).
    static std::vector<std::string> distribution_points(X509* certificate, std::vector<std::string>* refused = nullptr);
    // Before the first request: where URLs left out are reported.
    void notice_to(NoticeLog notice);

private:
    // One per URL and issuer key: the same URL named under two issuers is fetched and verified for each.
    struct Entry {
        std::string url;
        std::string name;        // in the share
        std::string issuer_key;  // SHA-256 of the issuer's public key
        CrlPtr crl;
        X509Ptr issuer;
        std::int64_t this_update = 0;
        std::int64_t next_update = 0;
        std::int64_t fetched_at = 0;       // the CRL in hand, by whichever process fetched it
        std::int64_t refresh_seconds = 0;  // of the last scope that asked
        std::int64_t looked_at = 0;        // at the share, at most once a second
        std::int64_t stamp = 0;            // of the shared file last read
        bool busy = false;                 // a thread reads or fetches it
    };
    struct Taken {
        CrlPtr crl;
        std::int64_t this_update = 0;
        std::int64_t next_update = 0;
    };
    // Bytes as a CRL of `issuer`, current at `now`; else the problem.
    static Result<Taken> verified(const std::string& bytes, X509* issuer, std::int64_t now);
    // On a busy entry, without the mutex: the shared file, then (when `fetch`) the fleet and the
    // URL, under the share's lock (waited for at most `wait`). Leaves the entry not busy.
    void renew(const std::string& id, std::int64_t now, bool fetch, std::chrono::milliseconds wait);
    // Under mutex_: a CRL replaces the one in hand unless it is older.
    static void adopt(Entry& entry, Taken taken, std::int64_t fetched_at, std::int64_t stamp);
    void plan(const Entry& entry, const std::string& id, std::int64_t not_before);  // under mutex_
    void refresh_in_background(const std::string& id);

    int timeout_seconds_;
    int refresh_percent_;
    Report report_;
    NoticeLog notice_;
    RevocationShare own_share_;
    RevocationShare* share_;
    std::mutex mutex_;
    std::condition_variable settled_;                 // an entry is no longer busy
    std::unordered_map<std::string, Entry> entries_;  // by URL and issuer key
    RefreshQueue refreshes_;                          // last: stopped first
};

}  // namespace arrcert
