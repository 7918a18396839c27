#include "arrcert/status_area.h"

#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "status_area_parts.h"

namespace arrcert {

namespace {

constexpr std::size_t round_up(std::size_t n, std::size_t to) noexcept
{
    return (n + to - 1) / to * to;
}

}  // namespace

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

std::string bounded(const char* text, std::size_t size)
{
    return {text, strnlen(text, size)};
}

void store_text(SharedText& to, std::string_view text) noexcept
{
    std::array<char, StatusArea::max_text> bytes{};
    copy_text(bytes.data(), bytes.size(), text);
    for (std::size_t i = 0; i < to.size(); ++i) {
        std::uint64_t word = 0;
        std::memcpy(&word, bytes.data() + i * sizeof word, sizeof word);
        to.at(i).store(word, std::memory_order_release);
    }
}

void load_text(const SharedText& from, std::array<char, StatusArea::max_text>& to) noexcept
{
    for (std::size_t i = 0; i < from.size(); ++i) {
        const std::uint64_t word = from.at(i).load(std::memory_order_acquire);
        std::memcpy(to.data() + i * sizeof word, &word, sizeof word);
    }
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
    slot->next_refresh = event.next_refresh;
    if (event.ok) {
        slot->last_success = event.at;
        slot->next_update = event.next_update;
        slot->failing = 0;
        ++slot->successes;
    } else {
        slot->last_failure = event.at;
        copy_text(slot->last_error.data(), slot->last_error.size(), event.error);
        slot->failing = event.failures > 0 ? static_cast<std::uint32_t>(event.failures) : slot->failing + 1;
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
    // The sources are copied as they lie (a few KB) under the lock, and made into strings after.
    // A page goes without them rather than wait for a process stopped holding the lock.
    std::vector<SourceSlot> slots(max_sources);
    {
        const Guard guard(*this, 200);
        if (guard.locked()) {
            for (std::size_t i = 0; i < max_sources; ++i) {
                slots[i] = source(i);
            }
        }
    }
    for (const SourceSlot& each : slots) {
        if (each.used) {
            snapshot.sources.push_back({each.kind, bounded(each.name.data(), each.name.size()), each.last_success,
                                        each.last_failure, each.next_update,
                                        bounded(each.last_error.data(), each.last_error.size()), each.successes,
                                        each.failures, each.next_refresh, each.failing});
        }
    }
    copy_inventory(snapshot);
    std::sort(snapshot.sources.begin(), snapshot.sources.end(),
              [](const auto& a, const auto& b) { return a.kind != b.kind ? a.kind < b.kind : a.name < b.name; });
    std::sort(snapshot.inventory.begin(), snapshot.inventory.end(), [](const auto& a, const auto& b) {
        if (a.not_after != b.not_after) {
            return a.not_after < b.not_after;
        }
        return a.sha1_hex != b.sha1_hex ? a.sha1_hex < b.sha1_hex : a.first_seen > b.first_seen;
    });
    // Entries are read one by one: a certificate pushed out and listed again meanwhile is read
    // twice. The newer listing stays.
    snapshot.inventory.erase(std::unique(snapshot.inventory.begin(), snapshot.inventory.end(),
                                         [](const auto& a, const auto& b) { return a.sha1_hex == b.sha1_hex; }),
                             snapshot.inventory.end());
    snapshot.inventory_size = snapshot.inventory.size();
    return snapshot;
}

}  // namespace arrcert
