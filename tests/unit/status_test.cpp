// The shared status area (counters, sources, the bounded inventory) and its renderings.
#include <gtest/gtest.h>

#include <sys/mman.h>
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
#include "arrcert/status_report.h"

namespace arrcert {
namespace {

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

Sha1 sha1_of(unsigned n)
{
    Sha1 sha1{};
    for (std::size_t i = 0; i < sha1.size(); ++i) {
        sha1.at(i) = static_cast<unsigned char>((n * 2654435761U) >> (i % 4 * 8));
    }
    sha1.at(19) = static_cast<unsigned char>(n);
    sha1.at(18) = static_cast<unsigned char>(n >> 8U);
    return sha1;
}

void see(StatusArea& area, unsigned n, std::int64_t now, std::int64_t not_after,
         Decision::Outcome outcome = Decision::Outcome::success, Rule rule = Rule::none)
{
    const Sha1 sha1 = sha1_of(n);
    const std::string subject = "CN=client" + std::to_string(n);
    area.record_certificate({sha1, subject, "CN=Test CA", now - 86400, not_after, now, outcome, rule});
}

const StatusSnapshot::Certificate* listed(const StatusSnapshot& snapshot, unsigned n)
{
    const std::string hex = to_hex(sha1_of(n));
    const auto found = std::find_if(snapshot.inventory.begin(), snapshot.inventory.end(),
                                    [&](const auto& c) { return c.sha1_hex == hex; });
    return found == snapshot.inventory.end() ? nullptr : &*found;
}

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
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(400);
    while (std::chrono::steady_clock::now() < until) {
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

StatusSnapshot hostile_snapshot()
{
    StatusSnapshot snapshot;
    snapshot.now = 1'800'000'000;
    snapshot.inventory_capacity = 10;
    snapshot.counters.at(static_cast<std::size_t>(Counter::accepted)) = 7;
    snapshot.refused_by_rule.at(static_cast<std::size_t>(Rule::san)) = 2;
    StatusSnapshot::Certificate hostile;
    hostile.sha1_hex = "AB";
    hostile.subject = "CN=<script>alert(1)</script>\",O=a\\b\nX=\xFF";
    hostile.issuer = "CN=CA & Co";
    hostile.not_after = snapshot.now + std::int64_t{3} * 86400 + 5;
    snapshot.inventory.push_back(hostile);
    snapshot.inventory_size = 1;
    snapshot.sources.push_back({SourceKind::ocsp_responder, "http://o/\"x", 5, 0, -1, "", 1, 0});
    return snapshot;
}

TEST(StatusReportTest, LinesNameEveryCounterAndRule)
{
    const std::string lines = status_lines(hostile_snapshot());
    EXPECT_NE(lines.find("ArrCertAccepted: 7\n"), std::string::npos);
    EXPECT_NE(lines.find("ArrCertRefusedSubjectAltName: 2\n"), std::string::npos);
    EXPECT_NE(lines.find("ArrCertRefusedChain: 0\n"), std::string::npos);
    EXPECT_NE(lines.find("ArrCertMemoryCacheHits: 0\n"), std::string::npos);
    EXPECT_NE(lines.find("ArrCertInventoryCertificates: 1\n"), std::string::npos);
}

TEST(StatusReportTest, EveryFormatEscapesWhatCameFromACertificate)
{
    const StatusSnapshot snapshot = hostile_snapshot();
    const std::string page = status_page_html(snapshot, 30);
    EXPECT_EQ(page.find("<script"), std::string::npos);
    EXPECT_NE(page.find("&lt;script&gt;"), std::string::npos);
    EXPECT_NE(page.find("CN=CA &amp; Co"), std::string::npos);
    EXPECT_NE(page.find("class=\"expiring\""), std::string::npos);
    EXPECT_NE(page.find("\xEF\xBF\xBD"), std::string::npos);  // the stray byte, replaced

    const std::string json = status_json(snapshot, 30);
    EXPECT_NE(json.find(R"(\u003cscript\u003e)"), std::string::npos);
    EXPECT_NE(json.find(R"(\",O=a\\b\u000aX=)"), std::string::npos);
    EXPECT_NE(json.find(R"("days_left":3)"), std::string::npos);
    EXPECT_NE(json.find(R"("expiry":"expiring")"), std::string::npos);

    const std::string metrics = status_prometheus(snapshot);
    EXPECT_NE(metrics.find(R"(subject="CN=<script>alert(1)</script>\",O=a\\b\nX=)"), std::string::npos);
    EXPECT_NE(metrics.find("arrcert_requests_total{outcome=\"refused\",rule=\"san\"} 2\n"), std::string::npos);
    EXPECT_NE(metrics.find(R"(name="http://o/\"x")"), std::string::npos);
    EXPECT_EQ(metrics.find('\xFF'), std::string::npos);
}

TEST(StatusReportTest, DaysLeftRoundDown)
{
    EXPECT_EQ(days_left(86400 * 2 + 1, 0), 2);
    EXPECT_EQ(days_left(86399, 0), 0);
    EXPECT_EQ(days_left(-1, 0), -1);
    EXPECT_EQ(days_left(-86400, 0), -1);
    EXPECT_EQ(days_left(-86401, 0), -2);
}

}  // namespace
}  // namespace arrcert
