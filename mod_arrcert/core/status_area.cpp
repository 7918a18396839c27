#include "arrcert/status_area.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

namespace arrcert {

namespace {

constexpr std::size_t round_up(std::size_t n, std::size_t to) noexcept
{
    return (n + to - 1) / to * to;
}

// Cut to fit `size` bytes with the terminating NUL, never inside a UTF-8 sequence.
void copy_text(char* to, std::size_t size, std::string_view text) noexcept
{
    std::size_t length = std::min(text.size(), size - 1);
    if (length < text.size()) {
        while (length > 0 && (static_cast<unsigned char>(text[length]) & 0xC0U) == 0x80U) {
            --length;
        }
    }
    std::memcpy(to, text.data(), length);
    to[length] = '\0';
}

// A text field as written by copy_text; bounded all the same (the block is shared with every child).
std::string bounded(const std::array<char, StatusArea::max_text>& text)
{
    return {text.data(), strnlen(text.data(), text.size())};
}

constexpr std::uint32_t pack(Decision::Outcome outcome, Rule rule) noexcept
{
    return (static_cast<std::uint32_t>(outcome) << 8U) | static_cast<std::uint32_t>(rule);
}

}  // namespace

// Written by one process at a time (under the lock), between two increments of `sequence`: a
// lock-free reader that sees it odd, or changed, does not trust what it read. The atomics are
// what lock-free readers touch; the rest is read under the lock only.
struct StatusArea::Entry {
    std::atomic<std::uint64_t> sequence{0};
    std::array<std::atomic<std::uint64_t>, 3> key{};
    std::atomic<std::int64_t> last_seen{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint32_t> last_verdict{0};
    // Lock-free touches in progress: an entry pinned is not evicted under them (touch_lock_free).
    std::atomic<std::uint32_t> pins{0};
    bool used = false;
    std::int64_t not_before = 0;
    std::int64_t not_after = 0;
    std::int64_t first_seen = 0;
    std::array<char, max_text> subject{};
    std::array<char, max_text> issuer{};
};

struct StatusArea::SourceSlot {
    bool used = false;
    SourceKind kind = SourceKind::crl_file;
    std::array<char, max_text> name{};
    std::int64_t last_success = 0;
    std::int64_t last_failure = 0;
    std::int64_t next_update = -1;
    std::int64_t touched = 0;
    std::uint64_t successes = 0;
    std::uint64_t failures = 0;
    std::array<char, max_text> last_error{};
};

// The process-shared mutex. Robust: when a process dies holding it (killed mid-update), the next
// one to lock it repairs the inventory instead of waiting forever. A lock that fails otherwise
// leaves `locked()` false and the caller skips its update: a count lost, never a request held.
class StatusArea::Guard {
public:
    explicit Guard(const StatusArea& area) noexcept : mutex_(const_cast<pthread_mutex_t*>(&area.mutex_))
    {
        const int status = pthread_mutex_lock(mutex_);
        if (status == EOWNERDEAD) {
            const_cast<StatusArea&>(area).repair_locked();
            pthread_mutex_consistent(mutex_);
        }
        locked_ = status == 0 || status == EOWNERDEAD;
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    Guard(Guard&&) = delete;
    Guard& operator=(Guard&&) = delete;
    ~Guard()
    {
        if (locked_) {
            pthread_mutex_unlock(mutex_);
        }
    }
    [[nodiscard]] bool locked() const noexcept { return locked_; }

private:
    pthread_mutex_t* mutex_;
    bool locked_ = false;
};

std::string_view counter_name(Counter counter) noexcept
{
    switch (counter) {
        case Counter::accepted: return "Accepted";
        case Counter::refused: return "Refused";
        case Counter::no_certificate: return "NoCertificate";
        case Counter::headers_stripped: return "HeadersStripped";
        case Counter::memory_cache_hits: return "MemoryCacheHits";
        case Counter::memory_cache_misses: return "MemoryCacheMisses";
        case Counter::shared_cache_hits: return "SharedCacheHits";
        case Counter::shared_cache_misses: return "SharedCacheMisses";
        case Counter::crl_reloads: return "CrlReloads";
        case Counter::crl_reload_failures: return "CrlReloadFailures";
        case Counter::crl_fetches: return "CrlFetches";
        case Counter::crl_fetch_failures: return "CrlFetchFailures";
        case Counter::ocsp_queries: return "OcspQueries";
        case Counter::ocsp_query_failures: return "OcspQueryFailures";
    }
    return "Unknown";
}

std::string_view source_kind_name(SourceKind kind) noexcept
{
    switch (kind) {
        case SourceKind::crl_file: return "crl-file";
        case SourceKind::crl_fetch: return "crl-distribution-point";
        case SourceKind::ocsp_responder: return "ocsp-responder";
        case SourceKind::shared_cache: return "shared-cache";
    }
    return "unknown";
}

bool belongs_in_inventory(const Verdict& verdict) noexcept
{
    if (verdict.kind != Verdict::Kind::judged) {
        return false;
    }
    // The rules after the chain and the pins: what they refuse is genuine. (Validity is decided
    // per request and is not a failed rule of the verdict.)
    switch (verdict.failed_rule) {
        case Rule::none:
        case Rule::issuer:
        case Rule::subject:
        case Rule::san: return true;
        default: return false;
    }
}

std::size_t StatusArea::bytes_for(std::size_t inventory_capacity) noexcept
{
    const std::size_t capacity = std::min(inventory_capacity, max_inventory);
    std::size_t buckets = 2;
    while (buckets < 2 * capacity) {
        buckets *= 2;
    }
    const std::size_t head = round_up(sizeof(StatusArea), alignof(std::max_align_t));
    const std::size_t sources = round_up(sizeof(SourceSlot) * max_sources, alignof(std::max_align_t));
    const std::size_t entries = round_up(sizeof(Entry) * capacity, alignof(std::max_align_t));
    return head + sources + entries + sizeof(std::atomic<std::int32_t>) * buckets;
}

StatusArea* StatusArea::create(void* block, std::size_t inventory_capacity)
{
    return new (block) StatusArea(std::min(inventory_capacity, max_inventory));
}

StatusArea::StatusArea(std::size_t inventory_capacity) noexcept : capacity_(inventory_capacity)
{
    pthread_mutexattr_t attributes;
    pthread_mutexattr_init(&attributes);
    pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&mutex_, &attributes);
    pthread_mutexattr_destroy(&attributes);

