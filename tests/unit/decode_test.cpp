#include "arrcert/decode.h"

#include <gtest/gtest.h>

#include <regex>

#include "test_pki.h"

namespace arrcert {
namespace {

using testing::base64;
using testing::pem;

class DecodeTest : public ::testing::Test {
protected:
    // A leaf whose base64 holds a '+', so that the '+' handling is exercised every run.
    static const Der& der()
    {
        static const Der leaf = [] {
            Der der = testing::issue({}).der;
            while (base64(der).find('+') == std::string::npos) {
                der = testing::issue({}).der;
            }
            return der;
        }();
        return leaf;
    }

    static void expect_leaf(const DecodedHeader& decoded, std::string_view format)
    {
        ASSERT_EQ(decoded.status, DecodedHeader::Status::ok) << decoded.reason;
        EXPECT_EQ(decoded.format, format);
        ASSERT_EQ(decoded.chain.size(), 1U);
        EXPECT_EQ(decoded.chain.front(), der());
    }

    static void expect_malformed(const DecodedHeader& decoded, const std::string& reason_part)
    {
        EXPECT_EQ(decoded.status, DecodedHeader::Status::malformed);
        EXPECT_TRUE(decoded.chain.empty());
        EXPECT_NE(decoded.reason.find(reason_part), std::string::npos) << decoded.reason;
    }

    static std::string url_encode(const std::string& text, bool encode_plus)
    {
        std::string out;
        for (char c : text) {
            if (c == '\n') {
                out += "%0A";
            } else if (c == ' ') {
                out += "%20";
            } else if (c == '+' && encode_plus) {
                out += "%2B";
            } else if (c == '=' && encode_plus) {
                out += "%3D";
            } else if (c == '/' && encode_plus) {
                out += "%2F";
            } else {
                out += c;
            }
        }
        return out;
    }
};

TEST_F(DecodeTest, AzureBase64Der)
{
    expect_leaf(decode_header(base64(der())), "der-base64");
}

TEST_F(DecodeTest, SurroundingWhitespaceIsIgnored)
{
    expect_leaf(decode_header(" \t" + base64(der()) + "\r\n"), "der-base64");
}

TEST_F(DecodeTest, PemWithNewlines)
{
    expect_leaf(decode_header(pem(der())), "pem");
}

TEST_F(DecodeTest, PemWithNewlinesTurnedIntoSpacesOrTabs)
{
    const std::string text = pem(der());
    expect_leaf(decode_header(std::regex_replace(text, std::regex("\n"), " ")), "pem");
    expect_leaf(decode_header(std::regex_replace(text, std::regex("\n"), "   ")), "pem");
    expect_leaf(decode_header(std::regex_replace(text, std::regex("\n"), "\t")), "pem");
}

TEST_F(DecodeTest, PemBodyWithoutArmour)
{
    std::string body = pem(der());
    body = body.substr(body.find('\n') + 1);
    body = body.substr(0, body.find("-----END"));
    expect_leaf(decode_header(body), "der-base64");
}

TEST_F(DecodeTest, UrlEncodedPemAsNginxSendsIt)
{
    expect_leaf(decode_header(url_encode(pem(der()), true)), "url-pem");
}

TEST_F(DecodeTest, UrlEncodedPemAsAwsSendsItKeepsPlusLiteral)
{
    const std::string value = url_encode(pem(der()), false);
    ASSERT_NE(value.find('+'), std::string::npos) << "the test certificate needs a '+' in its base64";
    expect_leaf(decode_header(value), "url-pem");
}

TEST_F(DecodeTest, SeveralPemBlocksMakeAChainLeafFirst)
{
    const auto other = testing::issue({.subject = {{{"CN", "intermediate"}}}});
    const DecodedHeader decoded = decode_header(pem(der()) + pem(other.der));
    ASSERT_EQ(decoded.status, DecodedHeader::Status::ok) << decoded.reason;
    ASSERT_EQ(decoded.chain.size(), 2U);
    EXPECT_EQ(decoded.chain[0], der());
    EXPECT_EQ(decoded.chain[1], other.der);
}

TEST_F(DecodeTest, NoCertificate)
{
    for (const char* value : {"", "   ", "\t\r\n", "(null)", " (null) "}) {
        const DecodedHeader decoded = decode_header(value);
        EXPECT_EQ(decoded.status, DecodedHeader::Status::absent) << "'" << value << "'";
    }
}

TEST_F(DecodeTest, InvalidBase64IsRefused)
{
    expect_malformed(decode_header("not*base64"), "invalid base64");
    expect_malformed(decode_header(base64(der()).substr(1)), "base64");
    expect_malformed(decode_header("QUJD=QUJD"), "invalid base64");
    expect_malformed(decode_header("QQ==="), "base64");
}

TEST_F(DecodeTest, PlusTurnedIntoSpaceIsRefused)
{
    std::string value = base64(der());
    const auto plus = value.find('+');
    ASSERT_NE(plus, std::string::npos);
    value[plus] = ' ';
    EXPECT_EQ(decode_header(value).status, DecodedHeader::Status::malformed);
}

TEST_F(DecodeTest, TruncatedDerIsRefused)
{
    const Der truncated(der().begin(), der().end() - 10);
    expect_malformed(decode_header(base64(truncated)), "truncated");
}

TEST_F(DecodeTest, TrailingBytesAreRefused)
{
    Der padded = der();
    padded.push_back(0);
    padded.push_back(0);
    expect_malformed(decode_header(base64(padded)), "2 trailing bytes");
}

TEST_F(DecodeTest, NonSequenceIsRefused)
{
    expect_malformed(decode_header(base64(Der{0x04, 0x02, 0x41, 0x42})), "SEQUENCE");
}

TEST_F(DecodeTest, OtherPemBlocksAreRefused)
{
    expect_malformed(decode_header("-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n"),
                     "not a CERTIFICATE");
    expect_malformed(decode_header("-----BEGIN X509 CRL-----\nQUJD\n-----END X509 CRL-----"), "not a CERTIFICATE");
}

TEST_F(DecodeTest, PemWithoutEndIsRefused)
{
    std::string text = pem(der());
    text = text.substr(0, text.find("-----END"));
    expect_malformed(decode_header(text), "no END");
}

TEST_F(DecodeTest, JunkAroundPemIsRefused)
{
    expect_malformed(decode_header(pem(der()) + "junk"), "outside PEM");
    expect_malformed(decode_header("junk" + pem(der())), "outside PEM");
}

TEST_F(DecodeTest, InvalidPercentEncodingIsRefused)
{
    const std::string value = url_encode(pem(der()), true);
    expect_malformed(decode_header(value + "%4"), "percent-encoding");
    expect_malformed(decode_header("%zz" + value), "percent-encoding");
}

TEST_F(DecodeTest, RepeatedHeaderLinesFailClosed)
{
    const std::string value = base64(der());
    expect_malformed(decode_header(value + ", " + value), "several values");
    expect_malformed(decode_header(value + ", (null)"), "several values");
}

TEST_F(DecodeTest, OverTheBoundIsRefused)
{
    const std::string value = base64(der());
    expect_malformed(decode_header(value, value.size() - 1), "over the limit");
    expect_leaf(decode_header(value, value.size()), "der-base64");
}

}  // namespace
}  // namespace arrcert
