// Verdicts as bytes, for caches shared between processes and servers (httpd's ap_socache). An
// entry is sealed with HMAC-SHA256 over its key and its bytes under a secret of this server (or
// of the fleet), so that whoever else can write to the cache cannot make it accept a certificate.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "arrcert/openssl_ptr.h"
#include "arrcert/result.h"
#include "arrcert/rules.h"
#include "arrcert/seal.h"
#include "arrcert/verdict_cache.h"

namespace arrcert {

std::string seal_verdict(const Verdict& verdict, std::int64_t expires, const CacheKey& key, const CacheSeal& seal);

struct OpenedVerdict {
    std::shared_ptr<const Verdict> verdict;
    std::int64_t expires = 0;
};
// Null when the bytes are not an entry sealed under this key and secret.
std::optional<OpenedVerdict> open_verdict(std::string_view sealed, const CacheKey& key, const CacheSeal& seal);

}  // namespace arrcert
