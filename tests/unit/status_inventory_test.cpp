// The inventory of the status area: exact least-recently-seen eviction, pages read without the
// lock (whole entries, even while another process holds the lock), and the repair after a process
// died holding it.
#include <gtest/gtest.h>

#include <csignal>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <future>
#include <list>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "arrcert/status_area.h"
#include "status_test_support.h"

namespace arrcert {
namespace {

using namespace status_testing;

std::set<std::string> listed_thumbprints(const StatusSnapshot& snapshot)
{
    std::set<std::string> thumbprints;
    for (const auto& certificate : snapshot.inventory) {
        thumbprints.insert(certificate.sha1_hex);
    }
    return thumbprints;
}

TEST(StatusInventoryTest, EvictsTheLeastRecentlySeenWithASecondChance)
{
    // Against a plain model of the rule: from the oldest listed, a certificate seen again since it
    // was listed (or moved) moves to the newest end, unmarked; the first one not seen again goes.
    // 80 certificates through 32 entries, one request a second.
    constexpr std::size_t capacity = 32;
    SharedBlock shared(capacity);
    std::list<unsigned> order;            // oldest first
    std::map<unsigned, bool> seen_again;  // the listed certificates
    unsigned random = 12345;
    for (std::int64_t now = 1000; now < 6000; ++now) {
        random = random * 1103515245U + 12345U;
        const unsigned n = (random >> 16U) % 80;
        if (seen_again.contains(n)) {
            seen_again[n] = true;
        } else {
            if (seen_again.size() == capacity) {
                while (seen_again[order.front()]) {
                    seen_again[order.front()] = false;
                    order.splice(order.end(), order, order.begin());
                }
                seen_again.erase(order.front());
                order.pop_front();
            }
            order.push_back(n);
            seen_again[n] = false;
        }
        see(shared.area(), n, now, 90000);
        if (now % 97 == 0 || now == 5999) {
            std::set<std::string> expected;
            for (const unsigned each : order) {
                expected.insert(to_hex(sha1_of(each)));
            }
            ASSERT_EQ(listed_thumbprints(shared.area().snapshot(now)), expected) << "at " << now;
        }
    }
}

TEST(StatusInventoryTest, ACertificateSeenAgainOutlivesOnesNotSeenAgain)
{
    SharedBlock shared(4);
    StatusArea& area = shared.area();
    for (unsigned n = 1; n <= 4; ++n) {
        see(area, n, 100 + n, 9000);
    }
    see(area, 1, 105, 9000);
    see(area, 3, 106, 9000);
    see(area, 5, 107, 9000);  // 2 goes (1 and 3 were seen again)
    see(area, 6, 108, 9000);  // then 4
    const StatusSnapshot snapshot = area.snapshot(108);
    EXPECT_EQ(listed_thumbprints(snapshot),
              (std::set<std::string>{to_hex(sha1_of(1)), to_hex(sha1_of(3)), to_hex(sha1_of(5)), to_hex(sha1_of(6))}));
    EXPECT_EQ(listed(snapshot, 5)->requests, 1U);
    EXPECT_EQ(listed(snapshot, 1)->requests, 2U);
}

TEST(StatusInventoryTest, AnEvictionGivesABoundedNumberOfSecondChances)
{
    // Every listed certificate seen again, in the reverse of the order they were listed in: the
    // walk moves the 64 oldest listed back, then the least recently seen of those goes (number 63),
    // not the least recently seen of all (number 199, seen again first).
    constexpr unsigned capacity = 200;
    static_assert(StatusArea::max_second_chances == 64);
    SharedBlock shared(capacity);
    StatusArea& area = shared.area();
    for (unsigned n = 0; n < capacity; ++n) {
        see(area, n, 100 + n, 9000);
    }
    for (unsigned n = capacity; n-- > 0;) {
        see(area, n, 300 + (capacity - 1 - n), 9000);
    }
    see(area, 1000, 600, 9000);
    const StatusSnapshot snapshot = area.snapshot(600);
    EXPECT_EQ(snapshot.inventory.size(), capacity);
    EXPECT_EQ(listed(snapshot, 63), nullptr);
    EXPECT_NE(listed(snapshot, 199), nullptr);
    EXPECT_NE(listed(snapshot, 1000), nullptr);
}

TEST(StatusInventoryTest, SnapshotIsSortedBySoonestNotAfterThenThumbprint)
{
    SharedBlock shared(8);
    const std::array<std::int64_t, 6> not_after{7000, 5000, 9000, 5000, 6000, 5000};
    for (unsigned n = 0; n < not_after.size(); ++n) {
        see(shared.area(), n, 100 + n, not_after.at(n));
    }
    const StatusSnapshot snapshot = shared.area().snapshot(200);
    ASSERT_EQ(snapshot.inventory.size(), not_after.size());
    for (std::size_t i = 1; i < snapshot.inventory.size(); ++i) {
        const auto& a = snapshot.inventory.at(i - 1);
        const auto& b = snapshot.inventory.at(i);
        EXPECT_TRUE(a.not_after < b.not_after || (a.not_after == b.not_after && a.sha1_hex < b.sha1_hex)) << i;
    }
    EXPECT_EQ(snapshot.inventory.front().not_after, 5000);
    EXPECT_EQ(snapshot.inventory.back().not_after, 9000);
}

// A subject that runs into a page nobody may read: the process recording it faults while it holds
// the lock, in the middle of writing an entry.
class UnreadableText {
public:
    UnreadableText()
        : page_(static_cast<std::size_t>(sysconf(_SC_PAGESIZE))),
          block_(mmap(nullptr, 2 * page_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))
    {
        std::fill_n(static_cast<char*>(block_), page_, 'x');
        mprotect(static_cast<char*>(block_) + page_, page_, PROT_NONE);
    }
    UnreadableText(const UnreadableText&) = delete;
    UnreadableText& operator=(const UnreadableText&) = delete;
    UnreadableText(UnreadableText&&) = delete;
    UnreadableText& operator=(UnreadableText&&) = delete;
    ~UnreadableText() { munmap(block_, 2 * page_); }
    [[nodiscard]] std::string_view text() const { return {static_cast<char*>(block_) + page_ - 16, 100}; }

private:
    std::size_t page_;
    void* block_;
};

int stopped_fd = -1;

extern "C" void die_in_the_lock(int /*signal*/)
{
    _exit(42);
}

extern "C" void stop_in_the_lock(int /*signal*/)
{
    const char stopped = 's';
    (void)!write(stopped_fd, &stopped, 1);
    for (;;) {
        pause();
    }
}

// A child that records certificate `n` with an unreadable subject and, in the lock, dies or stops.
pid_t fault_in_the_lock(StatusArea& area, unsigned n, std::int64_t now, void (*handler)(int))
{
    const UnreadableText unreadable;
    const pid_t child = fork();
    if (child == 0) {
        struct sigaction action {};
        action.sa_handler = handler;
        sigaction(SIGSEGV, &action, nullptr);
        const Sha1 sha1 = sha1_of(n);
        area.record_certificate(
            {sha1, unreadable.text(), "CN=x", 0, 9000, now, Decision::Outcome::success, Rule::none});
        _exit(0);
    }
    return child;
}

TEST(StatusInventoryTest, APageIsReadWhileAnotherProcessHoldsTheLock)
{
    SharedBlock shared(8);
    StatusArea& area = shared.area();
    for (unsigned n = 1; n <= 3; ++n) {
        see(area, n, 100 + n, 9000);
    }
    std::array<int, 2> stopped{};
    ASSERT_EQ(pipe(stopped.data()), 0);
    stopped_fd = stopped[1];
    const pid_t child = fault_in_the_lock(area, 9, 110, stop_in_the_lock);
    ASSERT_GT(child, 0);
    char byte = 0;
    ASSERT_EQ(read(stopped[0], &byte, 1), 1);  // it holds the lock, mid-write, and stays

    see(area, 1, 111, 9000);  // a known certificate is counted all the same
    auto page = std::async(std::launch::async, [&] { return area.snapshot(120); });
    const bool answered = page.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
    EXPECT_TRUE(answered) << "the page waited for the lock";
    kill(child, SIGKILL);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    const StatusSnapshot snapshot = page.get();
    EXPECT_EQ(listed_thumbprints(snapshot),
              (std::set<std::string>{to_hex(sha1_of(1)), to_hex(sha1_of(2)), to_hex(sha1_of(3))}));
    const auto* one = listed(snapshot, 1);
    ASSERT_NE(one, nullptr);
    EXPECT_EQ(one->requests, 2U);
    close(stopped[0]);
    close(stopped[1]);
}

TEST(StatusInventoryTest, AProcessKilledMidEvictionLeavesAWorkingInventory)
{
    SharedBlock shared(4);
    StatusArea& area = shared.area();
    for (unsigned n = 1; n <= 4; ++n) {
        see(area, n, 100 + n, 9000);
    }
    see(area, 1, 105, 9000);  // 2 is the least recently seen: the child pushes it out, then dies
    const pid_t child = fault_in_the_lock(area, 9, 106, die_in_the_lock);
    ASSERT_GT(child, 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 42) << status;  // died in the lock

    see(area, 5, 107, 9000);  // takes the lock the child left: repaired first
    StatusSnapshot snapshot = area.snapshot(107);
    EXPECT_EQ(listed_thumbprints(snapshot),
              (std::set<std::string>{to_hex(sha1_of(1)), to_hex(sha1_of(3)), to_hex(sha1_of(4)), to_hex(sha1_of(5))}));
    EXPECT_EQ(listed(snapshot, 1)->requests, 2U);
    EXPECT_EQ(snapshot.inventory_size, 4U);
    // Still the least recently seen first: 3 (seen again), then 4 goes, then 1.
    see(area, 3, 108, 9000);
    see(area, 6, 109, 9000);
    EXPECT_EQ(listed(area.snapshot(109), 4), nullptr);
    see(area, 7, 110, 9000);
    snapshot = area.snapshot(110);
    EXPECT_EQ(listed_thumbprints(snapshot),
              (std::set<std::string>{to_hex(sha1_of(3)), to_hex(sha1_of(5)), to_hex(sha1_of(6)), to_hex(sha1_of(7))}));
    EXPECT_EQ(listed(snapshot, 3)->requests, 2U);
}

// Each certificate's fields are a function of its number: a page that mixed two entries' fields
// (a torn copy) would show it.
void record_numbered(StatusArea& area, unsigned n, std::int64_t now)
{
    const Sha1 sha1 = sha1_of(n);
    const bool refused = n % 2 != 0;
    area.record_certificate({sha1, "CN=client" + std::to_string(n), "CN=CA" + std::to_string(n), n, 100000 + n, now,
                             refused ? Decision::Outcome::failed : Decision::Outcome::success,
                             refused ? Rule::subject : Rule::none});
}

bool whole(const StatusSnapshot::Certificate& certificate)
{
    const auto n = static_cast<unsigned>(certificate.not_after - 100000);
    const bool refused = n % 2 != 0;
    return certificate.sha1_hex == to_hex(sha1_of(n)) && certificate.subject == "CN=client" + std::to_string(n) &&
           certificate.issuer == "CN=CA" + std::to_string(n) && certificate.not_before == n &&
           certificate.outcome == (refused ? Decision::Outcome::failed : Decision::Outcome::success) &&
           certificate.requests >= 1;
}

TEST(StatusInventoryTest, PagesReadDuringEvictionsShowWholeEntries)
{
    // 400 certificates through 64 entries from a child process and three threads, while pages
    // are read without the lock.
    SharedBlock shared(64);
    StatusArea& area = shared.area();
    const auto write = [&](unsigned seed, std::chrono::milliseconds for_how_long) {
        const auto until = std::chrono::steady_clock::now() + for_how_long;
        unsigned random = seed;
        for (std::int64_t now = 1000; std::chrono::steady_clock::now() < until; ++now) {
            random = random * 1103515245U + 12345U;
            record_numbered(area, (random >> 16U) % 400, now / 50);
        }
    };
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        write(99, std::chrono::milliseconds(600));
        _exit(0);
    }
    std::vector<std::thread> writers;
    writers.reserve(3);
    for (unsigned seed = 1; seed <= 3; ++seed) {
        writers.emplace_back(write, seed, std::chrono::milliseconds(600));
    }
    int pages = 0;
    int torn = 0;
    int twice = 0;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    while (std::chrono::steady_clock::now() < until) {
        const StatusSnapshot snapshot = area.snapshot(5000);
        ++pages;
        EXPECT_LE(snapshot.inventory.size(), 64U);
        for (const auto& certificate : snapshot.inventory) {
            torn += whole(certificate) ? 0 : 1;
        }
        twice += static_cast<int>(snapshot.inventory.size() - listed_thumbprints(snapshot).size());
    }
    for (auto& writer : writers) {
        writer.join();
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_GT(pages, 0);
    EXPECT_EQ(torn, 0);
    EXPECT_EQ(twice, 0);
    const StatusSnapshot last = area.snapshot(5000);
    EXPECT_EQ(last.inventory.size(), 64U);
    EXPECT_TRUE(std::all_of(last.inventory.begin(), last.inventory.end(), whole));
}

}  // namespace
}  // namespace arrcert
