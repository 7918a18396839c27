#include "arrcert/verdict_cache.h"

#include "arrcert/digest.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <string>

namespace arrcert {
namespace {

void append_field(std::string& out, std::string_view field)
{
    // Length-prefixed, so that no two different rule sets make the same bytes.
    out += std::to_string(field.size());
    out += ':';
    out += field;
}

}  // namespace

std::string rules_fingerprint(const RuleSet& rules, const DecodeOptions& decoding)
{
    std::string out;
    out.reserve(256);
    append_field(out, header_format_name(decoding.format));
    append_field(out, decoding.xfcc_element == XfccPick::first ? "first" : "last");
    append_field(out, std::to_string(decoding.max_length));
    append_field(out, "thumbprints");
    for (const Thumbprint& thumbprint : rules.thumbprints) {
        append_field(out, thumbprint.hex());
    }
    append_field(out, "issuers");
    for (const DnPattern& pattern : rules.issuers) {
        append_field(out, pattern.text());
    }
    append_field(out, "subjects");
    for (const DnPattern& pattern : rules.subjects) {
        append_field(out, pattern.text());
    }
    // By content, not by address: another process or server with the same files agrees.
    append_field(out, rules.chain.trust != nullptr ? rules.chain.trust->identity() : "no trust store");
    append_field(out, rules.chain.crls != nullptr ? rules.chain.crls->identity() : "no CRLs");
    append_field(out, std::to_string(static_cast<int>(rules.chain.revocation.check)));
    append_field(out, rules.chain.revocation.no_crl_for_cert_ok ? "1" : "0");
    append_field(out, std::to_string(rules.chain.depth));
    return out;
}

CacheKey cache_key(std::string_view header_value, std::string_view fingerprint, const EVP_MD* sha256)
{
    return Sha256Digest(sha256).add(header_value).add(fingerprint).finish();
}

std::size_t VerdictCache::KeyHash::operator()(const CacheKey& key) const noexcept
{
    std::size_t hash = 0;
    std::memcpy(&hash, key.data() + 1, sizeof hash);  // already uniform: it is a SHA-256
    return hash;
}

VerdictCache::VerdictCache(std::size_t capacity, std::int64_t timeout_seconds)
    : capacity_(capacity),
      shard_capacity_(std::max<std::size_t>(1, (capacity + shard_count - 1) / shard_count)),
      timeout_(timeout_seconds)
{
}

std::shared_ptr<const Verdict> VerdictCache::find(const CacheKey& key, std::int64_t now)
{
    Shard& shard = shard_for(key);
    const std::lock_guard<std::mutex> lock(shard.mutex);
    const auto found = shard.index.find(key);
    if (found == shard.index.end()) {
        return nullptr;
    }
    if (found->second->expires < now) {
        shard.recent.erase(found->second);
        shard.index.erase(found);
        return nullptr;
    }
    shard.recent.splice(shard.recent.begin(), shard.recent, found->second);
    return found->second->verdict;
}

std::int64_t cache_expiry(const Verdict& verdict, std::int64_t now, std::int64_t timeout_seconds) noexcept
{
    const std::int64_t expires = now + timeout_seconds;
    return verdict.kind == Verdict::Kind::judged ? std::min(expires, verdict.not_after) : expires;
}

void VerdictCache::insert(const CacheKey& key, std::shared_ptr<const Verdict> verdict, std::int64_t now)
{
    const std::int64_t expires = cache_expiry(*verdict, now, timeout_);
    insert_until(key, std::move(verdict), expires);
}

void VerdictCache::insert_until(const CacheKey& key, std::shared_ptr<const Verdict> verdict, std::int64_t expires)
{
    Shard& shard = shard_for(key);
    const std::lock_guard<std::mutex> lock(shard.mutex);
    if (const auto found = shard.index.find(key); found != shard.index.end()) {
        shard.recent.erase(found->second);
        shard.index.erase(found);
    }
    while (shard.recent.size() >= shard_capacity_) {
        shard.index.erase(shard.recent.back().key);
        shard.recent.pop_back();
    }
    shard.recent.push_front({key, std::move(verdict), expires});
    shard.index.emplace(key, shard.recent.begin());
}

std::size_t VerdictCache::size() const
{
    std::size_t total = 0;
    for (const Shard& shard : shards_) {
        const std::lock_guard<std::mutex> lock(shard.mutex);
        total += shard.recent.size();
    }
    return total;
}

}  // namespace arrcert
