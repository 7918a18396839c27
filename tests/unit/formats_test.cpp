#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "arrcert/decode.h"
#include "arrcert/xfcc.h"
#include "test_pki.h"

namespace arrcert {
namespace {

using testing::base64;
using testing::pem;

struct Certificates {
    testing::Issued leaf = testing::issue({.subject = {{{"CN", "leaf"}}}});
    testing::Issued intermediate = testing::issue({.subject = {{{"CN", "intermediate"}}}});
    testing::Issued other = testing::issue({.subject = {{{"CN", "other"}}}});
};

const Certificates& certs()
{
    static const Certificates instance;
    return instance;
}

std::string url_encode(const std::string& text)
{
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_') {
            out += c;
        } else {
            out += '%';
            out += digits[byte >> 4U];
            out += digits[byte & 0x0FU];
        }
    }
    return out;
}

DecodedHeader decode_as(const std::string& value, HeaderFormat format, XfccPick pick = XfccPick::last)
{
    return decode_header(value, DecodeOptions{format, 65536, pick});
}

void expect_chain(const DecodedHeader& decoded, std::initializer_list<const testing::Issued*> expected)
{
    ASSERT_EQ(decoded.status, DecodedHeader::Status::ok) << decoded.reason;
    ASSERT_EQ(decoded.chain.size(), expected.size());
    std::size_t i = 0;
    for (const testing::Issued* certificate : expected) {
        EXPECT_EQ(decoded.chain[i++], certificate->der);
    }
}

void expect_malformed(const DecodedHeader& decoded, const std::string& reason_part)
{
    EXPECT_EQ(decoded.status, DecodedHeader::Status::malformed);
    EXPECT_NE(decoded.reason.find(reason_part), std::string::npos) << decoded.reason;
}

TEST(FormatsTest, NamesRoundTrip)
{
    for (const char* name :
         {"auto", "der-base64", "pem", "url-pem", "xfcc", "rfc9440", "traefik", "der-concat-base64"}) {
        const auto format = header_format_named(name);
        ASSERT_TRUE(format) << name;
        EXPECT_EQ(header_format_name(*format), name);
    }
    // One rule for every keyword of the directives: any case.
    EXPECT_EQ(header_format_named("PEM"), HeaderFormat::pem);
    EXPECT_EQ(header_format_named("Der-Base64"), HeaderFormat::der_base64);
    EXPECT_FALSE(header_format_named("base64"));
    EXPECT_EQ(header_format_list(), "auto, der-base64, pem, url-pem, xfcc, rfc9440, traefik or der-concat-base64");
    EXPECT_EQ(header_format_list("|", "|"), "auto|der-base64|pem|url-pem|xfcc|rfc9440|traefik|der-concat-base64");
}

// The client's text never reaches the reason (exported as FAILED:<reason>), only the detail.
TEST(FormatsTest, ReasonsHoldNoClientText)
{
    const DecodedHeader decoded = decode_header("-----BEGIN <script>alert(1)</script>-----\nAAAA\n");
    EXPECT_EQ(decoded.status, DecodedHeader::Status::malformed);
    EXPECT_EQ(decoded.reason, "PEM block is not a CERTIFICATE");
    EXPECT_NE(decoded.detail.find("<script>"), std::string::npos);
    const DecodedHeader encoded = decode_header("-----BEGIN%20EVIL%0AHEADER-----%0AAAAA%0A");
    EXPECT_EQ(encoded.reason.find("EVIL"), std::string::npos) << encoded.reason;
}

TEST(FormatsTest, StrictFormatsAcceptOnlyTheirOwnForm)
{
    const auto& c = certs();
    expect_chain(decode_as(base64(c.leaf.der), HeaderFormat::der_base64), {&c.leaf});
    expect_malformed(decode_as(pem(c.leaf.der), HeaderFormat::der_base64), "base64");
    expect_chain(decode_as(pem(c.leaf.der), HeaderFormat::pem), {&c.leaf});
    expect_malformed(decode_as(base64(c.leaf.der), HeaderFormat::pem), "outside PEM");
    expect_chain(decode_as(url_encode(pem(c.leaf.der) + pem(c.intermediate.der)), HeaderFormat::url_pem),
                 {&c.leaf, &c.intermediate});
}

