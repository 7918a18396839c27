// The per-directory merge and resolution, without httpd: inner overrides outer, lists replace,
// header settings merge as one unit, +/- options adjust, and every default.
#include "../../mod_arrcert/httpd/dir_config.h"
#include "test_pki.h"

#include <gtest/gtest.h>

#include <array>
#include <string_view>
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

namespace arrcert::httpd {
namespace {

using testing::CertificateSpec;

// Every field of the resolved Scope either changes the verdict cache's key or is listed here as
// verdict-neutral: two scopes that judge differently never share a cached verdict (issue 25,
// item 6). A field added to Scope stops this from compiling until it is listed below.
TEST(DirConfigTest, MergeCoversEveryField)
{
    // A new field of DirSettings fails to compile here until it is named, and then fails the
    // count until merged_fields lists it (options merge on their own, as SSLOptions).
    DirSettings settings;
    [[maybe_unused]] auto& [verify_client, require_at, accept_unverified, thumbprints, issuers, subjects, alt_names,
                            clock_skew, headers, xfcc_element, max_header_length, options, user_name, export_names,
                            trust, crls, revocation, verify_depth, crl_refresh, fetch_crls, partial_chain,
                            relay_headers, verdicts, fingerprint, ocsp_enable, ocsp_default_responder,
                            ocsp_override_responder, ocsp_timeout, ocsp_max_age, ocsp_time_skew, ocsp_use_nonce,
                            ocsp_responder_certs] = settings;
    constexpr std::size_t fields = 32;
    EXPECT_EQ(std::tuple_size_v<std::remove_const_t<decltype(merged_fields)>> + 1, fields);

    // Each listed field: the inner value where set, else the outer one.
    DirSettings outer;
    outer.verify_depth = 5;
    outer.ocsp_responder_certs = ResponderCertificates{nullptr, "outer"};
    DirSettings inner;
    inner.clock_skew = 7;
    const DirSettings merged = merge(outer, inner);
    EXPECT_EQ(merged.verify_depth, 5);
    EXPECT_EQ(merged.clock_skew, 7);
    ASSERT_TRUE(merged.ocsp_responder_certs.has_value());
    EXPECT_STREQ(merged.ocsp_responder_certs->identity, "outer");
}

TEST(ScopeKeyTest, EveryFieldIsInTheKeyOrVerdictNeutral)
{
    const Scope base;
    [[maybe_unused]] const auto& [mode, mode_at, require_at, headers, xfcc_element, max_header_length, clock_skew,
                                  exports, user_name, export_names, accept_unverified, thumbprints, issuers, subjects,
                                  alt_names, trust, crls, revocation, verify_depth, crl_refresh, fetch_crls,
                                  partial_chain, relay_headers, passthrough, verdicts, fingerprint, front_end_at, ocsp,
                                  identity] = base;

    CrlFetcher fetcher(1, [](const SourceEvent&, const std::string&) {});
    OcspClient ocsp_client;
    const auto key = [&](const Scope& scope) {
        return scope.verdict_fingerprint(scope.rules(nullptr, {&fetcher, &ocsp_client}));
    };
    const std::string plain = key(base);
    const auto changes_key = [&](auto change) {
        Scope scope = base;
        change(scope);
        return key(scope) != plain;
    };

    const std::vector<Thumbprint> pins{Thumbprint::parse(std::string(40, 'a')).value()};
    const std::vector<DnPattern> names{DnPattern::parse("CN=alice").value()};
    const std::vector<AltNamePattern> alt{AltNamePattern::parse("dns:a.example").value()};
    CertificateSpec spec;
    spec.subject = {{{"CN", "key test CA"}}};
    spec.ca = true;
    const testing::Issued ca = testing::issue(spec);
    const testing::TempFile ca_file(testing::pem(ca.der));
    TrustStore store;
    ASSERT_TRUE(store.add_file(ca_file.path()));

    // In the key: what decoding and judging read.
    EXPECT_TRUE(changes_key([](Scope& s) { s.mode = VerifyMode::optional_no_ca; }));  // it reports refusals
    EXPECT_TRUE(changes_key([](Scope& s) { s.headers.format = HeaderFormat::pem; }));
    EXPECT_TRUE(changes_key([](Scope& s) { s.headers.chain_format = HeaderFormat::rfc9440; }));
    EXPECT_TRUE(changes_key([](Scope& s) { s.xfcc_element = XfccPick::first; }));
    EXPECT_TRUE(changes_key([](Scope& s) { s.max_header_length = 100; }));
    EXPECT_TRUE(changes_key([](Scope& s) { s.accept_unverified = true; }));
    EXPECT_TRUE(changes_key([&](Scope& s) { s.thumbprints = pins; }));
    EXPECT_TRUE(changes_key([&](Scope& s) { s.issuers = names; }));
    EXPECT_TRUE(changes_key([&](Scope& s) { s.subjects = names; }));
    EXPECT_TRUE(changes_key([&](Scope& s) { s.alt_names = alt; }));
    EXPECT_TRUE(changes_key([&](Scope& s) { s.trust = &store; }));
    EXPECT_TRUE(changes_key([](Scope& s) { s.revocation.check = RevocationCheck::leaf; }));
    EXPECT_TRUE(changes_key([](Scope& s) { s.revocation.no_crl_for_cert_ok = true; }));
    EXPECT_TRUE(changes_key([](Scope& s) { s.verify_depth = 7; }));
    EXPECT_TRUE(changes_key([](Scope& s) { s.fetch_crls = true; }));
    EXPECT_TRUE(changes_key([](Scope& s) { s.partial_chain = true; }));
    EXPECT_TRUE(changes_key([](Scope& s) { s.ocsp.mode = OcspMode::leaf; }));
    // crls: keyed by the snapshot in force, which each request passes to rules() (its identity
    // is in the key: VerdictCacheTest covers it); the source itself decides nothing.

    // Verdict-neutral: where a directive was written, which headers are read (their values are
    // the key's other half), what is applied to a verdict after it (the clock skew, the export,
    // the user), how often sources are looked at, and what relayed requests carry.
    EXPECT_FALSE(changes_key([](Scope& s) { s.mode = VerifyMode::require; }));
    EXPECT_FALSE(changes_key([](Scope& s) { s.identity = 42; }));  // compared only for equality
    EXPECT_FALSE(changes_key([](Scope& s) { s.mode_at = {"a.conf", 1, "x"}; }));
    EXPECT_FALSE(changes_key([](Scope& s) { s.require_at = Origin{"a.conf", 2, "y"}; }));
    EXPECT_FALSE(changes_key([](Scope& s) { s.headers.name = "X-Other"; }));
    EXPECT_FALSE(changes_key([](Scope& s) { s.headers.chain_name = "X-Chain"; }));
    EXPECT_FALSE(changes_key([](Scope& s) { s.clock_skew = 60; }));
    EXPECT_FALSE(changes_key([](Scope& s) { s.exports = {false, true}; }));
    EXPECT_FALSE(changes_key([](Scope& s) { s.user_name = "SSL_CLIENT_S_DN_CN"; }));
    static const std::vector<std::string> only{"SSL_CLIENT_VERIFY"};
    EXPECT_FALSE(changes_key([](Scope& s) { s.export_names = &only; }));
    EXPECT_FALSE(changes_key([](Scope& s) { s.crl_refresh = 5; }));
    EXPECT_FALSE(changes_key([](Scope& s) { s.relay_headers = RelayHeaders::front_end; }));
    // The front end's verdict and fingerprint are checked apart, per request, around the verdict.
    static constexpr std::array<std::string_view, 1> yes{"1"};
    static const std::array<VerdictLine, 1> lines{{{"X-Verified", yes}}};
    EXPECT_FALSE(changes_key([](Scope& s) { s.verdicts = lines; }));
    EXPECT_FALSE(changes_key([](Scope& s) { s.fingerprint = FingerprintSource{"X-Hash", DigestAlgorithm::sha1}; }));
    EXPECT_FALSE(changes_key([](Scope& s) { s.passthrough = true; }));
    EXPECT_FALSE(changes_key([](Scope& s) { s.front_end_at = {"a.conf", 3, "z"}; }));
}

TEST(ScopeKeyTest, OptionalNoCaTrustsOnlyAnExplicitAcceptance)
{
    const std::vector<Thumbprint> pins{Thumbprint::parse(std::string(40, 'b')).value()};
    Scope scope;
    scope.mode = VerifyMode::optional_no_ca;
    scope.thumbprints = pins;
    EXPECT_FALSE(scope.has_trust());  // it would let a self-made certificate's names through
    scope.accept_unverified = true;
    EXPECT_TRUE(scope.has_trust());
    scope.mode = VerifyMode::optional;
    scope.accept_unverified = false;
    EXPECT_TRUE(scope.has_trust());
}

}  // namespace
}  // namespace arrcert::httpd