    buckets_ = 2;
    while (buckets_ < 2 * capacity_) {
        buckets_ *= 2;
    }
    const std::size_t head = round_up(sizeof(StatusArea), alignof(std::max_align_t));
    auto* base = reinterpret_cast<unsigned char*>(this);
    sources_offset_ = head;
    for (std::size_t i = 0; i < max_sources; ++i) {
        new (base + head + i * sizeof(SourceSlot)) SourceSlot();
    }
    entries_offset_ = head + round_up(sizeof(SourceSlot) * max_sources, alignof(std::max_align_t));
    buckets_offset_ = entries_offset_ + round_up(sizeof(Entry) * capacity_, alignof(std::max_align_t));
    for (std::size_t i = 0; i < capacity_; ++i) {
        new (base + entries_offset_ + i * sizeof(Entry)) Entry();
    }
    for (std::size_t i = 0; i < buckets_; ++i) {
        new (base + buckets_offset_ + i * sizeof(std::atomic<std::int32_t>)) std::atomic<std::int32_t>(-1);
    }
}

StatusArea::Entry& StatusArea::entry(std::size_t slot) const noexcept
{
    auto* base = reinterpret_cast<unsigned char*>(const_cast<StatusArea*>(this));
    return *std::launder(reinterpret_cast<Entry*>(base + entries_offset_ + slot * sizeof(Entry)));
}

StatusArea::SourceSlot& StatusArea::source(std::size_t at) const noexcept
{
    auto* base = reinterpret_cast<unsigned char*>(const_cast<StatusArea*>(this));
    return *std::launder(reinterpret_cast<SourceSlot*>(base + sources_offset_ + at * sizeof(SourceSlot)));
}

std::atomic<std::int32_t>& StatusArea::bucket(std::size_t at) const noexcept
{
    auto* base = reinterpret_cast<unsigned char*>(const_cast<StatusArea*>(this));
    return *std::launder(
        reinterpret_cast<std::atomic<std::int32_t>*>(base + buckets_offset_ + at * sizeof(std::atomic<std::int32_t>)));
}

StatusArea::Key StatusArea::key_of(const Sha1& sha1) noexcept
{
    Key key{};
    std::memcpy(key.data(), sha1.data(), sha1.size());
    return key;
}

std::size_t StatusArea::home(const Key& key) const noexcept
{
    return static_cast<std::size_t>(key[0]) & (buckets_ - 1);  // SHA-1 bits are uniform already
}

void StatusArea::count_decision(Decision::Outcome outcome, Rule rule) noexcept
{
    switch (outcome) {
        case Decision::Outcome::success: count(Counter::accepted); break;
        case Decision::Outcome::none: count(Counter::no_certificate); break;
        case Decision::Outcome::failed:
            count(Counter::refused);
            refused_by_rule_.at(static_cast<std::size_t>(rule)).fetch_add(1, std::memory_order_relaxed);
            break;
    }
}

// The entry is pinned before its sequence is read, and insert_locked makes an entry odd before it
// reads the pins (both sequentially consistent): either this sees the eviction (odd, or a changed
// sequence) and leaves it to the locked path, or the eviction sees the pin and picks another.
bool StatusArea::touch_lock_free(const Key& key, const SeenCertificate& seen) noexcept
{
    const std::size_t mask = buckets_ - 1;
    for (std::size_t probe = 0, at = home(key); probe < buckets_; ++probe, at = (at + 1) & mask) {
        const std::int32_t slot = bucket(at).load(std::memory_order_acquire);
        if (slot < 0 || static_cast<std::size_t>(slot) >= capacity_) {
            return false;
        }
        Entry& candidate = entry(static_cast<std::size_t>(slot));
        candidate.pins.fetch_add(1, std::memory_order_seq_cst);
        const std::uint64_t before = candidate.sequence.load(std::memory_order_seq_cst);
        bool same = (before & 1U) == 0;
        // Acquire loads: the second look at the sequence cannot move before them.
        for (std::size_t i = 0; same && i < key.size(); ++i) {
            same = candidate.key.at(i).load(std::memory_order_acquire) == key.at(i);
        }
        const bool whole = (before & 1U) == 0 && candidate.sequence.load(std::memory_order_seq_cst) == before;
        if (whole && same) {
            touch(candidate, seen);
        }
        candidate.pins.fetch_sub(1, std::memory_order_release);
        if (!whole) {
            return false;  // being rewritten: the locked path decides
        }
        if (same) {
            return true;
        }
    }
    return false;
}

std::int32_t StatusArea::find_locked(const Key& key) const noexcept
{
    const std::size_t mask = buckets_ - 1;
    for (std::size_t probe = 0, at = home(key); probe < buckets_; ++probe, at = (at + 1) & mask) {
        const std::int32_t slot = bucket(at).load(std::memory_order_relaxed);
        if (slot < 0 || static_cast<std::size_t>(slot) >= capacity_) {
            return -1;
        }
        const Entry& candidate = entry(static_cast<std::size_t>(slot));
        bool same = true;
        for (std::size_t i = 0; i < key.size(); ++i) {
            same = same && candidate.key.at(i).load(std::memory_order_relaxed) == key.at(i);
        }
        if (same) {
            return slot;
        }
    }
    return -1;
}

void StatusArea::link_locked(std::int32_t slot) noexcept
{
    Key key{};
    for (std::size_t i = 0; i < key.size(); ++i) {
        key.at(i) = entry(static_cast<std::size_t>(slot)).key.at(i).load(std::memory_order_relaxed);
    }
    const std::size_t mask = buckets_ - 1;
    std::size_t at = home(key);
    while (bucket(at).load(std::memory_order_relaxed) >= 0) {  // at most half the buckets are taken
        at = (at + 1) & mask;
    }
    bucket(at).store(slot, std::memory_order_release);
}

// Linear probing's deletion: later members of the run move back over the hole, so that every
// key stays reachable from its home bucket without tombstones.
void StatusArea::unlink_locked(std::int32_t slot) noexcept
{
    const std::size_t mask = buckets_ - 1;
    std::size_t hole = 0;
    bool found = false;
    for (std::size_t at = 0; at < buckets_ && !found; ++at) {
        if (bucket(at).load(std::memory_order_relaxed) == slot) {
            hole = at;
            found = true;
        }
    }
    if (!found) {
        return;
    }
    for (std::size_t next = (hole + 1) & mask;; next = (next + 1) & mask) {
        const std::int32_t moving = bucket(next).load(std::memory_order_relaxed);
        if (moving < 0) {
            break;
        }
        Key key{};
        for (std::size_t i = 0; i < key.size(); ++i) {
            key.at(i) = entry(static_cast<std::size_t>(moving)).key.at(i).load(std::memory_order_relaxed);
        }
        // It may move back into the hole unless its home lies cyclically in (hole, next].
        const std::size_t from_home = (next - home(key)) & mask;
        const std::size_t from_hole = (next - hole) & mask;
        if (from_home >= from_hole) {
            bucket(hole).store(moving, std::memory_order_release);
            hole = next;
        }
    }
    bucket(hole).store(-1, std::memory_order_release);
}

void StatusArea::touch(Entry& entry, const SeenCertificate& seen) noexcept
{
    entry.requests.fetch_add(1, std::memory_order_relaxed);
    entry.last_seen.store(seen.now, std::memory_order_relaxed);
    entry.last_verdict.store(pack(seen.outcome, seen.rule), std::memory_order_relaxed);
}

std::int32_t StatusArea::insert_locked(const Key& key, const SeenCertificate& seen) noexcept
{
    std::int32_t slot = -1;
    if (used_.load(std::memory_order_relaxed) < capacity_) {
        for (std::size_t i = 0; i < capacity_ && slot < 0; ++i) {
            if (!entry(i).used) {
                slot = static_cast<std::int32_t>(i);
            }
        }
        used_.fetch_add(1, std::memory_order_relaxed);
    } else {
        slot = evict_locked();
        if (slot < 0) {
            return -1;
        }
    }
    Entry& target = entry(static_cast<std::size_t>(slot));
    if (!target.used) {
        // Odd: being written. Its acquire half keeps the writes below after it.
        target.sequence.fetch_add(1, std::memory_order_acq_rel);
    } else {
        unlink_locked(slot);
    }
    for (std::size_t i = 0; i < key.size(); ++i) {
        target.key.at(i).store(key.at(i), std::memory_order_release);  // a reader that sees it sees the odd sequence
    }
    target.used = true;
    target.not_before = seen.not_before;
    target.not_after = seen.not_after;
    target.first_seen = seen.now;
    copy_text(target.subject.data(), target.subject.size(), seen.subject);
    copy_text(target.issuer.data(), target.issuer.size(), seen.issuer);
    target.requests.store(0, std::memory_order_relaxed);
    target.last_seen.store(seen.now, std::memory_order_relaxed);
    target.sequence.fetch_add(1, std::memory_order_release);  // even: whole again
    link_locked(slot);
    return slot;
}

// The least recently seen entry that no lock-free touch holds, made odd (being written); -1 when
// a few tries all met a touch (a certificate seen this very moment is not pushed out for another).
std::int32_t StatusArea::evict_locked() noexcept
{
    constexpr int tries = 4;
    std::array<std::int32_t, tries> skipped{-1, -1, -1, -1};
    for (int attempt = 0; attempt < tries; ++attempt) {
        std::int32_t slot = -1;
        std::int64_t oldest = 0;
        for (std::size_t i = 0; i < capacity_; ++i) {
            const auto candidate = static_cast<std::int32_t>(i);
            if (std::find(skipped.begin(), skipped.end(), candidate) != skipped.end()) {
                continue;
            }
            const std::int64_t seen_at = entry(i).last_seen.load(std::memory_order_relaxed);
            if (slot < 0 || seen_at < oldest) {
                slot = candidate;
                oldest = seen_at;
            }
        }
        if (slot < 0) {
            return -1;
        }
        Entry& victim = entry(static_cast<std::size_t>(slot));
        victim.sequence.fetch_add(1, std::memory_order_seq_cst);  // odd
        if (victim.pins.load(std::memory_order_seq_cst) == 0) {
            return slot;
        }
        victim.sequence.fetch_add(1, std::memory_order_seq_cst);  // even again: it is in use
        skipped.at(static_cast<std::size_t>(attempt)) = slot;
    }
    return -1;
}

void StatusArea::record_certificate(const SeenCertificate& seen) noexcept
{
    if (capacity_ == 0) {
        return;
    }
    const Key key = key_of(seen.sha1);
    if (touch_lock_free(key, seen)) {
        return;
    }
    const Guard guard(*this);
    if (!guard.locked()) {
        return;
    }
    std::int32_t slot = find_locked(key);
    if (slot < 0) {
        slot = insert_locked(key, seen);
    }
    if (slot >= 0) {
        touch(entry(static_cast<std::size_t>(slot)), seen);
    }
}

void StatusArea::repair_locked() noexcept
{
    // An entry left half written is dropped; the buckets are made again from the entries.
    used_.store(0, std::memory_order_relaxed);
    for (std::size_t at = 0; at < buckets_; ++at) {
        bucket(at).store(-1, std::memory_order_relaxed);
    }
    for (std::size_t i = 0; i < capacity_; ++i) {
        Entry& each = entry(i);
        each.pins.store(0, std::memory_order_relaxed);  // a toucher may have died too
        if ((each.sequence.load(std::memory_order_relaxed) & 1U) != 0) {
            each.used = false;
            each.sequence.fetch_add(1, std::memory_order_release);
        }
        if (each.used) {
            used_.fetch_add(1, std::memory_order_relaxed);
            link_locked(static_cast<std::int32_t>(i));
        }
    }
}

void StatusArea::record_source(const SourceEvent& event) noexcept
{
    const Guard guard(*this);
    if (!guard.locked()) {
        return;
    }
    char name[max_text];
    copy_text(name, sizeof name, event.name);
    SourceSlot* slot = nullptr;
    SourceSlot* free = nullptr;
    SourceSlot* stalest = nullptr;
    for (std::size_t i = 0; i < max_sources; ++i) {
        SourceSlot& each = source(i);
        if (!each.used) {
            free = free != nullptr ? free : &each;
        } else if (each.kind == event.kind && std::strcmp(each.name.data(), name) == 0) {
            slot = &each;
            break;
        } else if (stalest == nullptr || each.touched < stalest->touched) {
            stalest = &each;
        }
    }
    if (slot == nullptr) {
        slot = free != nullptr ? free : stalest;
        *slot = SourceSlot{};
        slot->used = true;
        slot->kind = event.kind;
        copy_text(slot->name.data(), slot->name.size(), name);
    }
    slot->touched = event.at;
    if (event.ok) {
        slot->last_success = event.at;
        slot->next_update = event.next_update;
        ++slot->successes;
    } else {
        slot->last_failure = event.at;
        copy_text(slot->last_error.data(), slot->last_error.size(), event.error);
        ++slot->failures;
    }
}

StatusSnapshot StatusArea::counters(std::int64_t now) const noexcept
{
    StatusSnapshot snapshot;
    snapshot.now = now;
    snapshot.inventory_capacity = capacity_;
    snapshot.inventory_size = used_.load(std::memory_order_relaxed);
    for (std::size_t i = 0; i < counter_count; ++i) {
        snapshot.counters.at(i) = counters_.at(i).load(std::memory_order_relaxed);
    }
    for (std::size_t i = 0; i < rule_count; ++i) {
        snapshot.refused_by_rule.at(i) = refused_by_rule_.at(i).load(std::memory_order_relaxed);
    }
    return snapshot;
}

StatusSnapshot StatusArea::snapshot(std::int64_t now) const
{
    StatusSnapshot snapshot = counters(now);
    {
        const Guard guard(*this);
        if (guard.locked()) {
            for (std::size_t i = 0; i < max_sources; ++i) {
                const SourceSlot& each = source(i);
                if (each.used) {
                    snapshot.sources.push_back({each.kind, bounded(each.name), each.last_success, each.last_failure,
                                                each.next_update, bounded(each.last_error), each.successes,
                                                each.failures});
                }
            }
            snapshot.inventory.reserve(used_.load(std::memory_order_relaxed));
            for (std::size_t i = 0; i < capacity_; ++i) {
                const Entry& each = entry(i);
                if (!each.used) {
                    continue;
                }
                Sha1 sha1{};
                for (std::size_t word = 0; word < each.key.size(); ++word) {
                    const std::uint64_t value = each.key.at(word).load(std::memory_order_relaxed);
                    const std::size_t offset = word * sizeof value;
                    if (offset < sha1.size()) {
                        std::memcpy(sha1.data() + offset, &value, std::min(sizeof value, sha1.size() - offset));
                    }
                }
                const std::uint32_t verdict = each.last_verdict.load(std::memory_order_relaxed);
                snapshot.inventory.push_back(
                    {to_hex(sha1), bounded(each.subject), bounded(each.issuer), each.not_before, each.not_after,
                     each.first_seen, each.last_seen.load(std::memory_order_relaxed),
                     each.requests.load(std::memory_order_relaxed), static_cast<Decision::Outcome>(verdict >> 8U),
                     static_cast<Rule>(verdict & 0xFFU)});
            }
        }
    }
    snapshot.inventory_size = snapshot.inventory.size();
    std::sort(snapshot.sources.begin(), snapshot.sources.end(),
              [](const auto& a, const auto& b) { return a.kind != b.kind ? a.kind < b.kind : a.name < b.name; });
    std::sort(snapshot.inventory.begin(), snapshot.inventory.end(), [](const auto& a, const auto& b) {
        return a.not_after != b.not_after ? a.not_after < b.not_after : a.sha1_hex < b.sha1_hex;
    });
    return snapshot;
}

}  // namespace arrcert