// Found by fuzz_decode: URL-encoded whitespace decoded to no PEM block at all, yet "ok".
TEST(FormatsTest, UrlEncodedWhitespaceIsNoCertificateBlock)
{
    expect_malformed(decode_as("%0A", HeaderFormat::url_pem), "no PEM block");
    expect_malformed(decode_as("%20%20", HeaderFormat::url_pem), "no PEM block");
    EXPECT_EQ(decode_as("%0A", HeaderFormat::automatic).status, DecodedHeader::Status::malformed);
    expect_malformed(decode_as("Cert=\"%20\"", HeaderFormat::xfcc), "no PEM block");
}

// Traefik up to 2.9.1 url.QueryEscape'd each item (pkg/middlewares/passtlsclientcert, removed in
// 2.9.2); a value escaped as a whole (%2C between items) reads the same.
TEST(FormatsTest, TraefikUrlEscapedLists)
{
    const auto& c = certs();
    const std::string leaf = base64(c.leaf.der);
    const std::string intermediate = base64(c.intermediate.der);
    expect_chain(decode_as(url_encode(leaf), HeaderFormat::traefik), {&c.leaf});
    expect_chain(decode_as(url_encode(leaf) + "," + url_encode(intermediate), HeaderFormat::traefik),
                 {&c.leaf, &c.intermediate});
    expect_chain(decode_as(url_encode(leaf + "," + intermediate), HeaderFormat::traefik), {&c.leaf, &c.intermediate});
    expect_chain(decode_chain_header(url_encode(intermediate), HeaderFormat::traefik, 65536), {&c.intermediate});
    expect_malformed(decode_as(url_encode(leaf) + "%2", HeaderFormat::traefik), "percent-encoding");
    expect_malformed(decode_as(url_encode(leaf + ",,"), HeaderFormat::traefik), "empty item");
    EXPECT_EQ(decode_as(url_encode(leaf), HeaderFormat::traefik).format, "traefik");
}

// HAProxy's %[ssl_c_chain_der,base64] (and %[ssl_c_der,base64] read the same way).
TEST(FormatsTest, DerConcatBase64)
{
    const auto& c = certs();
    const Der both = [&] {
        Der joined = c.leaf.der;
        joined.insert(joined.end(), c.intermediate.der.begin(), c.intermediate.der.end());
        return joined;
    }();
    expect_chain(decode_as(base64(both), HeaderFormat::der_concat_base64), {&c.leaf, &c.intermediate});
    expect_chain(decode_as(base64(c.leaf.der), HeaderFormat::der_concat_base64), {&c.leaf});
    EXPECT_EQ(decode_as(base64(both), HeaderFormat::der_concat_base64).format, "der-concat-base64");
    const DecodedHeader chain = decode_chain_header(base64(c.intermediate.der), HeaderFormat::der_concat_base64, 65536);
    expect_chain(chain, {&c.intermediate});
    // What der-base64 refuses as trailing bytes.
    expect_malformed(decode_as(base64(both), HeaderFormat::der_base64), "trailing bytes");
    // Broken concatenations: the last one cut short, bytes between, base64 items joined by ','.
    const Der cut(both.begin(), both.end() - 10);
    expect_malformed(decode_as(base64(cut), HeaderFormat::der_concat_base64), "certificate 2 is truncated");
    Der between = c.leaf.der;
    between.push_back(0x00);
    between.insert(between.end(), c.intermediate.der.begin(), c.intermediate.der.end());
    expect_malformed(decode_as(base64(between), HeaderFormat::der_concat_base64), "certificate 2");
    expect_malformed(decode_as(base64(c.leaf.der) + "," + base64(c.intermediate.der), HeaderFormat::der_concat_base64),
                     "several values");
    expect_malformed(decode_chain_header(base64(cut), HeaderFormat::der_concat_base64, 65536), "chain header: ");
}