namespace arrcert::httpd {
namespace {

TEST(FrontEndChecksScopeTest, PresetVerdictUnlessLinesOfTheScopeReplaceIt)
{
    DirSettings preset;
    preset.headers = HeaderChoice{FrontEnd::gcp};
    Scope scope = resolve(preset);
    EXPECT_EQ(scope.verdicts.size(), 3U);
    EXPECT_TRUE(scope.passthrough);
    ASSERT_TRUE(scope.fingerprint.has_value());
    EXPECT_EQ(scope.fingerprint->header, "X-Client-Cert-Hash");

    // Explicit lines, here or inherited, replace the preset's; an empty list is "none".
    static constexpr std::array<std::string_view, 1> zero{"0"};
    std::vector<VerdictLine> lines{{"X-SSL-Client-Verify", zero}};
    DirSettings inner;
    inner.verdicts = &lines;
    inner.fingerprint = FingerprintChoice{true, {}};
    scope = resolve(merge(preset, inner));
    ASSERT_EQ(scope.verdicts.size(), 1U);
    EXPECT_EQ(scope.verdicts.front().header, "X-SSL-Client-Verify");
    EXPECT_FALSE(scope.fingerprint.has_value());
    EXPECT_TRUE(scope.passthrough);  // still the preset's front end: the start-up check sees it

    std::vector<VerdictLine> none;
    inner.verdicts = &none;
    EXPECT_TRUE(resolve(merge(preset, inner)).verdicts.empty());

    // Envoy's Hash lives in XFCC: an explicit header of another format leaves nothing to compare.
    DirSettings envoy;
    envoy.headers = HeaderChoice{FrontEnd::envoy};
    EXPECT_TRUE(resolve(envoy).fingerprint.has_value());
    envoy.headers->name = "X-Mesh-Cert";
    envoy.headers->format = HeaderFormat::xfcc;
    EXPECT_TRUE(resolve(envoy).fingerprint.has_value());
    envoy.headers->format = HeaderFormat::der_base64;
    EXPECT_FALSE(resolve(envoy).fingerprint.has_value());

    // No preset, no lines: nothing is asked of the front end.
    EXPECT_TRUE(resolve(DirSettings{}).verdicts.empty());
    EXPECT_FALSE(resolve(DirSettings{}).passthrough);
}

}  // namespace
}  // namespace arrcert::httpd
