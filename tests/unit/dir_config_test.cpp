// The per-directory merge and resolution, without httpd: inner overrides outer, lists replace,
// header settings merge as one unit, +/- options adjust, and every default.
#include "../../mod_arrcert/httpd/dir_config.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace arrcert::httpd {
namespace {

TEST(DirConfigTest, DefaultsOfAnEmptyScope)
{
    const Scope scope = resolve({});
    EXPECT_EQ(scope.mode, VerifyMode::none);
    EXPECT_FALSE(scope.checks_certificates());
    EXPECT_FALSE(scope.has_trust());
    EXPECT_STREQ(scope.headers.name, "X-ARR-ClientCert");
    EXPECT_EQ(scope.headers.format, HeaderFormat::automatic);
    EXPECT_EQ(scope.headers.chain_name, nullptr);
    EXPECT_EQ(scope.xfcc_element, XfccPick::last);
    EXPECT_EQ(scope.max_header_length, default_max_header_length);
    EXPECT_EQ(scope.clock_skew, 0);
    EXPECT_TRUE(scope.exports.standard);
    EXPECT_FALSE(scope.exports.certificate);
    EXPECT_EQ(scope.revocation.check, RevocationCheck::none);
    EXPECT_EQ(scope.verify_depth, default_verify_depth);
    EXPECT_EQ(scope.crl_refresh, default_crl_refresh_seconds);
    const RuleSet rules = scope.rules(nullptr);
    EXPECT_FALSE(rules.accept_unverified);
    EXPECT_FALSE(rules.report_refusals);
}

TEST(DirConfigTest, InnerOverridesOuterAndUnsetInherits)
{
    DirSettings outer;
    outer.verify_client = VerifyClient{VerifyMode::require, {"a.conf", 3, "ArrCertVerifyClient require"}};
    outer.clock_skew = 60;
    outer.verify_depth = 5;
    DirSettings inner;
    inner.verify_client = VerifyClient{VerifyMode::optional_no_ca, {"a.conf", 9, "x"}};
    inner.accept_unverified = true;

    const Scope scope = resolve(merge(outer, inner));
    EXPECT_EQ(scope.mode, VerifyMode::optional_no_ca);
    EXPECT_EQ(scope.mode_at.line, 9);  // the origin goes with the value
    EXPECT_EQ(scope.clock_skew, 60);
    EXPECT_EQ(scope.verify_depth, 5);
    EXPECT_TRUE(scope.has_trust());
    EXPECT_TRUE(scope.rules(nullptr).report_refusals);
    // Unset inside inherits; set outside only stays.
    EXPECT_EQ(resolve(merge(outer, {})).mode, VerifyMode::require);
    EXPECT_EQ(resolve(merge({}, outer)).clock_skew, 60);
}

TEST(DirConfigTest, ListsAndStoresReplaceTheOuterOnes)
{
    std::vector<DnPattern> outer_subjects{DnPattern::parse("CN=alice").value(), DnPattern::parse("CN=bob").value()};
    std::vector<DnPattern> inner_subjects{DnPattern::parse("CN=carol").value()};
    std::vector<Thumbprint> pins{Thumbprint::parse(std::string(40, 'A')).value()};
    TrustStore trust;
    DirSettings outer;
    outer.subjects = &outer_subjects;
    outer.thumbprints = &pins;
    outer.trust = &trust;
    DirSettings inner;
    inner.subjects = &inner_subjects;

    const Scope scope = resolve(merge(outer, inner));
    ASSERT_EQ(scope.subjects.size(), 1U);
    EXPECT_EQ(scope.subjects[0].text(), "CN=carol");
    EXPECT_EQ(scope.thumbprints.size(), 1U);  // not set inside: inherited
    EXPECT_EQ(scope.trust, &trust);
    EXPECT_TRUE(scope.has_trust());
    EXPECT_EQ(resolve(merge(outer, {})).subjects.size(), 2U);
}

TEST(DirConfigTest, HeaderSettingsMergeAsOneUnit)
{
    DirSettings outer;
    outer.headers = HeaderChoice{FrontEnd::rfc9440, nullptr, HeaderFormat::automatic, nullptr, HeaderFormat::automatic};
    const Scope preset = resolve(outer);
    EXPECT_STREQ(preset.headers.name, "Client-Cert");
    EXPECT_STREQ(preset.headers.chain_name, "Client-Cert-Chain");

    // An inner ArrCertHeader replaces the whole unit: no chain header of the outer preset survives.
    DirSettings inner;
    inner.headers = HeaderChoice{std::nullopt, "X-Client-Cert", HeaderFormat::pem, nullptr, HeaderFormat::automatic};
    const Scope scope = resolve(merge(outer, inner));
    EXPECT_STREQ(scope.headers.name, "X-Client-Cert");
    EXPECT_EQ(scope.headers.format, HeaderFormat::pem);
    EXPECT_EQ(scope.headers.chain_name, nullptr);

    // In one scope, an explicit header overrides the preset's and keeps its chain header.
    DirSettings both;
    both.headers =
        HeaderChoice{FrontEnd::rfc9440, "X-Leaf", HeaderFormat::der_base64, nullptr, HeaderFormat::automatic};
    const Scope mixed = resolve(both);
    EXPECT_STREQ(mixed.headers.name, "X-Leaf");
    EXPECT_STREQ(mixed.headers.chain_name, "Client-Cert-Chain");
}

TEST(DirConfigTest, OptionsAdjustOrReplaceAsSslOptions)
{
    DirSettings outer;
    outer.options.set(option_export_cert_data, '+');
    DirSettings minus;
    minus.options.set(option_std_env_vars, '-');
    const ExportOptions adjusted = resolve(merge(outer, minus)).exports;
    EXPECT_FALSE(adjusted.standard);
    EXPECT_TRUE(adjusted.certificate);

    DirSettings absolute;
    absolute.options.set(option_export_cert_data, '\0');
    const ExportOptions replaced = resolve(merge(outer, absolute)).exports;
    EXPECT_FALSE(replaced.standard);
    EXPECT_TRUE(replaced.certificate);

    DirSettings plus_std;
    plus_std.options.set(option_std_env_vars, '+');
    const ExportOptions on_absolute = resolve(merge(merge(outer, absolute), plus_std)).exports;
    EXPECT_TRUE(on_absolute.standard);
    EXPECT_TRUE(on_absolute.certificate);
}

TEST(DirConfigTest, RevocationDefaultsToTheChainOnceCrlsAreConfigured)
{
    CrlSource crls;
    DirSettings settings;
    settings.crls = &crls;
    EXPECT_EQ(resolve(settings).revocation.check, RevocationCheck::chain);
    settings.revocation = RevocationPolicy{RevocationCheck::leaf, true};
    EXPECT_EQ(resolve(settings).revocation.check, RevocationCheck::leaf);
    EXPECT_TRUE(resolve(settings).revocation.no_crl_for_cert_ok);
}

// A section that tunes one OCSP directive keeps the others, ArrCertOCSPEnable first of all: OCSP
// never goes off by tuning (found by an attacker's review).
TEST(DirConfigTest, OcspDirectivesInheritOneByOne)
{
    DirSettings outer;
    outer.ocsp_enable = OcspEnable{OcspMode::leaf, false, true};
    outer.ocsp_default_responder = "http://ocsp.example/";
    DirSettings inner;
    inner.ocsp_timeout = 5;
    const Scope scope = resolve(merge(outer, inner));
    EXPECT_EQ(scope.ocsp.mode, OcspMode::leaf);
    EXPECT_TRUE(scope.ocsp.soft_fail);
    EXPECT_STREQ(scope.ocsp.default_responder, "http://ocsp.example/");
    EXPECT_EQ(scope.ocsp.timeout_seconds, 5);
    const RuleSet rules = scope.rules(nullptr);
    ASSERT_NE(rules.chain.ocsp, nullptr);
    EXPECT_EQ(rules.chain.ocsp->timeout_seconds, 5);

    DirSettings off;
    off.ocsp_enable = OcspEnable{OcspMode::off};
    EXPECT_EQ(resolve(merge(merge(outer, inner), off)).rules(nullptr).chain.ocsp, nullptr);
    EXPECT_EQ(resolve({}).rules(nullptr).chain.ocsp, nullptr);
}

TEST(DirConfigTest, ARequireLineMakesTheScopeCheckCertificates)
{
    DirSettings settings;
    settings.require_at = Origin{"b.conf", 12, "Require arrcert"};
    const Scope scope = resolve(merge({}, settings));
    EXPECT_TRUE(scope.checks_certificates());
    EXPECT_FALSE(scope.has_trust());
    ASSERT_TRUE(scope.require_at.has_value());
    EXPECT_EQ(scope.require_at->line, 12);
}

}  // namespace
}  // namespace arrcert::httpd
