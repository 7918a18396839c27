// CRLs fetched from the http:// URLs of certificates' CRL Distribution Points (ArrCertCARevocationFetch):
// verified when fetched, kept, fetched again in the background, never waited for by a request
// other than the one that first needed them.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <openssl/x509.h>

#include "arrcert/http_fetch.h"
#include "arrcert/openssl_ptr.h"
#include "arrcert/source_event.h"

namespace arrcert {

inline constexpr std::size_t crl_max_bytes = std::size_t{16} * 1024 * 1024;
inline constexpr int default_crl_fetch_timeout_seconds = 10;
inline constexpr std::size_t max_fetched_urls = 1000;  // per process

// One per process, shared by its threads.
class CrlFetcher {
public:
    // Each fetch as it ended, with a line for the log, from any thread.
    using Report = std::function<void(const SourceEvent& event, const std::string& text)>;
    CrlFetcher(int timeout_seconds, Report report);
    CrlFetcher(const CrlFetcher&) = delete;
    CrlFetcher& operator=(const CrlFetcher&) = delete;
    CrlFetcher(CrlFetcher&&) = delete;
    CrlFetcher& operator=(CrlFetcher&&) = delete;
    ~CrlFetcher();  // stops the background fetches

    struct Found {
        std::vector<CrlPtr> crls;  // up-referenced: the caller owns them
        std::int64_t next_update = std::numeric_limits<std::int64_t>::max();
        // Some distribution point of the certificate has no current CRL yet (being fetched, failed,
        // expired, not taken): what is judged now is not kept, so the CRL counts once it is there.
        bool incomplete = false;
    };
    // The current CRLs of `certificate`'s distribution points (`issuer` signs them). A URL never
    // fetched is fetched now, unless another request is fetching it; a CRL due for a refresh
    // (`refresh_seconds` after it was fetched) is fetched again in the background; one past its
    // nextUpdate is not returned.
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
        std::string issuer_key;  // SHA-256 of the issuer's public key
        CrlPtr crl;
        X509Ptr issuer;
        std::int64_t next_update = 0;
        std::int64_t fetched_at = 0;
        bool fetching = false;
    };
    // Fetches and verifies one URL; stores a good CRL, keeps the old one otherwise.
    void fetch(const std::string& id, const std::string& url, X509* issuer, std::int64_t now);
    void schedule(const std::string& id);
    void run_background();

    int timeout_seconds_;
    Report report_;
    NoticeLog notice_;
    std::mutex mutex_;
    std::condition_variable work_;
    std::unordered_map<std::string, Entry> entries_;  // by URL and issuer key
    std::deque<std::string> queue_;
    bool stopping_ = false;
    std::thread worker_;  // started by the first refresh, in the process that serves requests
};

}  // namespace arrcert
