// The status area's parts in its shared block, shared by status_area.cpp (counters, sources,
// snapshots) and status_inventory.cpp (the certificate inventory). Not a public header.
#pragma once

#include <pthread.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>

#include "arrcert/status_area.h"

namespace arrcert {

// Cut to fit `size` bytes with the terminating NUL, never inside a UTF-8 sequence.
void copy_text(char* to, std::size_t size, std::string_view text) noexcept;

// A text field as written by copy_text; bounded all the same (the block is shared with every child).
std::string bounded(const char* text, std::size_t size);

// Text that lock-free readers copy: words of atomics (stored with release, loaded with acquire,
// as the seqlock needs), so that a copy racing a rewrite is only discarded, never undefined.
using SharedText = std::array<std::atomic<std::uint64_t>, StatusArea::max_text / sizeof(std::uint64_t)>;
void store_text(SharedText& to, std::string_view text) noexcept;
void load_text(const SharedText& from, std::array<char, StatusArea::max_text>& to) noexcept;

// Written by one process at a time (under the lock), between two increments of `sequence`: a
// lock-free reader that sees it odd, or changed, does not trust what it read. Every field that
// lock-free readers touch is atomic; the list's links are read and written under the lock only.
struct StatusArea::Entry {
    std::atomic<std::uint64_t> sequence{0};
    std::array<std::atomic<std::uint64_t>, 3> key{};
    std::atomic<std::int64_t> last_seen{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint32_t> last_verdict{0};
    // Lock-free touches in progress: an entry pinned is not evicted under them (touch_lock_free).
    std::atomic<std::uint32_t> pins{0};
    std::atomic<bool> used{false};
    std::atomic<std::int64_t> not_before{0};
    std::atomic<std::int64_t> not_after{0};
    std::atomic<std::int64_t> first_seen{0};
    SharedText subject{};
    SharedText issuer{};
    // The list by placement: last_seen when the entry was last put at the newest end. An entry
    // whose last_seen has moved on since was seen again (lock-free) and is not the oldest.
    std::int64_t placed_at = 0;
    std::int32_t older = -1;  // also the free list's link
    std::int32_t newer = -1;
};

struct StatusArea::SourceSlot {
    bool used = false;
    SourceKind kind = SourceKind::crl_file;
    std::array<char, max_text> name{};
    std::int64_t last_success = 0;
    std::int64_t last_failure = 0;
    std::int64_t next_update = -1;
    std::int64_t next_refresh = -1;
    std::int64_t touched = 0;
    std::uint32_t failing = 0;  // failed in a row
    std::uint64_t successes = 0;
    std::uint64_t failures = 0;
    std::array<char, max_text> last_error{};
};

// The process-shared mutex. Robust: when a process dies holding it (killed mid-update), the next
// one to lock it repairs the inventory instead of waiting forever. A lock that fails otherwise
// leaves `locked()` false and the caller skips its update: a count lost, never a request held.
// With `wait_ms`, it gives up after that long (a process stopped while holding it).
class StatusArea::Guard {
public:
    explicit Guard(const StatusArea& area, long wait_ms = -1) noexcept
        : mutex_(const_cast<pthread_mutex_t*>(&area.mutex_))
    {
        int status = 0;
        if (wait_ms < 0) {
            status = pthread_mutex_lock(mutex_);
        } else {
            timespec until{};
            clock_gettime(CLOCK_REALTIME, &until);
            const long nanoseconds = until.tv_nsec + wait_ms % 1000 * 1'000'000;
            until.tv_sec += wait_ms / 1000 + nanoseconds / 1'000'000'000;
            until.tv_nsec = nanoseconds % 1'000'000'000;
            status = pthread_mutex_timedlock(mutex_, &until);
        }
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

}  // namespace arrcert
