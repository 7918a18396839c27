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

// Inlined: no library to load beside the module.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace arrcert {
namespace {

// Counts the bytes of a fingerprint, then writes them into a string of that size: one allocation,
// no capacity check per field.
class FingerprintSize {
public:
    void number(std::uint64_t /*number*/) noexcept { size_ += sizeof(std::uint64_t); }
    void field(std::string_view field) noexcept { size_ += sizeof(std::uint64_t) + field.size(); }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

private:
    std::size_t size_ = 0;
};

class FingerprintWriter {
public:
    explicit FingerprintWriter(char* at) noexcept : at_(at) {}

    // Fixed-width little-endian, so that the servers of a fleet make the same bytes.
    void number(std::uint64_t number) noexcept
    {
        std::array<char, sizeof number> bytes{};
        if constexpr (std::endian::native == std::endian::little) {
            std::memcpy(bytes.data(), &number, sizeof number);  // the loop below, in one move
        } else {
            for (std::size_t byte = 0; byte < bytes.size(); ++byte) {
                bytes[byte] = static_cast<char>((number >> (8 * byte)) & 0xFFU);
            }
        }
        std::memcpy(at_, bytes.data(), bytes.size());
        at_ += bytes.size();
    }

    // Length-prefixed, so that no two different rule sets make the same bytes.
    void field(std::string_view field) noexcept
    {
        number(field.size());
        if (!field.empty()) {
            std::memcpy(at_, field.data(), field.size());
            at_ += field.size();
        }
    }

private:
    char* at_;
};

template <class Out>
void fingerprint_fields(const RuleSet& rules, const DecodeOptions& decoding, HeaderFormat chain_format, Out& out)
{
    out.number(static_cast<std::uint64_t>(decoding.format));
    out.number(static_cast<std::uint64_t>(chain_format));
    out.number(decoding.xfcc_element == XfccPick::first ? 1 : 0);
    out.number(decoding.max_length);
    out.number(rules.thumbprints.size());
    for (const Thumbprint& thumbprint : rules.thumbprints) {
        out.field(thumbprint.bytes());
    }
    out.number(rules.issuers.size());
    for (const DnPattern& pattern : rules.issuers) {
        out.field(pattern.text());
    }
    out.number(rules.subjects.size());
    for (const DnPattern& pattern : rules.subjects) {
        out.field(pattern.text());
    }
    out.number(rules.alt_names.size());
    for (const AltNamePattern& pattern : rules.alt_names) {
        out.field(pattern.text());
    }
    // By content, not by address: another process or server with the same files agrees.
    out.field(rules.chain.trust != nullptr ? rules.chain.trust->identity() : std::string_view());
    out.field(rules.chain.crls != nullptr ? rules.chain.crls->identity() : std::string_view());
    out.number(static_cast<std::uint64_t>(rules.chain.revocation.check));
    out.number(rules.chain.revocation.no_crl_for_cert_ok ? 1 : 0);
    out.number(static_cast<std::uint64_t>(rules.chain.depth));
    out.number((rules.accept_unverified ? 1U : 0U) | (rules.report_refusals ? 2U : 0U) |
               (rules.chain.partial_chain ? 4U : 0U) | (rules.chain.fetcher != nullptr ? 8U : 0U));
    if (const OcspPolicy* ocsp = rules.chain.ocsp; ocsp != nullptr && ocsp->mode != OcspMode::off) {
        out.number(static_cast<std::uint64_t>(ocsp->mode));
        out.number((ocsp->no_ocsp_for_cert_ok ? 1U : 0U) | (ocsp->soft_fail ? 2U : 0U) |
                   (ocsp->override_responder ? 4U : 0U) | (ocsp->use_nonce ? 8U : 0U));
        out.field(ocsp->default_responder != nullptr ? ocsp->default_responder : "");
        out.number(static_cast<std::uint64_t>(ocsp->max_age + 1));
        out.number(static_cast<std::uint64_t>(ocsp->time_skew));
        out.field(ocsp->responder_certs_identity);
    }
}

// xxHash's XXH3, about three times as fast as std::hash (MurmurHash2) here. Not keyed, as
// std::hash is not: a shard bounds what headers made to collide cost.
std::uint64_t text_hash(std::string_view text, std::uint64_t seed) noexcept
{
    return XXH3_64bits_withSeed(text.data(), text.size(), seed);
}

}  // namespace

// Built on every request that carries a header: binary, one allocation, nothing formatted.
std::string rules_fingerprint(const RuleSet& rules, const DecodeOptions& decoding, HeaderFormat chain_format)
{
    FingerprintSize size;
    fingerprint_fields(rules, decoding, chain_format, size);
    std::string out(size.size(), '\0');
    FingerprintWriter writer(out.data());
    fingerprint_fields(rules, decoding, chain_format, writer);
    return out;
}

std::string_view rules_fingerprint(const RuleSet& rules, const DecodeOptions& decoding, HeaderFormat chain_format,
                                   std::span<char> buffer, std::string& spill)
{
    FingerprintSize size;
    fingerprint_fields(rules, decoding, chain_format, size);
    char* out = buffer.data();
    if (size.size() > buffer.size()) {
        spill.assign(size.size(), '\0');
        out = spill.data();
    }
    FingerprintWriter writer(out);
    fingerprint_fields(rules, decoding, chain_format, writer);
    return {out, size.size()};
}

CacheKey cache_key(std::string_view header_value, std::string_view fingerprint, const EVP_MD* sha256)
{
    return Sha256Digest(sha256).add(header_value).add(fingerprint).finish();
}

std::size_t VerdictCache::hash_of(const JudgedFrom& from) noexcept
{
    // A bucket, not an identity (a lookup compares every byte): the ends of a long value and its
    // length tell certificates apart (a leaf's serial number opens every format, a signature ends
    // it) at a fraction of the cost of the 1.3 to 2.5 KB. Values made to share their ends meet in
    // a bucket, as values made to collide in XXH3 (unkeyed) could: a shard bounds them. So do the
    // scopes that judge the same value (the fingerprint's length only): a handful.
    constexpr std::size_t end = 128;
    const std::string_view values = from.values;
    const std::uint64_t seed = (values.size() << 16U) ^ from.fingerprint.size();
    if (values.size() <= 2 * end) {
        return static_cast<std::size_t>(text_hash(values, seed));
    }
    const std::uint64_t head = text_hash(values.substr(0, end), seed);
    return static_cast<std::size_t>(text_hash(values.substr(values.size() - end), head));
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

std::shared_ptr<const Verdict> VerdictCache::find(const JudgedFrom& from, std::int64_t now, std::int64_t* expires)
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
    if (expires != nullptr) {
        *expires = entry->expires;
    }
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
