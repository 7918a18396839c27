// The objects one configuration generation makes at post_config for its requests: the verdict
// caches, the digest for shared keys, the certificate headers to strip, which servers check
// certificates. Made once, read by every request, gone with the generation's pool (a restart
// makes new ones).
#pragma once

#include <httpd.h>

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "arrcert/crl_fetch.h"
#include "arrcert/digest.h"
#include "arrcert/ocsp.h"
#include "arrcert/revocation_share.h"
#include "arrcert/status_area.h"
#include "arrcert/verdict_cache.h"
#include "shared_cache.h"
#include "verdict_tiers.h"

namespace arrcert::httpd {

struct Runtime {
    std::unique_ptr<VerdictCache> cache;        // the memory cache; null: none
    std::unique_ptr<SharedCache> shared_cache;  // null: none
    static constexpr std::size_t max_tiers = 2;
    std::vector<std::unique_ptr<VerdictTier>> tiers;  // memory, then shared (at most max_tiers)
    std::int64_t cache_timeout = default_cache_timeout_seconds;
    FetchedSha256 sha256;  // for the shared key
    std::vector<std::string> certificate_headers;
    // Some server lists a front end: else every peer is trusted where no list applies.
    bool front_ends_listed = false;
    server_rec* main_server = nullptr;  // the configuration's, first of the list of servers
    // Counters and the inventory, shared by every process and kept across restarts (status.cpp).
    StatusArea* status = nullptr;
    std::unordered_set<const server_rec*> checking_servers;  // a scope there checks certificates

    [[nodiscard]] bool checks_certificates(const server_rec* server) const { return checking_servers.contains(server); }
    std::unordered_set<const server_rec*> alike_servers;  // see server_judges_alike
    // Online revocation: each process keeps answers and CRLs, and the processes of the server
    // share them through files under the runtime directory (and the fleet through ArrCertCache).
    // The refresh threads start in the process that first needs one; stopped before the share goes.
    std::unique_ptr<RevocationShare> revocation_share;
    std::unique_ptr<OcspClient> ocsp_client;
    std::unique_ptr<CrlFetcher> crl_fetcher;
    [[nodiscard]] bool judges_alike(const server_rec* server) const { return alike_servers.contains(server); }
};

// post_config: builds the runtime and links every server to it. Returns an httpd status.
int start_runtime(apr_pool_t* pool, apr_pool_t* temp, server_rec* base);
// child_init: what each child process needs of its own (the shared cache's mutex).
void start_child(apr_pool_t* pool, server_rec* base);

const Runtime& runtime_of(const server_rec* server) noexcept;

}  // namespace arrcert::httpd
