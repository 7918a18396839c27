// The front end's own check: verdict values and fingerprints as front ends write them.
#include "arrcert/front_end_check.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

namespace arrcert {
namespace {

Sha1 sha1_of_pattern()
{
    Sha1 sha1{};
    for (std::size_t i = 0; i < sha1.size(); ++i) {
        sha1[i] = static_cast<unsigned char>(0xA0 + i);
    }
    return sha1;
}

Sha256 sha256_of_pattern()
{
    Sha256 sha256{};
    for (std::size_t i = 0; i < sha256.size(); ++i) {
        sha256[i] = static_cast<unsigned char>(i * 7 + 1);
    }
    return sha256;
}

std::string hex(const auto& bytes, std::string_view separator, bool upper)
{
    std::string text;
    const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (const unsigned char byte : bytes) {
        if (!text.empty()) {
            text += separator;
        }
        text += digits[byte >> 4U];
        text += digits[byte & 0xFU];
    }
    return text;
}

TEST(VerdictTest, AcceptedValuesIgnoreSpaceAndCase)
{
    constexpr std::array<std::string_view, 1> success{"SUCCESS"};
    EXPECT_TRUE(verdict_holds("SUCCESS", success));
    EXPECT_TRUE(verdict_holds(" success ", success));
    EXPECT_FALSE(verdict_holds("FAILED:certificate has expired", success));
    EXPECT_FALSE(verdict_holds("NONE", success));
    EXPECT_FALSE(verdict_holds(std::nullopt, success));
    // Two header lines joined by httpd match nothing.
    EXPECT_FALSE(verdict_holds("SUCCESS, FAILED:x", success));
    EXPECT_FALSE(verdict_holds("SUCCESSFUL", success));
}

TEST(VerdictTest, EmptyAcceptedValueMeansEmptyOrAbsent)
{
    constexpr std::array<std::string_view, 1> empty{""};
    EXPECT_TRUE(verdict_holds("", empty));
    EXPECT_TRUE(verdict_holds("  ", empty));
    EXPECT_TRUE(verdict_holds(std::nullopt, empty));
    EXPECT_FALSE(verdict_holds("client_cert_chain_exceeded_limit", empty));
}

TEST(VerdictTest, AnyOfSeveralValues)
{
    constexpr std::array<std::string_view, 2> ok{"0", "ok"};
    EXPECT_TRUE(verdict_holds("0", ok));
    EXPECT_TRUE(verdict_holds("OK", ok));
    EXPECT_FALSE(verdict_holds("20", ok));
}

TEST(VerdictTest, OnlyACertificateIsVerified)
{
    EXPECT_FALSE(carries_certificate(std::nullopt));
    EXPECT_FALSE(carries_certificate(""));
    EXPECT_FALSE(carries_certificate(" (null) "));
    EXPECT_TRUE(carries_certificate(":MII=:"));
}

TEST(FingerprintTest, HexWithOrWithoutColonsInAnyCase)
{
    const Sha1 sha1 = sha1_of_pattern();
    const Sha256 sha256 = sha256_of_pattern();
    for (const bool upper : {false, true}) {
        for (const std::string_view separator : {"", ":"}) {
            EXPECT_EQ(check_fingerprint(hex(sha256, separator, upper), DigestAlgorithm::sha256, sha1, sha256),
                      FingerprintCheck::match);
            EXPECT_EQ(check_fingerprint(hex(sha1, separator, upper), DigestAlgorithm::sha1, sha1, sha256),
                      FingerprintCheck::match);
        }
    }
    EXPECT_EQ(check_fingerprint(hex(sha256, ":", false) + ":", DigestAlgorithm::sha256, sha1, sha256),
              FingerprintCheck::malformed);
}

TEST(FingerprintTest, Base64AndBase64Url)
{
    const Sha1 sha1 = sha1_of_pattern();
    Sha256 sha256{};
    sha256.fill(0xFB);  // "+/" in base64, "-_" in base64url
    const std::string standard = "+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/v7+/s=";
    EXPECT_EQ(check_fingerprint(standard, DigestAlgorithm::sha256, sha1, sha256), FingerprintCheck::match);
    EXPECT_EQ(check_fingerprint("-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_v7-_s", DigestAlgorithm::sha256, sha1, sha256),
              FingerprintCheck::match);
    std::string other = standard;
    other[0] = 'A';
    EXPECT_EQ(check_fingerprint(other, DigestAlgorithm::sha256, sha1, sha256), FingerprintCheck::mismatch);
}

TEST(FingerprintTest, WrongLengthOrAlgorithmOrAbsent)
{
    const Sha1 sha1 = sha1_of_pattern();
    const Sha256 sha256 = sha256_of_pattern();
    // A SHA-1 where SHA-256 is configured, and the other way round.
    EXPECT_EQ(check_fingerprint(hex(sha1, "", false), DigestAlgorithm::sha256, sha1, sha256),
              FingerprintCheck::malformed);
    EXPECT_EQ(check_fingerprint(hex(sha256, "", false), DigestAlgorithm::sha1, sha1, sha256),
              FingerprintCheck::malformed);
    EXPECT_EQ(check_fingerprint(hex(sha256, "", false).substr(2), DigestAlgorithm::sha256, sha1, sha256),
              FingerprintCheck::malformed);
    EXPECT_EQ(check_fingerprint("not a fingerprint!", DigestAlgorithm::sha256, sha1, sha256),
              FingerprintCheck::malformed);
    EXPECT_EQ(check_fingerprint(std::nullopt, DigestAlgorithm::sha256, sha1, sha256), FingerprintCheck::absent);
    EXPECT_EQ(check_fingerprint(" ", DigestAlgorithm::sha256, sha1, sha256), FingerprintCheck::absent);
    Sha256 other = sha256;
    other[31] ^= 1U;
    EXPECT_EQ(check_fingerprint(hex(other, "", false), DigestAlgorithm::sha256, sha1, sha256),
              FingerprintCheck::mismatch);
    EXPECT_FALSE(fingerprint_reason(FingerprintCheck::mismatch).empty());
    EXPECT_FALSE(digest_algorithm_named("md5"));
    EXPECT_EQ(digest_algorithm_named("SHA256"), DigestAlgorithm::sha256);
}

TEST(FingerprintTest, XfccHashOfTheChosenElement)
{
    const std::string value = "Hash=aa;Cert=\"x\",By=spiffe://b;Hash=bb";
    EXPECT_EQ(xfcc_hash(value, XfccPick::first), "aa");
    EXPECT_EQ(xfcc_hash(value, XfccPick::last), "bb");
    EXPECT_FALSE(xfcc_hash("By=spiffe://a;Cert=\"x\"", XfccPick::last));
}

TEST(FrontEndChecksTest, PresetsAsTheVendorsDocumentThem)
{
    const FrontEndChecks gcp = front_end_checks(FrontEnd::gcp);
    ASSERT_EQ(gcp.verdicts.size(), 3U);
    EXPECT_TRUE(gcp.passthrough);
    EXPECT_EQ(gcp.fingerprint->header, "X-Client-Cert-Hash");
    EXPECT_EQ(front_end_checks(FrontEnd::kong).fingerprint->algorithm, DigestAlgorithm::sha1);
    EXPECT_TRUE(front_end_checks(FrontEnd::envoy).fingerprint->header.empty());  // XFCC Hash
    EXPECT_TRUE(front_end_checks(FrontEnd::aws_alb).passthrough);
    EXPECT_FALSE(front_end_checks(FrontEnd::aws_alb_verify).passthrough);
    EXPECT_FALSE(front_end_checks(FrontEnd::cloudfront).passthrough);
    EXPECT_EQ(front_end_checks(FrontEnd::ingress_nginx).verdicts.front().header, "ssl-client-verify");
    EXPECT_TRUE(front_end_checks(std::nullopt).verdicts.empty());
    // Every passthrough preset is one whose verdict the administrator may have to name.
    EXPECT_EQ(std::string(front_end_headers(FrontEnd::cloudflare).name), "Client-Cert");
}

}  // namespace
}  // namespace arrcert
