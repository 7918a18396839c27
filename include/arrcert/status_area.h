// What the module counts and remembers for every process of a server, in one block of shared
// memory that the glue maps before the children are forked: counters, the state of the revocation
// sources and caches, and an inventory of the client certificates seen. The request path touches
// only atomics; a process-shared mutex guards the rare writes (a certificate seen for the first
// time, a CRL loaded), each in constant time, and the copy of the sources. The inventory is read
// for a snapshot without the lock, entry by entry (sequence-checked), so a page never holds a
// request up.
#pragma once

#include <pthread.h>

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "arrcert/certificate.h"
#include "arrcert/rules.h"
#include "arrcert/source_event.h"

namespace arrcert {

// Every counter, once: its enumerator, its name (mod_status's "ArrCert<name>" lines, the pages,
// the JSON key), and its Prometheus metric and labels. The enum, counter_name() and every
// rendering (status_report.cpp) come from this list, in its order: a counter is one row here (and
// a new metric one HELP text in status_report.cpp). rule="{rule}": one sample per refusing rule,
// from refused_by_rule. A macro because the enumerators come from it too; what each counts:
// docs/status.md.
#define ARRCERT_COUNTERS(X)                                                                                      \
    X(accepted, "Accepted", "arrcert_requests_total", R"(outcome="accepted",rule="none")")                       \
    X(refused, "Refused", "arrcert_requests_total", R"(outcome="refused",rule="{rule}")")                        \
    X(no_certificate, "NoCertificate", "arrcert_requests_total", R"(outcome="none",rule="none")")                \
    X(headers_stripped, "HeadersStripped", "arrcert_headers_stripped_total", "")                                 \
    X(memory_cache_hits, "MemoryCacheHits", "arrcert_cache_lookups_total", R"(tier="memory",result="hit")")      \
    X(memory_cache_misses, "MemoryCacheMisses", "arrcert_cache_lookups_total", R"(tier="memory",result="miss")") \
    X(shared_cache_hits, "SharedCacheHits", "arrcert_cache_lookups_total", R"(tier="shared",result="hit")")      \
    X(shared_cache_misses, "SharedCacheMisses", "arrcert_cache_lookups_total", R"(tier="shared",result="miss")") \
    X(crl_reloads, "CrlReloads", "arrcert_crl_reloads_total", R"(result="ok")")                                  \
    X(crl_reload_failures, "CrlReloadFailures", "arrcert_crl_reloads_total", R"(result="failed")")               \
    X(crl_fetches, "CrlFetches", "arrcert_crl_fetches_total", R"(result="ok")")                                  \
    X(crl_fetch_failures, "CrlFetchFailures", "arrcert_crl_fetches_total", R"(result="failed")")                 \
    X(ocsp_queries, "OcspQueries", "arrcert_ocsp_queries_total", R"(result="ok")")                               \
    X(ocsp_query_failures, "OcspQueryFailures", "arrcert_ocsp_queries_total", R"(result="failed")")

enum class Counter : std::uint8_t {
#define ARRCERT_COUNTER_ENUMERATOR(id, name, metric, labels) id,
    ARRCERT_COUNTERS(ARRCERT_COUNTER_ENUMERATOR)
#undef ARRCERT_COUNTER_ENUMERATOR
};

struct CounterInfo {
    Counter id;
    std::string_view name;
    std::string_view metric;  // Prometheus's
    std::string_view labels;  // its samples', without the braces
};

// In the list's order, so by enumerator.
inline constexpr std::array all_counters{
#define ARRCERT_COUNTER_INFO(id, name, metric, labels) CounterInfo{Counter::id, name, metric, labels},
    ARRCERT_COUNTERS(ARRCERT_COUNTER_INFO)
#undef ARRCERT_COUNTER_INFO
};
#undef ARRCERT_COUNTERS

inline constexpr std::size_t counter_count = all_counters.size();
inline constexpr std::size_t rule_count = static_cast<std::size_t>(last_rule) + 1;

// The name in mod_status's lines (after "ArrCert") and in JSON, e.g. "Accepted", "MemoryCacheHits".
constexpr std::string_view counter_name(Counter counter) noexcept
{
    const auto at = static_cast<std::size_t>(counter);
    return at < counter_count ? all_counters.at(at).name : "Unknown";
}

// A client certificate as a request saw it.
struct SeenCertificate {
    const Sha1& sha1;
    std::string_view subject;
    std::string_view issuer;
    std::int64_t not_before = 0;
    std::int64_t not_after = 0;
    std::int64_t now = 0;
    Decision::Outcome outcome = Decision::Outcome::success;
    Rule rule = Rule::none;  // the refusing rule
};

// Whether a verdict's certificate goes into the inventory: one that a CA or a pin authenticated
// (or any, where the front end is trusted to verify), refused or not. A certificate anybody could
// make (a failed chain or pin) is counted but never listed: it could push genuine ones out.
bool belongs_in_inventory(const Verdict& verdict) noexcept;

// A copy of everything, for the renderers (status_report.h).
struct StatusSnapshot {
    std::int64_t now = 0;
    std::array<std::uint64_t, counter_count> counters{};
    std::array<std::uint64_t, rule_count> refused_by_rule{};  // by Rule; [none] stays 0
    struct Source {
        SourceKind kind = SourceKind::crl_file;
        std::string name;
        std::int64_t last_success = 0;  // 0: never
        std::int64_t last_failure = 0;
        std::int64_t next_update = -1;
        std::string last_error;
        std::uint64_t successes = 0;
        std::uint64_t failures = 0;
        std::int64_t next_refresh = -1;  // when it is fetched again; -1: not planned
        std::uint32_t failing = 0;       // failed in a row, for every process of the server
    };
    std::vector<Source> sources;  // by kind, then name
    struct Certificate {
        std::string sha1_hex;
        std::string subject;
        std::string issuer;
        std::int64_t not_before = 0;
        std::int64_t not_after = 0;
        std::int64_t first_seen = 0;
        std::int64_t last_seen = 0;
        std::uint64_t requests = 0;
        Decision::Outcome outcome = Decision::Outcome::success;
        Rule rule = Rule::none;
    };
    std::vector<Certificate> inventory;  // soonest notAfter first; empty in a counters-only snapshot
    std::size_t inventory_size = 0;      // how many are listed
    std::size_t inventory_capacity = 0;

