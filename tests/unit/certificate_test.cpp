#include "arrcert/certificate.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "test_pki.h"

namespace arrcert {
namespace {

TEST(CertificateTest, ParsesAndComputesFacts)
{
    const std::int64_t start = 1700000000;
    const std::int64_t end = 2600000000;  // after 2049: GeneralizedTime
    const auto issued = testing::issue({.not_before = start, .not_after = end});
    auto certificate = Certificate::parse(issued.der);
    ASSERT_TRUE(certificate) << certificate.error();
    EXPECT_EQ(certificate->not_before(), start);
    EXPECT_EQ(certificate->not_after(), end);

    Sha256 expected{};
    ASSERT_EQ(EVP_Digest(issued.der.data(), issued.der.size(), expected.data(), nullptr, EVP_sha256(), nullptr), 1);
    EXPECT_EQ(certificate->sha256(), expected);
    EXPECT_EQ(to_hex(certificate->sha1()).size(), 40U);
}

// OpenSSL decodes these BER forms of the unsigned outer SEQUENCE; they are not DER, and would
// give one certificate several thumbprints.
TEST(CertificateTest, RefusesOuterEncodingsThatAreNotDer)
{
    const Der der = testing::issue({}).der;
    ASSERT_EQ(der[0], 0x30);
    ASSERT_EQ(der[1], 0x82);  // a two-byte length
    Der long_form{0x30, 0x84, 0x00, 0x00, der[2], der[3]};
    long_form.insert(long_form.end(), der.begin() + 4, der.end());
    const auto refused = Certificate::parse(long_form);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error(), "the certificate is not DER-encoded");

    Der indefinite{0x30, 0x80};
    indefinite.insert(indefinite.end(), der.begin() + 4, der.end());
    indefinite.insert(indefinite.end(), {0x00, 0x00});
    EXPECT_FALSE(Certificate::parse(indefinite));
    EXPECT_TRUE(Certificate::parse(der));
}

TEST(CertificateTest, RefusesDerThatIsNotACertificate)
{
    // A SEQUENCE holding an INTEGER: well-formed DER, not a certificate.
    const Der not_certificate{0x30, 0x03, 0x02, 0x01, 0x05};
    auto certificate = Certificate::parse(not_certificate);
    ASSERT_FALSE(certificate);
    EXPECT_NE(certificate.error().find("not an X.509 certificate"), std::string::npos);
}

TEST(CertificateTest, RefusesAPrivateKey)
{
    testing::KeyPtr key(EVP_EC_gen("P-256"));
    unsigned char* der = nullptr;
    const int length = i2d_PrivateKey(key.get(), &der);
    ASSERT_GT(length, 0);
    OpenSslBytes owner(der);
    EXPECT_FALSE(Certificate::parse(Der(der, der + length)));
}

TEST(CertificateTest, HexIsUppercaseWithoutSeparators)
{
    const unsigned char bytes[] = {0x00, 0xAB, 0x0F};
    EXPECT_EQ(to_hex(bytes, 3), "00AB0F");
}

}  // namespace
}  // namespace arrcert