TEST(FormatsTest, Traefik)
{
    const auto& c = certs();
    expect_chain(decode_as(base64(c.leaf.der), HeaderFormat::traefik), {&c.leaf});
    expect_chain(decode_as(base64(c.leaf.der) + "," + base64(c.intermediate.der), HeaderFormat::traefik),
                 {&c.leaf, &c.intermediate});
    // Two header lines joined by httpd are a longer list, read as one.
    expect_chain(decode_as(base64(c.leaf.der) + ", " + base64(c.intermediate.der), HeaderFormat::traefik),
                 {&c.leaf, &c.intermediate});
    expect_malformed(decode_as(base64(c.leaf.der) + ",," + base64(c.intermediate.der), HeaderFormat::traefik),
                     "empty item");
    expect_malformed(decode_as(base64(c.leaf.der) + ",", HeaderFormat::traefik), "empty item");
}

TEST(FormatsTest, Rfc9440)
{
    const auto& c = certs();
    expect_chain(decode_as(":" + base64(c.leaf.der) + ":", HeaderFormat::rfc9440), {&c.leaf});
    expect_malformed(decode_as(base64(c.leaf.der), HeaderFormat::rfc9440), "byte sequence");
    expect_malformed(decode_as(":" + base64(c.leaf.der), HeaderFormat::rfc9440), "byte sequence");
    // Client-Cert is one item: two header lines fail closed.
    expect_malformed(decode_as(":" + base64(c.leaf.der) + ":, :" + base64(c.other.der) + ":", HeaderFormat::rfc9440),
                     "several values");
    const DecodedHeader chain = decode_chain_header(
        ":" + base64(c.intermediate.der) + ":,  :" + base64(c.other.der) + ":", HeaderFormat::rfc9440, 65536);
    expect_chain(chain, {&c.intermediate, &c.other});
    expect_malformed(decode_chain_header(":" + base64(c.intermediate.der) + ":,", HeaderFormat::rfc9440, 65536),
                     "byte sequence");
}

TEST(FormatsTest, ChainHeaderAutomatic)
{
    const auto& c = certs();
    expect_chain(decode_chain_header(pem(c.intermediate.der) + pem(c.other.der), HeaderFormat::automatic, 65536),
                 {&c.intermediate, &c.other});
    expect_chain(decode_chain_header(url_encode(pem(c.intermediate.der)), HeaderFormat::automatic, 65536),
                 {&c.intermediate});
    expect_chain(
        decode_chain_header(base64(c.intermediate.der) + "," + base64(c.other.der), HeaderFormat::automatic, 65536),
        {&c.intermediate, &c.other});
    EXPECT_EQ(decode_chain_header(" ", HeaderFormat::automatic, 65536).status, DecodedHeader::Status::absent);
    expect_malformed(decode_chain_header("!!", HeaderFormat::automatic, 65536), "chain header");
}

TEST(FormatsTest, AppendChainDropsARepeatedLeaf)
{
    const auto& c = certs();
    DecodedHeader header = decode_as(base64(c.leaf.der), HeaderFormat::der_base64);
    append_chain(header, decode_chain_header(pem(c.leaf.der) + pem(c.intermediate.der), HeaderFormat::pem, 65536));
    expect_chain(header, {&c.leaf, &c.intermediate});
}

std::string xfcc(const testing::Issued& cert, const std::string& extra = "", const std::string& chain = "")
{
    std::string element = "By=spiffe://proxy;Hash=abc;Cert=\"" + url_encode(pem(cert.der)) + "\"";
    if (!chain.empty()) {
        element += ";Chain=\"" + url_encode(chain) + "\"";
    }
    return element + extra;
}

TEST(XfccTest, LastElementByDefaultFirstOnRequest)
{
    const auto& c = certs();
    const std::string value = xfcc(c.other) + "," + xfcc(c.leaf);
    expect_chain(decode_as(value, HeaderFormat::xfcc), {&c.leaf});
    expect_chain(decode_as(value, HeaderFormat::xfcc, XfccPick::first), {&c.other});
}