    [[nodiscard]] std::uint64_t counter(Counter c) const noexcept { return counters.at(static_cast<std::size_t>(c)); }
};

// Lives in the block it is created in, which holds its parts at offsets (no pointers); never
// copied, never destroyed (the block is shared memory mapped by every child: it goes with the
// last process that maps it).
class StatusArea {
public:
    static constexpr std::size_t max_sources = 64;
    static constexpr std::size_t max_text = 256;  // names, DNs and errors are cut to fit (UTF-8 kept whole)
    static constexpr std::size_t max_inventory = 100000;
    // Entries an eviction moves back at most before it takes one (status_inventory.cpp).
    static constexpr std::size_t max_second_chances = 64;

    static std::size_t bytes_for(std::size_t inventory_capacity) noexcept;
    // Makes a new area in `block` (at least bytes_for(capacity) bytes, aligned for any type).
    static StatusArea* create(void* block, std::size_t inventory_capacity);

    StatusArea(const StatusArea&) = delete;
    StatusArea& operator=(const StatusArea&) = delete;
    StatusArea(StatusArea&&) = delete;
    StatusArea& operator=(StatusArea&&) = delete;
    ~StatusArea() = delete;

    void count(Counter counter) noexcept
    {
        counters_.at(static_cast<std::size_t>(counter)).fetch_add(1, std::memory_order_relaxed);
    }
    // One decided request: accepted, refused (by its rule) or without a certificate.
    void count_decision(Decision::Outcome outcome, Rule rule) noexcept;
    void record_source(const SourceEvent& event) noexcept;
    // Lock-free for a certificate already listed; the lock for a new one, in constant time: it
    // may push out the least recently seen (status_inventory.cpp says how exactly).
    void record_certificate(const SeenCertificate& seen) noexcept;

    // The inventory is copied without the lock (each entry whole); the sources under it.
    [[nodiscard]] StatusSnapshot snapshot(std::int64_t now) const;
    // Without the sources and the inventory's entries, and without the lock (mod_status's lines).
    [[nodiscard]] StatusSnapshot counters(std::int64_t now) const noexcept;
    [[nodiscard]] std::size_t inventory_capacity() const noexcept { return capacity_; }

private:
    explicit StatusArea(std::size_t inventory_capacity) noexcept;

    struct Entry;
    struct SourceSlot;
    class Guard;

    using Key = std::array<std::uint64_t, 3>;  // SHA-1, zero-padded
    static Key key_of(const Sha1& sha1) noexcept;
    [[nodiscard]] std::size_t home(const Key& key) const noexcept;
    [[nodiscard]] Entry& entry(std::size_t slot) const noexcept;
    [[nodiscard]] std::atomic<std::int32_t>& bucket(std::size_t at) const noexcept;
    [[nodiscard]] SourceSlot& source(std::size_t at) const noexcept;
    bool touch_lock_free(const Key& key, const SeenCertificate& seen) noexcept;
    [[nodiscard]] std::int32_t find_locked(const Key& key) const noexcept;
    std::int32_t insert_locked(const Key& key, const SeenCertificate& seen) noexcept;  // -1: none free
    std::int32_t evict_locked() noexcept;
    bool take_locked(std::int32_t slot) noexcept;
    void index_locked(std::int32_t slot) noexcept;
    void unindex_locked(std::int32_t slot) noexcept;
    void push_newest_locked(std::int32_t slot, std::int64_t at) noexcept;
    void remove_from_list_locked(std::int32_t slot) noexcept;
    void repair_locked() noexcept;  // after a process died holding the lock
    void copy_inventory(StatusSnapshot& snapshot) const;
    bool copy_entry(std::size_t slot, StatusSnapshot::Certificate& out) const;
    static void touch(Entry& entry, const SeenCertificate& seen) noexcept;

    pthread_mutex_t mutex_{};
    std::array<std::atomic<std::uint64_t>, counter_count> counters_{};
    std::array<std::atomic<std::uint64_t>, rule_count> refused_by_rule_{};
    std::size_t capacity_ = 0;
    std::size_t buckets_ = 0;  // a power of two, at least twice the capacity
    std::size_t entries_offset_ = 0;
    std::size_t buckets_offset_ = 0;
    std::atomic<std::size_t> used_{0};  // entries in use (changed under the lock)
    std::size_t sources_offset_ = 0;    // max_sources of them
    // Under the lock: entries never used yet are [fresh_, capacity_); those a repair dropped are
    // linked from free_; those in use are linked from the oldest placed to the newest placed.
    std::size_t fresh_ = 0;
    std::int32_t free_ = -1;
    std::int32_t oldest_ = -1;
    std::int32_t newest_ = -1;
};

}  // namespace arrcert
