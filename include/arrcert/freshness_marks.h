// The newest thisUpdate that each shared revocation document (a fetched CRL, an OCSP answer) has
// had on this server, in memory that httpd's processes share and that outlives a graceful
// restart. Not in a file: a process of httpd's User could put an old file back, and an old
// document is still genuine and sealed. A document older than its mark is a replay, never taken.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace arrcert {

class FreshnessMarks {
public:
    static constexpr std::size_t capacity = 16384;  // documents; beyond, a document has no mark

    [[nodiscard]] static constexpr std::size_t bytes() noexcept { return sizeof(Slot) * capacity; }
    // In a block of bytes() shared by the processes (anonymous shared memory).
    static FreshnessMarks* create(void* block) noexcept;

    // 0 when none is known.
    [[nodiscard]] std::int64_t newest(std::string_view name) const noexcept;
    void saw(std::string_view name, std::int64_t this_update) noexcept;

    FreshnessMarks(const FreshnessMarks&) = delete;
    FreshnessMarks& operator=(const FreshnessMarks&) = delete;
    FreshnessMarks(FreshnessMarks&&) = delete;
    FreshnessMarks& operator=(FreshnessMarks&&) = delete;
    ~FreshnessMarks() = default;

private:
    FreshnessMarks() noexcept = default;
    struct Slot {
        std::atomic<std::uint64_t> key{0};  // 0: free
        std::atomic<std::int64_t> mark{0};
    };
    static_assert(std::atomic<std::uint64_t>::is_always_lock_free, "shared between processes");
    static constexpr std::size_t probes = 16;
    [[nodiscard]] static std::uint64_t key_of(std::string_view name) noexcept;

    Slot slots_[capacity];
};

}  // namespace arrcert
