#include "arrcert/verdict_cache.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <map>
#include <vector>

#include "test_pki.h"
#include "threads.h"

namespace arrcert {
namespace {

std::shared_ptr<const Verdict> judged(std::int64_t not_after)
{
    auto verdict = std::make_shared<Verdict>();
    verdict->kind = Verdict::Kind::judged;
    verdict->not_after = not_after;
    return verdict;
}

// Views into strings that outlive the test.
JudgedFrom key(int n)
{
    static std::map<int, std::string> values;
    return {values.try_emplace(n, "header " + std::to_string(n)).first->second, "rules"};
}

TEST(VerdictCacheTest, HitMissAndTimeout)
{
    VerdictCache cache(100, 300);
    const auto verdict = judged(1'000'000);
    EXPECT_EQ(cache.find(key(1), 1000), nullptr);
    cache.insert(key(1), verdict, 1000);
    EXPECT_EQ(cache.find(key(1), 1000), verdict);
    EXPECT_EQ(cache.find(key(1), 1300), verdict);
    EXPECT_EQ(cache.find(key(1), 1301), nullptr);
    EXPECT_EQ(cache.size(), 0U);
}

TEST(VerdictCacheTest, NeverOutlivesTheCertificate)
{
    VerdictCache cache(100, 300);
    cache.insert(key(1), judged(1100), 1000);
    EXPECT_NE(cache.find(key(1), 1100), nullptr);
    EXPECT_EQ(cache.find(key(1), 1101), nullptr);
}

TEST(VerdictCacheTest, RefusalsAreCachedToo)
{
    VerdictCache cache(100, 300);
    auto malformed = std::make_shared<Verdict>();
    malformed->kind = Verdict::Kind::malformed;
    cache.insert(key(2), malformed, 1000);
    EXPECT_EQ(cache.find(key(2), 1200), malformed);
}

TEST(VerdictCacheTest, BoundedLeastRecentlyUsedGoesFirst)
{
    VerdictCache cache(32, 300);  // 16 shards of 2
    for (int i = 0; i < 1000; ++i) {
        cache.insert(key(i), judged(1'000'000), 1000);
        EXPECT_LE(cache.size(), 32U);
    }
    // In a full shard, the entry just used survives the next insertion; the other one goes.
    std::vector<int> same_shard;
    for (int i = 2000; same_shard.size() < 3; ++i) {
        if (VerdictCache::shard_of(key(i)) == VerdictCache::shard_of(key(2000))) {
            same_shard.push_back(i);
        }
    }
    cache.insert(key(same_shard[0]), judged(1'000'000), 1000);
    cache.insert(key(same_shard[1]), judged(1'000'000), 1000);
    ASSERT_NE(cache.find(key(same_shard[0]), 1000), nullptr);  // now the most recent
    cache.insert(key(same_shard[2]), judged(1'000'000), 1000);
    EXPECT_NE(cache.find(key(same_shard[0]), 1000), nullptr);
    EXPECT_EQ(cache.find(key(same_shard[1]), 1000), nullptr);
}

TEST(VerdictCacheTest, EvictionNeverFreesAVerdictStillInUse)
{
    VerdictCache cache(16, 300);
    cache.insert(key(1), judged(1'000'000), 1000);
    const auto held = cache.find(key(1), 1000);
    for (int i = 2; i < 200; ++i) {
        cache.insert(key(i), judged(1'000'000), 1000);
    }
    EXPECT_EQ(held->not_after, 1'000'000);  // still alive (ASan would object otherwise)
}

// The memory cache keeps its own copies and compares values and rules in full: the same bytes
// from other strings hit; other rules, or the same bytes split differently, do not.
TEST(VerdictCacheTest, ComparesWhatWasJudgedInFull)
{
    VerdictCache cache(100, 300);
    const auto verdict = judged(1'000'000);
    {
        const std::string values = "header value";
        const std::string fingerprint = "rules";
        cache.insert({values, fingerprint}, verdict, 1000);
    }
    const std::string same_values = "header value";
    EXPECT_EQ(cache.find({same_values, "rules"}, 1000), verdict);
    EXPECT_EQ(cache.find({same_values, "other rules"}, 1000), nullptr);
    EXPECT_EQ(cache.find({"header valu", "erules"}, 1000), nullptr);
    EXPECT_EQ(cache.find({"header value ", "rules"}, 1000), nullptr);
    EXPECT_EQ(cache.find({"", "rules"}, 1000), nullptr);
    cache.insert({"", ""}, verdict, 1000);  // no header, no rules: a key like any other
    EXPECT_EQ(cache.find({"", ""}, 1000), verdict);
    EXPECT_EQ(cache.size(), 2U);
}

TEST(VerdictCacheTest, KeysSeparateHeadersAndRules)
{
    EXPECT_NE(cache_key("a", "rules"), cache_key("b", "rules"));
    EXPECT_NE(cache_key("a", "rules 1"), cache_key("a", "rules 2"));
    EXPECT_NE(cache_key("ab", "c"), cache_key("a", "bc"));
    EXPECT_EQ(cache_key("a", "rules"), cache_key("a", "rules"));

    const std::vector<Thumbprint> pins{Thumbprint::parse(std::string(40, 'A')).value()};
    const std::vector<DnPattern> alice{DnPattern::parse("CN=alice").value()};
    const std::vector<DnPattern> bob{DnPattern::parse("CN=bob").value()};
    const std::string none = rules_fingerprint({}, DecodeOptions{}, HeaderFormat::automatic);
    EXPECT_NE(rules_fingerprint({.thumbprints = pins}, DecodeOptions{}, HeaderFormat::automatic), none);
    EXPECT_NE(rules_fingerprint({.subjects = alice}, DecodeOptions{}, HeaderFormat::automatic),
              rules_fingerprint({.subjects = bob}, DecodeOptions{}, HeaderFormat::automatic));
    EXPECT_NE(rules_fingerprint({.issuers = alice}, DecodeOptions{}, HeaderFormat::automatic),
              rules_fingerprint({.subjects = alice}, DecodeOptions{}, HeaderFormat::automatic));
    EXPECT_NE(
        rules_fingerprint({}, DecodeOptions{HeaderFormat::automatic, 200, XfccPick::last}, HeaderFormat::automatic),
        none);
    EXPECT_NE(rules_fingerprint({}, DecodeOptions{HeaderFormat::xfcc}, HeaderFormat::automatic), none);
    // The chain header's format decides what its value holds (issue 25, item 6).
    EXPECT_NE(rules_fingerprint({}, DecodeOptions{}, HeaderFormat::pem),
              rules_fingerprint({}, DecodeOptions{}, HeaderFormat::rfc9440));
    const std::vector<DnPattern> alice_again{DnPattern::parse("CN=alice").value()};
    EXPECT_EQ(rules_fingerprint({.subjects = alice}, DecodeOptions{}, HeaderFormat::automatic),
              rules_fingerprint({.subjects = alice_again}, DecodeOptions{}, HeaderFormat::automatic));
}

// Two processes, or two servers of a fleet, that load the same files agree; other anchors or
// other CRLs do not.
TEST(VerdictCacheTest, TrustAndCrlsCountByContent)
{
    using testing::issue;
    const auto ca = issue({.subject = {{{"CN", "Fleet CA"}}}, .ca = true});
    const auto other_ca = issue({.subject = {{{"CN", "Other CA"}}}, .ca = true});
    // Each trust store from a file of its own: the first two hold the same CA.
    const testing::TempFile ca_files[] = {testing::TempFile(testing::pem(ca.der)),
                                          testing::TempFile(testing::pem(ca.der)),
                                          testing::TempFile(testing::pem(other_ca.der))};
    std::array<TrustStore, 3> stores;
    for (std::size_t i = 0; i < stores.size(); ++i) {
        ASSERT_TRUE(stores[i].add_file(ca_files[i].path()).ok());
    }
    const auto& [first, second, other] = stores;
    const auto with = [](const TrustStore& trust, const CrlSnapshot* crls) {
        return rules_fingerprint({.chain = {.trust = &trust, .crls = crls}}, DecodeOptions{}, HeaderFormat::automatic);
    };
    EXPECT_EQ(with(first, nullptr), with(second, nullptr));
    EXPECT_NE(with(first, nullptr), with(other, nullptr));
    EXPECT_NE(with(first, nullptr), rules_fingerprint({}, DecodeOptions{}, HeaderFormat::automatic));

    const testing::TempFile crl_file(testing::crl_pem(ca, {"05"}, testing::now() - 60, testing::now() + 3600));
    const testing::TempFile other_crl_file(testing::crl_pem(ca, {"06"}, testing::now() - 60, testing::now() + 3600));
    CrlSource crls;
    CrlSource same_crls;
    CrlSource other_crls;
    ASSERT_TRUE(crls.add_file(crl_file.path()).ok());
    ASSERT_TRUE(same_crls.add_file(crl_file.path()).ok());
    ASSERT_TRUE(other_crls.add_file(other_crl_file.path()).ok());
    const auto snapshot = [](CrlSource& source) { return source.current(testing::now(), 60).snapshot; };
    const auto one = snapshot(crls);
    const auto same = snapshot(same_crls);
    const auto different = snapshot(other_crls);
    EXPECT_EQ(with(first, one.get()), with(second, same.get()));
    EXPECT_NE(with(first, one.get()), with(first, different.get()));
    EXPECT_NE(with(first, one.get()), with(first, nullptr));
}

TEST(VerdictCacheTest, ManyThreads)
{
    VerdictCache cache(64, 300);
    std::atomic<int> hits{0};
    std::vector<JudgedFrom> keys;
    keys.reserve(100);
    for (int i = 0; i < 100; ++i) {
        keys.push_back(key(i));
    }
    testing::on_threads(8, [&](int t) {
        for (int i = 0; i < 2000; ++i) {
            const JudgedFrom& k = keys[static_cast<std::size_t>((i * 7 + t) % 100)];
            if (cache.find(k, 1000) != nullptr) {
                ++hits;
            } else {
                cache.insert(k, judged(1'000'000), 1000);
            }
        }
    });
    EXPECT_GT(hits.load(), 0);
    EXPECT_LE(cache.size(), 64U);
}

}  // namespace
}  // namespace arrcert
