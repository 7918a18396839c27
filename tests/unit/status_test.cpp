// The shared status area: counters, sources, the bounded inventory across threads and processes.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "arrcert/status_area.h"
#include "status_test_support.h"

namespace arrcert {
namespace {

using namespace status_testing;

TEST(StatusAreaTest, CountsDecisionsByOutcomeAndRule)
{
    SharedBlock shared(4);
    StatusArea& area = shared.area();
    area.count_decision(Decision::Outcome::success, Rule::none);
    area.count_decision(Decision::Outcome::success, Rule::none);
    area.count_decision(Decision::Outcome::none, Rule::none);
    area.count_decision(Decision::Outcome::failed, Rule::subject);
    area.count_decision(Decision::Outcome::failed, Rule::chain);
    area.count_decision(Decision::Outcome::failed, Rule::chain);
    area.count(Counter::headers_stripped);
    const StatusSnapshot snapshot = area.snapshot(1000);
    EXPECT_EQ(snapshot.counter(Counter::accepted), 2U);
    EXPECT_EQ(snapshot.counter(Counter::no_certificate), 1U);
    EXPECT_EQ(snapshot.counter(Counter::refused), 3U);
    EXPECT_EQ(snapshot.counter(Counter::headers_stripped), 1U);
    EXPECT_EQ(snapshot.refused_by_rule.at(static_cast<std::size_t>(Rule::chain)), 2U);
    EXPECT_EQ(snapshot.refused_by_rule.at(static_cast<std::size_t>(Rule::subject)), 1U);
    EXPECT_EQ(snapshot.refused_by_rule.at(static_cast<std::size_t>(Rule::issuer)), 0U);
}

TEST(StatusAreaTest, InventoryCountsEachCertificateOnceAndSortsBySoonestExpiry)
{
    SharedBlock shared(10);
    StatusArea& area = shared.area();
    see(area, 1, 100, 900000);
    see(area, 2, 101, 500000);
    see(area, 1, 102, 900000, Decision::Outcome::failed, Rule::subject);
    see(area, 3, 103, 700000);
    const StatusSnapshot snapshot = area.snapshot(200);
    ASSERT_EQ(snapshot.inventory.size(), 3U);
    EXPECT_EQ(snapshot.inventory[0].subject, "CN=client2");
    EXPECT_EQ(snapshot.inventory[1].subject, "CN=client3");
    EXPECT_EQ(snapshot.inventory[2].subject, "CN=client1");
    const auto* one = listed(snapshot, 1);
    ASSERT_NE(one, nullptr);
    EXPECT_EQ(one->requests, 2U);
    EXPECT_EQ(one->first_seen, 100);
    EXPECT_EQ(one->last_seen, 102);
    EXPECT_EQ(one->outcome, Decision::Outcome::failed);
    EXPECT_EQ(one->rule, Rule::subject);
    EXPECT_EQ(one->issuer, "CN=Test CA");
}

TEST(StatusAreaTest, InventoryDropsTheLeastRecentlySeen)
{
    SharedBlock shared(3);
    StatusArea& area = shared.area();
    see(area, 1, 100, 5000);
    see(area, 2, 101, 5000);
    see(area, 3, 102, 5000);
    see(area, 1, 103, 5000);  // 2 is now the least recently seen
    see(area, 4, 104, 5000);
    const StatusSnapshot snapshot = area.snapshot(200);
    EXPECT_EQ(snapshot.inventory.size(), 3U);
    EXPECT_NE(listed(snapshot, 1), nullptr);
    EXPECT_EQ(listed(snapshot, 2), nullptr);
    EXPECT_NE(listed(snapshot, 3), nullptr);
    ASSERT_NE(listed(snapshot, 4), nullptr);
    EXPECT_EQ(listed(snapshot, 4)->requests, 1U);
}

TEST(StatusAreaTest, InventoryStaysFindableThroughManyEvictions)
{
    // Evictions move entries of the probe runs: every listed certificate must still be found
    // (counted on its own entry, never listed twice).
    SharedBlock shared(16);
    StatusArea& area = shared.area();
    std::int64_t now = 1000;
    for (unsigned round = 0; round < 2000; ++round) {
        see(area, round % 37 + (round / 500) * 100, ++now, 9000);
    }
    const StatusSnapshot before = area.snapshot(now);
    ASSERT_EQ(before.inventory.size(), 16U);
    std::vector<std::string> seen;
    for (const auto& certificate : before.inventory) {
        seen.push_back(certificate.sha1_hex);
    }
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end());
    for (unsigned n = 0; n < 600; ++n) {
        if (const auto* certificate = listed(before, n); certificate != nullptr) {
            see(area, n, now, 9000);
            EXPECT_EQ(listed(area.snapshot(now), n)->requests, certificate->requests + 1);
        }
    }
    EXPECT_EQ(area.snapshot(now).inventory.size(), 16U);
}

TEST(StatusAreaTest, NoInventoryWithCapacityZero)
{
    SharedBlock shared(0);
    see(shared.area(), 1, 100, 5000);
    EXPECT_TRUE(shared.area().snapshot(100).inventory.empty());
}

TEST(StatusAreaTest, TextIsCutWithoutSplittingUtf8)
{
    SharedBlock shared(2);
    const Sha1 sha1 = sha1_of(9);
    const std::string subject =
        "CN=" + std::string(StatusArea::max_text - 6, 'a') + "\xC3\xA9\xC3\xA9";  // é é across the limit
    shared.area().record_certificate({sha1, subject, "CN=x", 0, 10, 5, Decision::Outcome::success, Rule::none});
    const std::string kept = shared.area().snapshot(5).inventory.at(0).subject;
    EXPECT_LT(kept.size(), StatusArea::max_text);
    EXPECT_EQ(kept.back(), '\xA9');  // the last whole é
}

TEST(StatusAreaTest, ThreadsAndProcessesCountExactly)
{
    SharedBlock shared(8);
    StatusArea& area = shared.area();
    const auto work = [&] {
        for (unsigned i = 0; i < 2000; ++i) {
            area.count_decision(Decision::Outcome::success, Rule::none);
            see(area, i % 5, 100 + i, 5000);
        }
    };
    std::vector<pid_t> children;
    for (int i = 0; i < 2; ++i) {
        const pid_t child = fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            work();
            _exit(0);
        }
        children.push_back(child);
    }
    std::vector<std::thread> threads;
    threads.reserve(3);
    for (int i = 0; i < 3; ++i) {
        threads.emplace_back(work);
    }
    for (auto& thread : threads) {
        thread.join();
    }
    for (const pid_t child : children) {
        int status = 0;
        ASSERT_EQ(waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    const StatusSnapshot snapshot = area.snapshot(5000);
    EXPECT_EQ(snapshot.counter(Counter::accepted), 5U * 2000U);
    ASSERT_EQ(snapshot.inventory.size(), 5U);
    std::uint64_t requests = 0;
    for (const auto& certificate : snapshot.inventory) {
        requests += certificate.requests;
    }
    EXPECT_EQ(requests, 5U * 2000U);
}

TEST(StatusAreaTest, ATouchNeverLandsOnAnotherCertificatesEntry)
{
    // One entry, two certificates pushing each other out: a request for one must never be
    // counted on the other's entry (each always has its own verdict).
    SharedBlock shared(1);
    StatusArea& area = shared.area();
    std::atomic<bool> stop{false};
    const auto client = [&](unsigned n, Decision::Outcome outcome, Rule rule) {
        for (std::int64_t now = 0; !stop.load(); ++now) {
            see(area, n, 1000 + now % 3, 5000, outcome, rule);
        }
    };
    std::vector<std::thread> threads;
    threads.reserve(4);
    threads.emplace_back(client, 1, Decision::Outcome::success, Rule::none);
    threads.emplace_back(client, 1, Decision::Outcome::success, Rule::none);
    threads.emplace_back(client, 2, Decision::Outcome::failed, Rule::subject);
    threads.emplace_back(client, 2, Decision::Outcome::failed, Rule::subject);
    int wrong = 0;
    std::array<int, 2> listed{};
    // At least 400 ms, and on a loaded machine until both were seen (at most 10 s).
    const auto start = std::chrono::steady_clock::now();
    while (
        std::chrono::steady_clock::now() < start + std::chrono::milliseconds(400) ||
        ((listed[0] == 0 || listed[1] == 0) && std::chrono::steady_clock::now() < start + std::chrono::seconds(10))) {
        const StatusSnapshot snapshot = area.snapshot(2000);
        for (const auto& certificate : snapshot.inventory) {
            const bool is_one = certificate.sha1_hex == to_hex(sha1_of(1));
            ++listed.at(is_one ? 0 : 1);
            wrong += is_one != (certificate.outcome == Decision::Outcome::success) ? 1 : 0;
        }
    }
    stop = true;
    for (auto& thread : threads) {
        thread.join();
    }
    EXPECT_GT(listed[0], 0);  // they did push each other out
    EXPECT_GT(listed[1], 0);
    EXPECT_EQ(wrong, 0);
}

TEST(StatusAreaTest, SourcesKeepTheirLastSuccessAndError)
{
    SharedBlock shared(1);
    StatusArea& area = shared.area();
    area.record_source({SourceKind::crl_fetch, "http://pki.example/ca.crl", true, 100, 5000, {}});
    area.record_source({SourceKind::crl_fetch, "http://pki.example/ca.crl", false, 200, -1, "connection refused"});
    area.record_source({SourceKind::ocsp_responder, "http://ocsp.example/", true, 150, 900, {}});
    const StatusSnapshot snapshot = area.snapshot(300);
    ASSERT_EQ(snapshot.sources.size(), 2U);
    const auto& crl = snapshot.sources[1].kind == SourceKind::crl_fetch ? snapshot.sources[1] : snapshot.sources[0];
    EXPECT_EQ(crl.last_success, 100);
    EXPECT_EQ(crl.next_update, 5000);
    EXPECT_EQ(crl.last_failure, 200);
    EXPECT_EQ(crl.last_error, "connection refused");
    EXPECT_EQ(crl.successes, 1U);
    EXPECT_EQ(crl.failures, 1U);
    for (unsigned i = 0; i < 2 * StatusArea::max_sources; ++i) {
        area.record_source({SourceKind::crl_fetch, "http://x/" + std::to_string(i), true, 1000 + i, -1, {}});
    }
    EXPECT_EQ(area.snapshot(5000).sources.size(), StatusArea::max_sources);
}

TEST(StatusAreaTest, OnlyAuthenticatedCertificatesBelongInTheInventory)
{
    Verdict verdict;
    EXPECT_FALSE(belongs_in_inventory(verdict));  // absent
    verdict.kind = Verdict::Kind::judged;
    EXPECT_TRUE(belongs_in_inventory(verdict));
    for (const Rule rule : {Rule::issuer, Rule::subject, Rule::san}) {
        verdict.failed_rule = rule;
        EXPECT_TRUE(belongs_in_inventory(verdict)) << rule_name(rule);
    }
    for (const Rule rule : {Rule::chain, Rule::thumbprint, Rule::trust, Rule::certificate, Rule::header}) {
        verdict.failed_rule = rule;
        EXPECT_FALSE(belongs_in_inventory(verdict)) << rule_name(rule);
    }
}

}  // namespace
}  // namespace arrcert