TEST(XfccTest, ChainWithOrWithoutTheLeaf)
{
    const auto& c = certs();
    expect_chain(decode_as(xfcc(c.leaf, "", pem(c.leaf.der) + pem(c.intermediate.der)), HeaderFormat::xfcc),
                 {&c.leaf, &c.intermediate});
    expect_chain(decode_as(xfcc(c.leaf, "", pem(c.intermediate.der)), HeaderFormat::xfcc), {&c.leaf, &c.intermediate});
}

TEST(XfccTest, QuotedSubjectCannotInjectFields)
{
    const auto& c = certs();
    // A client-controlled Subject holding what looks like a Cert field and another element.
    const std::string injected =
        R"(;Subject="CN=x;Cert=)" + url_encode(pem(c.other.der)) + R"(,By=evil;Cert=\"x\"";URI=spiffe://a)";
    const DecodedHeader decoded = decode_as(xfcc(c.leaf, injected), HeaderFormat::xfcc);
    expect_chain(decoded, {&c.leaf});
    const auto elements = parse_xfcc(R"(Subject="a;b,c=\"d\"";Cert=x)");
    ASSERT_TRUE(elements) << elements.error();
    ASSERT_EQ(elements->size(), 1U);
    EXPECT_EQ(elements->front().fields[0].second, "a;b,c=\"d\"");
    EXPECT_EQ(elements->front().fields[1].second, "x");
}

// Istio's sidecars forward Hash, Subject and URI only: a certificate was presented, but it is not
// here. Refused (so 'optional' cannot pass it as anonymous), naming the Envoy settings to change.
TEST(XfccTest, AnElementWithoutCertIsRefusedWithTheEnvoySettings)
{
    const std::string settings =
        "set Envoy's set_current_client_cert_details cert: true (forward_client_cert_details "
        "SANITIZE_SET or APPEND_FORWARD)";
    expect_malformed(decode_as("By=spiffe://proxy;Hash=abc;Subject=\"CN=x\"", HeaderFormat::xfcc), settings);
    expect_malformed(decode_as(xfcc(certs().leaf) + ",By=spiffe://proxy", HeaderFormat::xfcc),
                     "XFCC element carries no Cert");
    expect_malformed(decode_as("Hash=abc;Cert=\"\"", HeaderFormat::xfcc), "XFCC element carries no Cert");
    // The element chosen decides: the first one here carries its Cert.
    expect_chain(decode_as(xfcc(certs().leaf) + ",By=spiffe://proxy", HeaderFormat::xfcc, XfccPick::first),
                 {&certs().leaf});
    // No header at all is still no certificate.
    EXPECT_EQ(decode_as("", HeaderFormat::xfcc).status, DecodedHeader::Status::absent);
}

TEST(XfccTest, KeysAreCaseInsensitive)
{
    const std::string value = "BY=a;CERT=\"" + url_encode(pem(certs().leaf.der)) + "\"";
    expect_chain(decode_as(value, HeaderFormat::xfcc), {&certs().leaf});
}

TEST(XfccTest, BrokenValuesFailClosed)
{
    const auto& c = certs();
    expect_malformed(decode_as("Cert=\"unterminated", HeaderFormat::xfcc), "unterminated");
    expect_malformed(decode_as("Cert", HeaderFormat::xfcc), "KEY=value");
    expect_malformed(decode_as("Cert=a\"b", HeaderFormat::xfcc), "inside an unquoted value");
    expect_malformed(decode_as(xfcc(c.leaf) + ";Cert=\"" + url_encode(pem(c.other.der)) + "\"", HeaderFormat::xfcc),
                     "appears twice");
    expect_malformed(decode_as(xfcc(c.leaf) + ",,", HeaderFormat::xfcc), "KEY=value");
    expect_malformed(decode_as("Cert=\"%ZZ\"", HeaderFormat::xfcc), "percent-encoding");
    expect_malformed(decode_as("Cert=\"" + url_encode(pem(c.leaf.der) + pem(c.other.der)) + "\"", HeaderFormat::xfcc),
                     "holds 2 certificates");
}

}  // namespace
}  // namespace arrcert
