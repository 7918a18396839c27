// The objects one configuration generation makes at post_config for its requests: the verdict
// caches, the digest for shared keys, the certificate headers to strip. Made once, read by every
// request, gone with the generation's pool (a restart makes new ones).
#pragma once

#include <httpd.h>

#include <string>
#include <vector>

#include "arrcert/digest.h"
#include "arrcert/verdict_cache.h"
#include "shared_cache.h"

namespace arrcert::httpd {

struct Runtime {
    VerdictCache* cache = nullptr;          // the memory cache, in front of the shared one; null: none
    SharedCache* shared_cache = nullptr;    // null: none
    const FetchedSha256* sha256 = nullptr;  // for the shared key
    std::vector<std::string> certificate_headers;
};

// post_config: builds the runtime and hands it to every server. Returns an httpd status.
int start_runtime(apr_pool_t* pool, server_rec* base);
// child_init: what each child process needs of its own (the shared cache's mutex).
void start_child(apr_pool_t* pool, server_rec* base);

const Runtime& runtime_of(const server_rec* server) noexcept;

}  // namespace arrcert::httpd
