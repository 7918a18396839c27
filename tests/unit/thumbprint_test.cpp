#include "arrcert/thumbprint.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "test_pki.h"

namespace arrcert {
namespace {

std::string lower_with_colons(const std::string& hex)
{
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        if (i != 0) {
            out += ':';
        }
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(hex[i])));
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(hex[i + 1])));
    }
    return out;
}

TEST(ThumbprintTest, MatchesSha1AndSha256InAnyForm)
{
    const auto issued = testing::issue({});
    auto certificate = Certificate::parse(issued.der);
    ASSERT_TRUE(certificate);
    const std::string sha1 = to_hex(certificate->sha1());
    const std::string sha256 = to_hex(certificate->sha256());

    for (const std::string& text : {sha1, lower_with_colons(sha1), " " + sha1.substr(0, 20) + " " + sha1.substr(20),
                                    sha256, lower_with_colons(sha256)}) {
        auto thumbprint = Thumbprint::parse(text);
        ASSERT_TRUE(thumbprint) << thumbprint.error();
        EXPECT_TRUE(thumbprint->matches(certificate.value())) << text;
    }
    EXPECT_EQ(Thumbprint::parse(sha1)->algorithm(), Thumbprint::Algorithm::sha1);
    EXPECT_EQ(Thumbprint::parse(sha256)->algorithm(), Thumbprint::Algorithm::sha256);
    EXPECT_EQ(Thumbprint::parse(lower_with_colons(sha1))->hex(), sha1);
}

TEST(ThumbprintTest, OtherCertificateDoesNotMatch)
{
    const auto one = testing::issue({});
    const auto other = testing::issue({});
    auto first = Certificate::parse(one.der);
    auto second = Certificate::parse(other.der);
    auto thumbprint = Thumbprint::parse(to_hex(first->sha1()));
    EXPECT_TRUE(thumbprint->matches(first.value()));
    EXPECT_FALSE(thumbprint->matches(second.value()));
}

TEST(ThumbprintTest, RefusesBadValuesNamingThem)
{
    for (const char* text : {"", "ABC", "G000000000000000000000000000000000000000",
                             "00000000000000000000000000000000000000000",  // 41 digits
                             "00000000000000000000000000000000000000-0"}) {
        auto thumbprint = Thumbprint::parse(text);
        ASSERT_FALSE(thumbprint) << text;
        EXPECT_NE(thumbprint.error().find("'" + std::string(text) + "'"), std::string::npos) << thumbprint.error();
    }
}

}  // namespace
}  // namespace arrcert
