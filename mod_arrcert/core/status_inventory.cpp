// The status area's inventory of client certificates: an open-addressing index of entry numbers
// (numbers, not pointers: the block is shared), a list of entries by when each was last placed
// at its newest end, and sequence-checked entries that requests touch and pages copy without the
// lock.
#include <sched.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "arrcert/status_area.h"
#include "status_area_parts.h"

namespace arrcert {

namespace {

constexpr std::uint32_t pack(Decision::Outcome outcome, Rule rule) noexcept
{
    return (static_cast<std::uint32_t>(outcome) << 8U) | static_cast<std::uint32_t>(rule);
}

}  // namespace

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

// The entry is pinned before its sequence is read, and an eviction makes an entry odd before it
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

namespace {

template <class Entry>
std::array<std::uint64_t, 3> key_in(const Entry& entry, std::memory_order order = std::memory_order_relaxed) noexcept
{
    std::array<std::uint64_t, 3> key{};
    for (std::size_t i = 0; i < key.size(); ++i) {
        key.at(i) = entry.key.at(i).load(order);
    }
    return key;
}

}  // namespace

void StatusArea::index_locked(std::int32_t slot) noexcept
{
    const std::size_t mask = buckets_ - 1;
    std::size_t at = home(key_in(entry(static_cast<std::size_t>(slot))));
    while (bucket(at).load(std::memory_order_relaxed) >= 0) {  // at most half the buckets are taken
        at = (at + 1) & mask;
    }
    bucket(at).store(slot, std::memory_order_release);
}

// Linear probing's deletion: later members of the run move back over the hole, so that every
// key stays reachable from its home bucket without tombstones. The entry's key must still be the
// one it was indexed by.
void StatusArea::unindex_locked(std::int32_t slot) noexcept
{
    const std::size_t mask = buckets_ - 1;
    std::size_t hole = home(key_in(entry(static_cast<std::size_t>(slot))));
    for (std::int32_t at = bucket(hole).load(std::memory_order_relaxed); at != slot;
         at = bucket(hole).load(std::memory_order_relaxed)) {
        if (at < 0) {
            return;  // not indexed
        }
        hole = (hole + 1) & mask;
    }
    for (std::size_t next = (hole + 1) & mask;; next = (next + 1) & mask) {
        const std::int32_t moving = bucket(next).load(std::memory_order_relaxed);
        if (moving < 0) {
            break;
        }
        // It may move back into the hole unless its home lies cyclically in (hole, next].
        const std::size_t from_home = (next - home(key_in(entry(static_cast<std::size_t>(moving))))) & mask;
        const std::size_t from_hole = (next - hole) & mask;
        if (from_home >= from_hole) {
            bucket(hole).store(moving, std::memory_order_release);
            hole = next;
        }
    }
    bucket(hole).store(-1, std::memory_order_release);
}

// At the newest end. `at` never goes below the newest's placement: the list stays in order even
// when requests' clocks disagree by a second.
void StatusArea::push_newest_locked(std::int32_t slot, std::int64_t at) noexcept
{
    Entry& placed = entry(static_cast<std::size_t>(slot));
    placed.older = newest_;
    placed.newer = -1;
    if (newest_ >= 0) {
        Entry& previous = entry(static_cast<std::size_t>(newest_));
        previous.newer = slot;
        at = std::max(at, previous.placed_at);
    } else {
        oldest_ = slot;
    }
    placed.placed_at = at;
    newest_ = slot;
}

void StatusArea::remove_from_list_locked(std::int32_t slot) noexcept
{
    Entry& gone = entry(static_cast<std::size_t>(slot));
    (gone.older >= 0 ? entry(static_cast<std::size_t>(gone.older)).newer : oldest_) = gone.newer;
    (gone.newer >= 0 ? entry(static_cast<std::size_t>(gone.newer)).older : newest_) = gone.older;
    gone.older = -1;
    gone.newer = -1;
}

void StatusArea::touch(Entry& entry, const SeenCertificate& seen) noexcept
{
    entry.requests.fetch_add(1, std::memory_order_relaxed);
    entry.last_seen.store(seen.now, std::memory_order_relaxed);
    entry.last_verdict.store(pack(seen.outcome, seen.rule), std::memory_order_relaxed);
}

// Made odd (being written) and out of the list, unless a lock-free touch holds it this moment.
bool StatusArea::take_locked(std::int32_t slot) noexcept
{
    Entry& taken = entry(static_cast<std::size_t>(slot));
    taken.sequence.fetch_add(1, std::memory_order_seq_cst);
    if (taken.pins.load(std::memory_order_seq_cst) == 0) {
        remove_from_list_locked(slot);
        return true;
    }
    taken.sequence.fetch_add(1, std::memory_order_seq_cst);  // even again
    return false;
}

// The entry to push out, taken (take_locked); -1 when touches hold the candidates. From the oldest
// placed: an entry seen again since it was placed goes back to the newest end (a second chance),
// and the first one not seen again is taken. So a certificate seen again is not pushed out before
// one that was not, and among those the least recently seen goes first (to the second; among
// equals, the one placed first). The walk gives at most max_second_chances: when those were all
// seen again, the least recently seen of them goes. Constant time, whatever the requests did.
std::int32_t StatusArea::evict_locked() noexcept
{
    std::int32_t fallback = -1;
    std::int64_t fallback_seen = 0;
    for (std::size_t step = 0; step < max_second_chances && oldest_ >= 0; ++step) {
        const std::int32_t slot = oldest_;
        Entry& candidate = entry(static_cast<std::size_t>(slot));
        const std::int64_t seen_at = candidate.last_seen.load(std::memory_order_relaxed);
        if (seen_at <= candidate.placed_at && take_locked(slot)) {
            return slot;
        }
        if (fallback < 0 || seen_at < fallback_seen) {
            fallback = slot;
            fallback_seen = seen_at;
        }
        remove_from_list_locked(slot);
        push_newest_locked(slot, seen_at);
    }
    return fallback >= 0 && take_locked(fallback) ? fallback : -1;
}

std::int32_t StatusArea::insert_locked(const Key& key, const SeenCertificate& seen) noexcept
{
    std::int32_t slot = -1;
    if (free_ >= 0) {
        slot = free_;
        free_ = entry(static_cast<std::size_t>(slot)).older;
    } else if (fresh_ < capacity_) {
        slot = static_cast<std::int32_t>(fresh_++);
    }
    if (slot >= 0) {
        used_.fetch_add(1, std::memory_order_relaxed);
        entry(static_cast<std::size_t>(slot)).sequence.fetch_add(1, std::memory_order_seq_cst);  // odd: being written
    } else {
        slot = evict_locked();  // odd already, out of the list
        if (slot < 0) {
            return -1;
        }
        unindex_locked(slot);
    }
    Entry& written = entry(static_cast<std::size_t>(slot));
    // Release stores: a reader that sees any of them (acquire loads) sees the odd sequence after.
    for (std::size_t i = 0; i < key.size(); ++i) {
        written.key.at(i).store(key.at(i), std::memory_order_release);
    }
    written.used.store(true, std::memory_order_release);
    written.not_before.store(seen.not_before, std::memory_order_release);
    written.not_after.store(seen.not_after, std::memory_order_release);
    written.first_seen.store(seen.now, std::memory_order_release);
    store_text(written.subject, seen.subject);
    store_text(written.issuer, seen.issuer);
    written.requests.store(1, std::memory_order_release);
    written.last_seen.store(seen.now, std::memory_order_release);
    written.last_verdict.store(pack(seen.outcome, seen.rule), std::memory_order_release);
    written.sequence.fetch_add(1, std::memory_order_release);  // even: whole again
    index_locked(slot);
    push_newest_locked(slot, seen.now);
    return slot;
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
    if (const std::int32_t slot = find_locked(key); slot >= 0) {
        touch(entry(static_cast<std::size_t>(slot)), seen);
    } else {
        insert_locked(key, seen);  // seen once
    }
}

// After a process died holding the lock, anywhere in an update: an entry left half written is
// dropped, and the index, the free list and the list by placement are made again from the
// entries (the list by last_seen: the order evictions need).
void StatusArea::repair_locked() noexcept
{
    used_.store(0, std::memory_order_relaxed);
    free_ = -1;
    oldest_ = -1;
    newest_ = -1;
    for (std::size_t at = 0; at < buckets_; ++at) {
        bucket(at).store(-1, std::memory_order_relaxed);
    }
    std::vector<std::int32_t> order;
    try {
        order.reserve(fresh_);
    } catch (const std::bad_alloc&) {
        order.clear();  // in the entries' order then: still a working inventory
    }
    for (std::size_t i = fresh_; i-- > 0;) {
        Entry& each = entry(i);
        const auto slot = static_cast<std::int32_t>(i);
        each.pins.store(0, std::memory_order_relaxed);  // a toucher may have died too
        if ((each.sequence.load(std::memory_order_relaxed) & 1U) != 0) {
            each.used.store(false, std::memory_order_relaxed);
            each.sequence.fetch_add(1, std::memory_order_release);
        }
        if (!each.used.load(std::memory_order_relaxed)) {
            each.older = free_;
            free_ = slot;
            continue;
        }
        used_.fetch_add(1, std::memory_order_relaxed);
        index_locked(slot);
        if (order.capacity() > order.size()) {
            order.push_back(slot);
        } else {
            push_newest_locked(slot, each.last_seen.load(std::memory_order_relaxed));
        }
    }
    const auto seen_at = [this](std::int32_t slot) {
        return entry(static_cast<std::size_t>(slot)).last_seen.load(std::memory_order_relaxed);
    };
    std::sort(order.begin(), order.end(), [&](std::int32_t a, std::int32_t b) {
        return seen_at(a) != seen_at(b) ? seen_at(a) < seen_at(b) : a < b;
    });
    for (const std::int32_t slot : order) {
        push_newest_locked(slot, seen_at(slot));
    }
}

// One entry as it was between two writes, without the lock; false when unused, or rewritten
// again and again while it was read (the page then goes without it).
bool StatusArea::copy_entry(std::size_t slot, StatusSnapshot::Certificate& out) const
{
    const Entry& each = entry(slot);
    std::array<char, max_text> subject{};
    std::array<char, max_text> issuer{};
    for (int attempt = 0; attempt < 100; ++attempt) {
        const std::uint64_t before = each.sequence.load(std::memory_order_acquire);
        if ((before & 1U) != 0) {
            sched_yield();  // a writer holds it for a moment (or died: the next lock repairs it)
            continue;
        }
        if (!each.used.load(std::memory_order_relaxed)) {
            return false;
        }
        const Key key = key_in(each, std::memory_order_acquire);
        load_text(each.subject, subject);
        load_text(each.issuer, issuer);
        out.not_before = each.not_before.load(std::memory_order_acquire);
        out.not_after = each.not_after.load(std::memory_order_acquire);
        out.first_seen = each.first_seen.load(std::memory_order_acquire);
        out.last_seen = each.last_seen.load(std::memory_order_acquire);
        out.requests = each.requests.load(std::memory_order_acquire);
        const std::uint32_t verdict = each.last_verdict.load(std::memory_order_acquire);
        if (each.sequence.load(std::memory_order_relaxed) != before) {
            continue;
        }
        Sha1 sha1{};
        std::memcpy(sha1.data(), key.data(), sha1.size());
        out.sha1_hex = to_hex(sha1);
        out.subject = bounded(subject.data(), subject.size());
        out.issuer = bounded(issuer.data(), issuer.size());
        out.outcome = static_cast<Decision::Outcome>(verdict >> 8U);
        out.rule = static_cast<Rule>(verdict & 0xFFU);
        return true;
    }
    return false;
}

void StatusArea::copy_inventory(StatusSnapshot& snapshot) const
{
    snapshot.inventory.reserve(used_.load(std::memory_order_relaxed));
    for (std::size_t i = 0; i < capacity_; ++i) {
        StatusSnapshot::Certificate certificate;
        if (copy_entry(i, certificate)) {
            snapshot.inventory.push_back(std::move(certificate));
        }
    }
}

}  // namespace arrcert
