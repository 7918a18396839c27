// Helpers of the status tests: an area in shared memory, and certificates numbered n.
#pragma once

#include <sys/mman.h>

#include <algorithm>
#include <string>

#include "arrcert/status_area.h"

namespace arrcert::status_testing {

// An area in memory shared with children, as httpd's children share the module's.
class SharedBlock {
public:
    explicit SharedBlock(std::size_t capacity)
        : size_(StatusArea::bytes_for(capacity)),
          block_(mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0)),
          area_(StatusArea::create(block_, capacity))
    {
    }
    SharedBlock(const SharedBlock&) = delete;
    SharedBlock& operator=(const SharedBlock&) = delete;
    SharedBlock(SharedBlock&&) = delete;
    SharedBlock& operator=(SharedBlock&&) = delete;
    ~SharedBlock() { munmap(block_, size_); }
    StatusArea& area() { return *area_; }

private:
    std::size_t size_;
    void* block_;
    StatusArea* area_;
};

inline Sha1 sha1_of(unsigned n)
{
    Sha1 sha1{};
    for (std::size_t i = 0; i < sha1.size(); ++i) {
        sha1.at(i) = static_cast<unsigned char>((n * 2654435761U) >> (i % 4 * 8));
    }
    sha1.at(19) = static_cast<unsigned char>(n);
    sha1.at(18) = static_cast<unsigned char>(n >> 8U);
    return sha1;
}

inline void see(StatusArea& area, unsigned n, std::int64_t now, std::int64_t not_after,
                Decision::Outcome outcome = Decision::Outcome::success, Rule rule = Rule::none)
{
    const Sha1 sha1 = sha1_of(n);
    const std::string subject = "CN=client" + std::to_string(n);
    area.record_certificate({sha1, subject, "CN=Test CA", now - 86400, not_after, now, outcome, rule});
}

inline const StatusSnapshot::Certificate* listed(const StatusSnapshot& snapshot, unsigned n)
{
    const std::string hex = to_hex(sha1_of(n));
    const auto found = std::find_if(snapshot.inventory.begin(), snapshot.inventory.end(),
                                    [&](const auto& c) { return c.sha1_hex == hex; });
    return found == snapshot.inventory.end() ? nullptr : &*found;
}

}  // namespace arrcert::status_testing
