#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "arrcert/bound_token.h"
#include "arrcert/decode.h"
#include "arrcert/der_concat.h"
#include "test_pki.h"

namespace arrcert {
namespace {

using Elements = std::vector<Der>;

TEST(DerConcatTest, SplitsWhereEachSequenceEnds)
{
    const Der one{0x30, 0x03, 0x02, 0x01, 0x05};
    const Der two{0x30, 0x00};
    Der both = one;
    both.insert(both.end(), two.begin(), two.end());
    const auto split = split_concatenated_der(both, 5);
    ASSERT_TRUE(split) << split.error();
    EXPECT_EQ(split.value(), (Elements{one, two}));
}

TEST(DerConcatTest, RefusesWhatIsNotBackToBackSequences)
{
    EXPECT_EQ(split_concatenated_der({}, 5).error(), "no DER certificate");
    EXPECT_EQ(split_concatenated_der(Der{0x30, 0x05, 0x02, 0x01}, 5).error(), "certificate 1 is truncated or not DER");
    EXPECT_EQ(split_concatenated_der(Der{0x30, 0x00, 0x02, 0x01, 0x05}, 5).error(),
              "certificate 2 does not start with a definite-length SEQUENCE");
    EXPECT_EQ(split_concatenated_der(Der{0x30, 0x80, 0x00, 0x00}, 5).error(),
              "certificate 1 does not start with a definite-length SEQUENCE");  // indefinite length (BER)
    EXPECT_EQ(split_concatenated_der(Der{0x30, 0x00, 0x30}, 5).error(), "certificate 2 is truncated or not DER");
}

TEST(DerConcatTest, BoundedInCount)
{
    Der many;
    for (std::size_t i = 0; i < max_concatenated_certificates + 1; ++i) {
        many.insert(many.end(), {0x30, 0x00});
    }
    EXPECT_EQ(split_concatenated_der(many, max_concatenated_certificates).error(), "more than 101 certificates");
    many.resize(many.size() - 2);
    EXPECT_TRUE(split_concatenated_der(many, max_concatenated_certificates));
}

// RFC 8705 section 3.1, and what mod_auth_openidc compares with cnf["x5t#S256"] byte for byte.
TEST(BoundTokenTest, Base64urlOfTheSha256WithoutPadding)
{
    Sha256 digest{};
    for (std::size_t i = 0; i < digest.size(); ++i) {
        digest.at(i) = static_cast<unsigned char>(0xF8 + i * 7);
    }
    const std::string fingerprint = bound_token_fingerprint(digest);
    EXPECT_EQ(fingerprint.size(), 43U);
    EXPECT_EQ(fingerprint.find_first_of("+/="), std::string::npos) << fingerprint;
    std::string standard = testing::base64(Der(digest.begin(), digest.end()));
    std::ranges::replace(standard, '+', '-');
    std::ranges::replace(standard, '/', '_');
    EXPECT_EQ(fingerprint + "=", standard);
    EXPECT_TRUE(is_bound_token_name("TB_SSL_CLIENT_CERT_FINGERPRINT"));
    EXPECT_TRUE(is_bound_token_name("tb_ssl_client_cert_fingerprint"));
    EXPECT_FALSE(is_bound_token_name("TB_SSL_CLIENT_CERT_FINGERPRINTX"));
}

}  // namespace
}  // namespace arrcert
