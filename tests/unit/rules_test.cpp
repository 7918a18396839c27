#include "arrcert/rules.h"

#include <gtest/gtest.h>

#include <vector>

#include "arrcert/export.h"
#include "test_pki.h"

namespace arrcert {
namespace {

using testing::base64;

struct Fixture {
    testing::Issued ca = testing::issue({.subject = {{{"O", "Contoso"}}, {{"CN", "Contoso CA"}}}});
    testing::Issued leaf = testing::issue({.subject = {{{"O", "Contoso"}}, {{"CN", "alice"}}},
                                           .issuer = {{{"O", "Contoso"}}, {{"CN", "Contoso CA"}}},
                                           .not_before = testing::now() - 100,
                                           .not_after = testing::now() + 1000,
                                           .issuer_key = ca.key.get()});
    std::string header = base64(leaf.der);
    std::string sha1;
    Fixture() { sha1 = to_hex(Certificate::parse(leaf.der)->sha1()); }
};

Fixture& fixture()
{
    static Fixture instance;
    return instance;
}

std::vector<Thumbprint> thumbprints(std::initializer_list<std::string> texts)
{
    std::vector<Thumbprint> list;
    for (const auto& text : texts) {
        list.push_back(Thumbprint::parse(text).value());
    }
    return list;
}

std::vector<DnPattern> patterns(std::initializer_list<const char*> texts)
{
    std::vector<DnPattern> list;
    for (const char* text : texts) {
        list.push_back(DnPattern::parse(text).value());
    }
    return list;
}

// What the administrator says with ArrCertAcceptUnverified on: no CA, no pin.
constexpr RuleSet unverified{.accept_unverified = true};

TEST(RulesTest, WithoutCaOrPinsNothingPassesUnlessUnverifiedIsAccepted)
{
    const Verdict refused = judge(fixture().header, {}, testing::now());
    EXPECT_EQ(refused.kind, Verdict::Kind::judged);
    EXPECT_EQ(refused.failed_rule, Rule::trust);
    EXPECT_EQ(refused.sha1_hex, fixture().sha1);      // for the log line
    EXPECT_TRUE(refused.variables.standard.empty());  // a refusal makes no variables
    const Decision decision = decide(refused, testing::now(), 0);
    EXPECT_EQ(decision.outcome, Decision::Outcome::failed);
    EXPECT_EQ(decision.rule, Rule::trust);

    const Verdict verdict = judge(fixture().header, unverified, testing::now());
    EXPECT_EQ(verdict.kind, Verdict::Kind::judged);
    EXPECT_EQ(verdict.failed_rule, Rule::none);
    EXPECT_EQ(verdict.sha1_hex, fixture().sha1);
    EXPECT_EQ(verdict.subject_dn, "CN=alice,O=Contoso");
    EXPECT_FALSE(verdict.variables.standard.empty());
    EXPECT_EQ(decide(verdict, testing::now(), 0).outcome, Decision::Outcome::success);
}

TEST(RulesTest, RefusalsMakeVariablesOnlyWhereReportedAndAccepted)
{
    const auto other = thumbprints({std::string(40, 'A')});
    const RuleSet reported{.thumbprints = other, .accept_unverified = true, .report_refusals = true};
    const Verdict verdict = judge(fixture().header, reported, testing::now());
    EXPECT_EQ(verdict.failed_rule, Rule::thumbprint);
    EXPECT_FALSE(verdict.variables.standard.empty());
    // optional_no_ca without the acceptance (a merge the start-up check did not see): the
    // refusal is reported, its unverified names are not.
    const Verdict unaccepted = judge(fixture().header, {.thumbprints = other, .report_refusals = true}, testing::now());
    EXPECT_EQ(unaccepted.failed_rule, Rule::thumbprint);
    EXPECT_TRUE(unaccepted.variables.standard.empty());
}

TEST(RulesTest, ThumbprintAnyListedValueMatches)
{
    const auto pinned = thumbprints({std::string(40, 'A'), fixture().sha1});
    EXPECT_EQ(judge(fixture().header, {.thumbprints = pinned}, testing::now()).failed_rule, Rule::none);
    const auto other = thumbprints({std::string(64, 'b')});
    const Verdict verdict = judge(fixture().header, {.thumbprints = other}, testing::now());
    EXPECT_EQ(verdict.failed_rule, Rule::thumbprint);
    const Decision decision = decide(verdict, testing::now(), 0);
    EXPECT_EQ(decision.outcome, Decision::Outcome::failed);
    EXPECT_EQ(decision.rule, Rule::thumbprint);
}

TEST(RulesTest, IssuerAndSubjectAnyLineMayMatch)
{
    const auto issuers = patterns({"CN=Other CA", "CN=Contoso CA,O=Contoso"});
    const auto subjects = patterns({"CN=bob", "CN=alice"});
    EXPECT_EQ(
        judge(fixture().header, {.issuers = issuers, .subjects = subjects, .accept_unverified = true}, testing::now())
            .failed_rule,
        Rule::none);

    const auto wrong_issuer = patterns({"CN=Other CA"});
    EXPECT_EQ(judge(fixture().header, {.issuers = wrong_issuer, .accept_unverified = true}, testing::now()).failed_rule,
              Rule::issuer);
    const auto wrong_subject = patterns({"CN=bob"});
    EXPECT_EQ(
        judge(fixture().header, {.subjects = wrong_subject, .accept_unverified = true}, testing::now()).failed_rule,
        Rule::subject);
    // The issuer's name is not the subject's.
    const auto issuer_as_subject = patterns({"CN=Contoso CA"});
    EXPECT_EQ(
        judge(fixture().header, {.subjects = issuer_as_subject, .accept_unverified = true}, testing::now()).failed_rule,
        Rule::subject);
    // Names are not proof: without a CA or pins they refuse, matching or not.
    EXPECT_EQ(judge(fixture().header, {.issuers = issuers, .subjects = subjects}, testing::now()).failed_rule,
              Rule::trust);
}

TEST(RulesTest, ValidityAgainstRequestTimeWithSkew)
{
    const Verdict verdict = judge(fixture().header, unverified, testing::now());
    const std::int64_t start = verdict.not_before;
    const std::int64_t end = verdict.not_after;
    EXPECT_EQ(decide(verdict, start, 0).outcome, Decision::Outcome::success);
    EXPECT_EQ(decide(verdict, end, 0).outcome, Decision::Outcome::success);

    const Decision early = decide(verdict, start - 1, 0);
    EXPECT_EQ(early.outcome, Decision::Outcome::failed);
    EXPECT_EQ(early.rule, Rule::validity);
    EXPECT_EQ(early.reason, "certificate is not yet valid");
    const Decision late = decide(verdict, end + 1, 0);
    EXPECT_EQ(late.reason, "certificate has expired");

    EXPECT_EQ(decide(verdict, start - 60, 60).outcome, Decision::Outcome::success);
    EXPECT_EQ(decide(verdict, start - 61, 60).outcome, Decision::Outcome::failed);
    EXPECT_EQ(decide(verdict, end + 60, 60).outcome, Decision::Outcome::success);
    EXPECT_EQ(decide(verdict, end + 61, 60).outcome, Decision::Outcome::failed);
}

TEST(RulesTest, MalformedAndAbsent)
{
    const Verdict absent = judge("(null)", {}, testing::now());
    EXPECT_EQ(absent.kind, Verdict::Kind::absent);
    EXPECT_EQ(decide(absent, testing::now(), 0).outcome, Decision::Outcome::none);

    const Verdict garbage = judge("%%%", {}, testing::now());
    EXPECT_EQ(garbage.kind, Verdict::Kind::malformed);
    EXPECT_EQ(garbage.failed_rule, Rule::header);
    EXPECT_EQ(decide(garbage, testing::now(), 0).outcome, Decision::Outcome::failed);

    const Verdict not_certificate = judge(base64(Der{0x30, 0x03, 0x02, 0x01, 0x05}), {}, testing::now());
    EXPECT_EQ(not_certificate.failed_rule, Rule::certificate);
}

TEST(RulesTest, ModesPermit)
{
    using O = Decision::Outcome;
    EXPECT_TRUE(permits(VerifyMode::require, O::success));
    EXPECT_FALSE(permits(VerifyMode::require, O::none));
    EXPECT_FALSE(permits(VerifyMode::require, O::failed));
    EXPECT_TRUE(permits(VerifyMode::optional, O::none));
    EXPECT_TRUE(permits(VerifyMode::optional, O::success));
    EXPECT_FALSE(permits(VerifyMode::optional, O::failed));
    EXPECT_TRUE(permits(VerifyMode::optional_no_ca, O::failed));
    EXPECT_TRUE(permits(VerifyMode::none, O::failed));
}

TEST(RulesTest, VerifyValueFollowsModSsl)
{
    EXPECT_EQ(verify_value({Decision::Outcome::none, Rule::none, {}}), "NONE");
    EXPECT_EQ(verify_value({Decision::Outcome::success, Rule::none, {}}), "SUCCESS");
    EXPECT_EQ(verify_value({Decision::Outcome::failed, Rule::validity, "certificate has expired"}),
              "FAILED:certificate has expired");
}

}  // namespace
}  // namespace arrcert
