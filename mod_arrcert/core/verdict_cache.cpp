#include "arrcert/verdict_cache.h"

#include "arrcert/digest.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <functional>
#include <iterator>
#include <new>
#include <string>

namespace arrcert {
namespace {

// Fixed-width little-endian, so that the servers of a fleet make the same bytes.
void append_number(std::string& out, std::uint64_t number)
{
    std::array<char, sizeof number> bytes{};
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(bytes.data(), &number, sizeof number);  // the loop below, in one move
    } else {
        for (std::size_t byte = 0; byte < bytes.size(); ++byte) {
            bytes[byte] = static_cast<char>((number >> (8 * byte)) & 0xFFU);
        }
    }
    out.append(bytes.data(), bytes.size());
}

void append_field(std::string& out, std::string_view field)
{
    // Length-prefixed, so that no two different rule sets make the same bytes.
    append_number(out, field.size());
    out += field;
}

}  // namespace

// Built on every request that carries a header: binary, one allocation, nothing formatted.
std::string rules_fingerprint(const RuleSet& rules, const DecodeOptions& decoding)
{
    std::string out;
    out.reserve(512);
    append_number(out, static_cast<std::uint64_t>(decoding.format));
    append_number(out, decoding.xfcc_element == XfccPick::first ? 1 : 0);
    append_number(out, decoding.max_length);
    append_number(out, rules.thumbprints.size());
    for (const Thumbprint& thumbprint : rules.thumbprints) {
        append_field(out, thumbprint.bytes());
    }
    append_number(out, rules.issuers.size());
    for (const DnPattern& pattern : rules.issuers) {
        append_field(out, pattern.text());
    }
    append_number(out, rules.subjects.size());
    for (const DnPattern& pattern : rules.subjects) {
        append_field(out, pattern.text());
    }
    append_number(out, rules.alt_names.size());
    for (const AltNamePattern& pattern : rules.alt_names) {
        append_field(out, pattern.text());
    }
    // By content, not by address: another process or server with the same files agrees.
    append_field(out, rules.chain.trust != nullptr ? rules.chain.trust->identity() : std::string_view());
    append_field(out, rules.chain.crls != nullptr ? rules.chain.crls->identity() : std::string_view());
    append_number(out, static_cast<std::uint64_t>(rules.chain.revocation.check));
    append_number(out, rules.chain.revocation.no_crl_for_cert_ok ? 1 : 0);
    append_number(out, static_cast<std::uint64_t>(rules.chain.depth));
    append_number(out, (rules.accept_unverified ? 1U : 0U) | (rules.report_refusals ? 2U : 0U) |
                           (rules.chain.partial_chain ? 4U : 0U) | (rules.chain.fetcher != nullptr ? 8U : 0U));
    if (const OcspPolicy* ocsp = rules.chain.ocsp; ocsp != nullptr && ocsp->mode != OcspMode::off) {
        append_number(out, static_cast<std::uint64_t>(ocsp->mode));
        append_number(out, (ocsp->no_ocsp_for_cert_ok ? 1U : 0U) | (ocsp->soft_fail ? 2U : 0U) |
                               (ocsp->override_responder ? 4U : 0U) | (ocsp->use_nonce ? 8U : 0U));
        append_field(out, ocsp->default_responder != nullptr ? ocsp->default_responder : "");
        append_number(out, static_cast<std::uint64_t>(ocsp->max_age + 1));
        append_number(out, static_cast<std::uint64_t>(ocsp->time_skew));
        append_field(out, ocsp->responder_certs_identity);
    }
    return out;
}

CacheKey cache_key(std::string_view header_value, std::string_view fingerprint, const EVP_MD* sha256)
{
    return Sha256Digest(sha256).add(header_value).add(fingerprint).finish();
}

std::size_t VerdictCache::hash_of(const JudgedFrom& from) noexcept
{
    const std::hash<std::string_view> hash;
    const std::size_t values = hash(from.values);
    return values ^ (hash(from.fingerprint) + 0x9e3779b97f4a7c15ULL + (values << 6U) + (values >> 2U));
}

std::size_t VerdictCache::shard_of(const JudgedFrom& from) noexcept
{
    return (hash_of(from) >> 56U) % shard_count;
}

VerdictCache::VerdictCache(std::size_t capacity, std::int64_t timeout_seconds)
    : capacity_(capacity),
      shard_capacity_(std::max<std::size_t>(1, (capacity + shard_count - 1) / shard_count)),
      timeout_(timeout_seconds)
{
}

void VerdictCache::erase(Shard& shard, std::list<Entry>::iterator entry)
{
    shard.index.erase(entry->key());  // first: its key points into the entry
    shard.recent.erase(entry);
}

std::shared_ptr<const Verdict> VerdictCache::find(const JudgedFrom& from, std::int64_t now)
{
    const std::size_t hash = hash_of(from);
    Shard& shard = shard_for(hash);
    const std::lock_guard<std::mutex> lock(shard.mutex);
    const auto found = shard.index.find(IndexKey{from, hash});
    if (found == shard.index.end()) {
        return nullptr;
    }
    const auto entry = found->second;
    if (entry->expires < now) {
        erase(shard, entry);
        return nullptr;
    }
    shard.recent.splice(shard.recent.begin(), shard.recent, entry);
    return entry->verdict;
}

std::int64_t cache_expiry(const Verdict& verdict, std::int64_t now, std::int64_t timeout_seconds) noexcept
{
    const std::int64_t expires = std::min(now + timeout_seconds, verdict.valid_until);
    return verdict.kind == Verdict::Kind::judged ? std::min(expires, verdict.not_after) : expires;
}

void VerdictCache::insert(const JudgedFrom& from, std::shared_ptr<const Verdict> verdict, std::int64_t now)
{
    const std::int64_t expires = cache_expiry(*verdict, now, timeout_);
    insert_until(from, std::move(verdict), expires);
}

void VerdictCache::insert_until(const JudgedFrom& from, std::shared_ptr<const Verdict> verdict, std::int64_t expires)
{
    const std::size_t hash = hash_of(from);
    // Copies made before taking the lock.
    std::list<Entry> node;
    node.push_back({std::string(from.values), std::string(from.fingerprint), hash, std::move(verdict), expires});
    Shard& shard = shard_for(hash);
    const std::lock_guard<std::mutex> lock(shard.mutex);
    if (const auto found = shard.index.find(IndexKey{from, hash}); found != shard.index.end()) {
        erase(shard, found->second);
    }
    while (shard.recent.size() >= shard_capacity_) {
        erase(shard, std::prev(shard.recent.end()));
    }
    shard.recent.splice(shard.recent.begin(), node);
    shard.index.emplace(shard.recent.front().key(), shard.recent.begin());
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
