#include "arrcert/freshness_marks.h"

#include <functional>
#include <new>

namespace arrcert {

FreshnessMarks* FreshnessMarks::create(void* block) noexcept
{
    return new (block) FreshnessMarks();
}

std::uint64_t FreshnessMarks::key_of(std::string_view name) noexcept
{
    return static_cast<std::uint64_t>(std::hash<std::string_view>{}(name)) | 1U;
}

std::int64_t FreshnessMarks::newest(std::string_view name) const noexcept
{
    const std::uint64_t key = key_of(name);
    for (std::size_t i = 0; i < probes; ++i) {
        const Slot& slot = slots_[(key + i) % capacity];
        const std::uint64_t held = slot.key.load(std::memory_order_acquire);
        if (held == key) {
            return slot.mark.load(std::memory_order_acquire);
        }
        if (held == 0) {
            return 0;
        }
    }
    return 0;
}

void FreshnessMarks::saw(std::string_view name, std::int64_t this_update) noexcept
{
    const std::uint64_t key = key_of(name);
    for (std::size_t i = 0; i < probes; ++i) {
        Slot& slot = slots_[(key + i) % capacity];
        std::uint64_t held = slot.key.load(std::memory_order_acquire);
        if (held == 0 && slot.key.compare_exchange_strong(held, key, std::memory_order_acq_rel)) {
            held = key;
        }
        if (held != key) {
            continue;
        }
        std::int64_t mark = slot.mark.load(std::memory_order_acquire);
        while (mark < this_update && !slot.mark.compare_exchange_weak(mark, this_update, std::memory_order_acq_rel)) {
        }
        return;
    }
}

}  // namespace arrcert
