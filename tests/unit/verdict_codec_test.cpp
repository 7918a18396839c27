#include "arrcert/verdict_codec.h"

#include <gtest/gtest.h>

#include "test_pki.h"

namespace arrcert {
namespace {

Verdict judged_verdict()
{
    const auto leaf = testing::issue({.subject = {{{"CN", "Zoë"}, {"O", "Fleet"}}, {{"OU", "a,b"}}},
                                      .subject_alt_name = "DNS:z.example,email:z@example"});
    const std::vector<Thumbprint> other{Thumbprint::parse(std::string(40, 'A')).value()};
    return judge(testing::base64(leaf.der), {.thumbprints = other, .accept_unverified = true, .report_refusals = true},
                 testing::now());
}

void expect_same(const Verdict& a, const Verdict& b)
{
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.failed_rule, b.failed_rule);
    EXPECT_EQ(a.reason, b.reason);
    EXPECT_EQ(a.format, b.format);
    EXPECT_EQ(a.not_before, b.not_before);
    EXPECT_EQ(a.not_after, b.not_after);
    EXPECT_EQ(a.sha1, b.sha1);
    EXPECT_EQ(a.sha256, b.sha256);
    EXPECT_EQ(a.sha1_hex, b.sha1_hex);
    EXPECT_EQ(a.subject_dn, b.subject_dn);
    EXPECT_EQ(a.issuer_dn, b.issuer_dn);
    ASSERT_EQ(a.subject_name.size(), b.subject_name.size());
    for (std::size_t i = 0; i < a.subject_name.size(); ++i) {
        EXPECT_EQ(a.subject_name[i].oid, b.subject_name[i].oid);
        EXPECT_EQ(a.subject_name[i].value, b.subject_name[i].value);
        EXPECT_EQ(a.subject_name[i].rdn, b.subject_name[i].rdn);
    }
    EXPECT_EQ(a.issuer_name.size(), b.issuer_name.size());
    EXPECT_EQ(a.variables.standard, b.variables.standard);
    EXPECT_EQ(a.variables.pem, b.variables.pem);
    EXPECT_EQ(a.variables.chain, b.variables.chain);
    EXPECT_EQ(a.variables.lookup_only, b.variables.lookup_only);
}

TEST(VerdictCodecTest, RoundTripsEveryField)
{
    const Verdict verdict = judged_verdict();
    ASSERT_EQ(verdict.kind, Verdict::Kind::judged);
    ASSERT_EQ(verdict.failed_rule, Rule::thumbprint);
    ASSERT_FALSE(verdict.variables.standard.empty());
    Verdict with_chain = verdict;
    with_chain.variables.chain = {"-----BEGIN CERTIFICATE-----\nA\n", "B"};
    with_chain.variables.lookup_only = {{"SSL_CLIENT_S_DN_CN_RAW", "raw"}};
    const CacheKey key = cache_key("value", "rules");
    const CacheSeal secret(random_cache_secret());
    const auto opened = open_verdict(seal_verdict(verdict, 1234, key, secret), key, secret);
    ASSERT_TRUE(opened.has_value());
    EXPECT_EQ(opened->expires, 1234);
    expect_same(verdict, *opened->verdict);
    const auto chained = open_verdict(seal_verdict(with_chain, 1, key, secret), key, secret);
    ASSERT_TRUE(chained.has_value());
    expect_same(with_chain, *chained->verdict);

    Verdict malformed;
    malformed.kind = Verdict::Kind::malformed;
    malformed.failed_rule = Rule::header;
    malformed.reason = "malformed certificate header: bad base64";
    malformed.format = "der-base64";
    malformed.detail = "PEM label 'X'";
    const auto reopened = open_verdict(seal_verdict(malformed, 99, key, secret), key, secret);
    ASSERT_TRUE(reopened.has_value());
    expect_same(malformed, *reopened->verdict);
    EXPECT_EQ(reopened->verdict->detail, malformed.detail);
}

// A format the codec did not know made every lookup of such a header miss, with a false warning.
TEST(VerdictCodecTest, EveryFormatTheDecoderReportsRoundTrips)
{
    const CacheKey key = cache_key("value", "rules");
    const CacheSeal secret(random_cache_secret());
    for (const std::string_view format : reported_formats()) {
        Verdict verdict = judged_verdict();
        verdict.format = format;
        const auto opened = open_verdict(seal_verdict(verdict, 1, key, secret), key, secret);
        ASSERT_TRUE(opened.has_value()) << format;
        EXPECT_EQ(opened->verdict->format, format);
        EXPECT_EQ(opened->verdict->format.data(), reported_format(format)->data());  // the constant
    }
    // And the decoder reports no other: URL-encoded base64 among them.
    const auto leaf = testing::issue({});
    std::string encoded = "%20";  // whatever the base64 holds, one escape makes it URL-encoded
    for (const char c : testing::base64(leaf.der)) {
        encoded += c == '+' ? std::string("%2B") : c == '/' ? std::string("%2F") : c == '=' ? "%3D" : std::string(1, c);
    }
    const DecodedHeader decoded = decode_header(encoded);
    EXPECT_EQ(decoded.format, "url-der-base64");
    EXPECT_TRUE(reported_format(decoded.format).has_value()) << decoded.format << " " << decoded.reason;
}

// Whoever can write to a shared cache cannot forge or move an entry.
TEST(VerdictCodecTest, RefusesAnyChangeOtherKeysAndOtherSecrets)
{
    const CacheKey key = cache_key("value", "rules");
    const CacheSeal secret(random_cache_secret());
    const std::string sealed = seal_verdict(judged_verdict(), 1234, key, secret);
    for (std::size_t i = 0; i < sealed.size(); ++i) {
        std::string changed = sealed;
        changed[i] = static_cast<char>(changed[i] ^ 0x01);
        EXPECT_FALSE(open_verdict(changed, key, secret).has_value()) << "byte " << i;
    }
    for (std::size_t size = 0; size < sealed.size(); size += 7) {
        EXPECT_FALSE(open_verdict(sealed.substr(0, size), key, secret).has_value()) << "size " << size;
    }
    EXPECT_FALSE(open_verdict(sealed + "x", key, secret).has_value());
    EXPECT_FALSE(open_verdict(sealed, cache_key("other value", "rules"), secret).has_value());
    EXPECT_FALSE(open_verdict(sealed, key, CacheSeal(random_cache_secret())).has_value());
}

TEST(VerdictCodecTest, SecretFiles)
{
    const testing::TempFile fleet(std::string(64, 'f'));
    const testing::TempFile same(std::string(64, 'f'));
    const testing::TempFile short_file("too short");
    const auto secret = cache_secret_from_file(fleet.path());
    ASSERT_TRUE(secret.ok()) << secret.error();
    EXPECT_EQ(secret.value(), cache_secret_from_file(same.path()).value());
    const auto refused = cache_secret_from_file(short_file.path());
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().find(short_file.path()), std::string::npos);
    EXPECT_NE(refused.error().find("at least 32"), std::string::npos);
    EXPECT_FALSE(cache_secret_from_file("/nonexistent/secret").ok());
}

}  // namespace
}  // namespace arrcert
