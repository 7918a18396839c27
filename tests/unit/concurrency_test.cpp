// One configuration (trust store, CRLs, rules) and one cache shared by many threads, as the
// threads of an mpm_event child share them, while the CRL file changes underneath. Run under
// ThreadSanitizer by `make tsan`.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "arrcert/rules.h"
#include "arrcert/verdict_cache.h"
#include "test_pki.h"

namespace arrcert {
namespace {

using testing::Issued;
using testing::Name;

Issued leaf_of(const Issued& issuer, const std::string& cn, const std::string& serial)
{
    return testing::issue({.subject = Name{{{"CN", cn}}},
                           .issuer = Name{{{"CN", "Shared CA"}}},
                           .serial_hex = serial,
                           .issuer_key = issuer.key.get(),
                           .extended_key_usage = "clientAuth"});
}

TEST(SharedConfigurationTest, ManyThreadsJudgeWhileTheCrlChanges)
{
    const Issued ca = testing::issue({.subject = Name{{{"CN", "Shared CA"}}}, .ca = true});
    const Issued stranger_ca = testing::issue({.subject = Name{{{"CN", "Shared CA"}}}, .ca = true});
    const Issued good = leaf_of(ca, "good", "11");
    const Issued flapping = leaf_of(ca, "flapping", "12");  // revoked in every other CRL
    const Issued stranger = leaf_of(stranger_ca, "good", "11");
    const testing::TempFile ca_file(testing::pem(ca.der));
    const std::int64_t now = testing::now();
    const auto crl = [&](bool revoke) {
        return testing::crl_pem(ca, revoke ? std::vector<std::string>{"12"} : std::vector<std::string>{}, now - 60,
                                now + 3600);
    };
    const testing::TempFile crl_file(crl(false));

    TrustStore trust;
    ASSERT_TRUE(trust.add_file(ca_file.path()).ok());
    CrlSource crls;
    ASSERT_TRUE(crls.add_file(crl_file.path()).ok());
    const std::vector<DnPattern> subjects{DnPattern::parse("CN=good").value(), DnPattern::parse("CN=flapping").value()};
    VerdictCache cache(16, 300);
    const std::vector<std::string> headers{testing::base64(good.der), testing::base64(flapping.der),
                                           testing::base64(stranger.der), "not a certificate"};

    std::atomic<bool> stop{false};
    std::atomic<int> wrong{0};
    std::atomic<int> judged{0};
    std::thread writer([&] {
        for (int i = 0; i < 20; ++i) {
            crl_file.write(crl(i % 2 == 0));
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        stop = true;
    });
    constexpr int reader_count = 6;
    std::vector<std::thread> readers;
    readers.reserve(reader_count);
    for (int t = 0; t < reader_count; ++t) {
        readers.emplace_back([&, t] {
            for (int i = 0; !stop || i < 50; ++i) {
                const std::string& header = headers[static_cast<std::size_t>(i + t) % headers.size()];
                const auto current = crls.current(now, 0);  // looks at the file every time
                const RuleSet rules{
                    .subjects = subjects,
                    .chain = {
                        .trust = &trust, .crls = current.snapshot.get(), .revocation = {RevocationCheck::leaf, false}}};
                const std::string fingerprint = rules_fingerprint(rules, DecodeOptions{}, HeaderFormat::automatic);
                const JudgedFrom from{header, fingerprint};
                std::shared_ptr<const Verdict> verdict = cache.find(from, now);
                if (verdict == nullptr) {
                    verdict = std::make_shared<const Verdict>(judge(header, rules, now));
                    cache.insert(from, verdict, now);
                    ++judged;
                }
                const bool passed = decide(*verdict, now, 0).outcome == Decision::Outcome::success;
                // The flapping certificate may go either way; the others never change.
                if ((header == headers[0] && !passed) || ((header == headers[2] || header == headers[3]) && passed)) {
                    ++wrong;
                }
            }
        });
    }
    writer.join();
    for (auto& reader : readers) {
        reader.join();
    }
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_GT(judged.load(), 4);  // the CRL changes gave new fingerprints, so new judgements
}

}  // namespace
}  // namespace arrcert
