// Fetched CRLs and OCSP responses shared by every process of one server (files in one directory)
// and, where ArrCertCache is configured, by a fleet of servers. Only bytes are shared: whoever
// reads them verifies them again, so nothing written there can make a server accept a
// certificate. Per document, a lock that one process holds while it fetches, and the count of
// failed fetches that sets when the next may be tried.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "arrcert/freshness_marks.h"
#include "arrcert/seal.h"

namespace arrcert {

// Retry pauses after failed fetches: the first within 10 s, doubling up to the cap.
inline constexpr std::int64_t first_retry_seconds = 10;
inline constexpr std::int64_t retry_cap_seconds = 120;
[[nodiscard]] std::int64_t retry_pause(int failures) noexcept;

// The documents' default refresh point: this share of the thisUpdate..nextUpdate window.
inline constexpr int default_refresh_percent = 80;
// When a document fetched at `fetched_at` is fetched again: after `refresh_seconds`, or at
// `percent` of its window if that comes first and was still ahead when it was fetched.
[[nodiscard]] std::int64_t next_refresh(std::int64_t fetched_at, std::int64_t this_update, std::int64_t next_update,
                                        std::int64_t refresh_seconds, int percent) noexcept;

// Bytes by name beyond this server, each kept until an expiry (the glue seals them into
// ArrCertCache). Called from request threads and background threads.
class FleetStore {
public:
    FleetStore() = default;
    FleetStore(const FleetStore&) = delete;
    FleetStore& operator=(const FleetStore&) = delete;
    FleetStore(FleetStore&&) = delete;
    FleetStore& operator=(FleetStore&&) = delete;
    virtual ~FleetStore() = default;
    virtual std::optional<std::string> fetch(std::string_view name, std::int64_t now) = 0;
    virtual void keep(std::string_view name, const std::string& bytes, std::int64_t expires, std::int64_t now) = 0;
};

class RevocationShare {
public:
    // This process alone: the locks and counts are kept in memory.
    RevocationShare() = default;
    // Files in `directory`, sealed under `secret` with the time they were fetched: a process of
    // the same user that can write there but not read the server's secret can neither forge a
    // file nor make an old one look new.
    // `marks` (shared memory, null: none) keeps a document that is older than one seen from
    // being taken again.
    RevocationShare(std::string directory, const CacheSecret& secret, FleetStore* fleet,
                    FreshnessMarks* marks = nullptr);

    // The key a document is sealed under, in the files and in the fleet's cache.
    [[nodiscard]] static CacheKey document_key(std::string_view name);

    // A name for a document: `kind` and the SHA-256 of what identifies it.
    [[nodiscard]] static std::string name_for(std::string_view kind, std::string_view identity);

    // What the file of `name` looks like now, to notice a new one cheaply (0: none).
    [[nodiscard]] std::int64_t stamp(const std::string& name) const;
    struct Document {
        std::string bytes;
        std::int64_t stamp = 0;    // as stamp()
        std::int64_t written = 0;  // UTC seconds: when it was fetched
    };
    [[nodiscard]] std::optional<Document> read(const std::string& name, std::size_t max_bytes) const;
    // Replaces the file whole (a reader sees the old one or the new one) and offers the bytes to
    // the fleet until `fleet_expires`.
    void write(const std::string& name, const std::string& bytes, std::int64_t now, std::int64_t fleet_expires);
    [[nodiscard]] std::optional<std::string> from_fleet(const std::string& name, std::int64_t now) const;

    // The fetch lock of one document, released when destroyed.
    class Lock {
    public:
        Lock() = default;
        explicit Lock(int descriptor) noexcept : descriptor_(descriptor) {}
        Lock(const Lock&) = delete;
        Lock& operator=(const Lock&) = delete;
        Lock(Lock&& other) noexcept : descriptor_(std::exchange(other.descriptor_, -1)) {}
        Lock& operator=(Lock&&) = delete;
        ~Lock();

    private:
        int descriptor_ = -1;
    };
    // Waits at most `wait` while another process holds it; nothing when it still does.
    [[nodiscard]] std::optional<Lock> lock(const std::string& name, std::chrono::milliseconds wait) const;

    // Under the lock: how the last fetches of `name` went.
    struct Attempts {
        int failures = 0;
        std::int64_t next_attempt = 0;  // UTC seconds; 0: at once
    };
    [[nodiscard]] Attempts attempts(const std::string& name) const;
    Attempts failed(const std::string& name, std::int64_t now);
    void succeeded(const std::string& name);

    // The newest thisUpdate a document of `name` has had on this server (0: none known), and the
    // one just taken: a document older than that is a replay.
    [[nodiscard]] std::int64_t newest(const std::string& name) const noexcept;
    void saw(const std::string& name, std::int64_t this_update) noexcept;

    // Removes documents, locks and counts not written for `age` seconds (at start-up).
    void sweep(std::int64_t now, std::int64_t age) const;

    [[nodiscard]] const std::string& directory() const noexcept { return directory_; }
    [[nodiscard]] bool has_fleet() const noexcept { return fleet_ != nullptr; }

private:
    [[nodiscard]] std::string path(const std::string& name, std::string_view suffix) const;
    static void replace(const std::string& target, const std::string& bytes);

    std::string directory_;
    std::optional<CacheSeal> seal_;
    FleetStore* fleet_ = nullptr;
    FreshnessMarks* marks_ = nullptr;
    mutable std::mutex mutex_;                                   // the counts, without a directory
    std::unordered_map<std::string, Attempts> attempts_memory_;  // idem
};

}  // namespace arrcert
