#include "arrcert/alt_names.h"

#include <gtest/gtest.h>

#include <map>

#include "arrcert/certificate.h"
#include "arrcert/variables.h"
#include "test_pki.h"

namespace arrcert {
namespace {

AltNamePattern pattern(std::string_view text)
{
    auto parsed = AltNamePattern::parse(text);
    EXPECT_TRUE(parsed) << text << ": " << (parsed ? "" : parsed.error());
    return std::move(parsed.value());
}

std::string bytes(std::initializer_list<unsigned char> list)
{
    return {list.begin(), list.end()};
}

TEST(AltNamesTest, DnsWildcardIsExactlyOneLabel)
{
    const AltNamePattern wildcard = pattern("dns:*.Example.com");
    EXPECT_EQ(wildcard.text(), "dns:*.example.com");
    EXPECT_TRUE(wildcard.matches({.dns = {"api.example.com"}}));
    EXPECT_TRUE(wildcard.matches({.dns = {"API.EXAMPLE.COM"}}));
    EXPECT_FALSE(wildcard.matches({.dns = {"example.com"}}));
    EXPECT_FALSE(wildcard.matches({.dns = {"a.b.example.com"}}));
    EXPECT_FALSE(wildcard.matches({.dns = {".example.com"}}));
    EXPECT_FALSE(wildcard.matches({.dns = {"api.example.com.evil"}}));
    EXPECT_FALSE(wildcard.matches({.dns = {"apiexample.com"}}));
    // A '*' in the certificate's own name is text: it matches a rule only as those characters.
    EXPECT_FALSE(pattern("dns:api.example.com").matches({.dns = {"*.example.com"}}));
    EXPECT_TRUE(pattern("dns:api.example.com").matches({.dns = {"x.test", "Api.Example.Com"}}));
}

TEST(AltNamesTest, EmailUpnUriExactAndUriPrefix)
{
    EXPECT_TRUE(pattern("email:a@example.com").matches({.emails = {"a@example.com"}}));
    EXPECT_FALSE(pattern("email:a@example.com").matches({.emails = {"A@example.com"}}));
    EXPECT_FALSE(pattern("email:a@example.com").matches({.upns = {"a@example.com"}}));
    EXPECT_TRUE(pattern("upn:zoe@corp.example").matches({.upns = {"zoe@corp.example"}}));
    EXPECT_FALSE(pattern("upn:zoe@corp.example").matches({.emails = {"zoe@corp.example"}}));
    const AltNamePattern prefix = pattern("uri:spiffe://prod.example/ns/payments/*");
    EXPECT_TRUE(prefix.matches({.uris = {"spiffe://prod.example/ns/payments/sa/api"}}));
    EXPECT_FALSE(prefix.matches({.uris = {"spiffe://prod.example/ns/payments"}}));
    EXPECT_FALSE(prefix.matches({.uris = {"spiffe://prod.example/ns/payroll/sa/api"}}));
    EXPECT_TRUE(pattern("uri:spiffe://a/b").matches({.uris = {"spiffe://a/b"}}));
    EXPECT_FALSE(pattern("uri:spiffe://a/b").matches({.uris = {"spiffe://a/b/c"}}));
}

TEST(AltNamesTest, IpAddressesComparedAsAddresses)
{
    const std::string v4 = bytes({192, 0, 2, 7});
    const std::string mapped = bytes({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 7});
    const std::string v6 = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
    EXPECT_TRUE(pattern("ip:192.0.2.7").matches({.ips = {v4}}));
    EXPECT_TRUE(pattern("ip:192.0.2.0/24").matches({.ips = {v4}}));
    EXPECT_FALSE(pattern("ip:192.0.3.0/24").matches({.ips = {v4}}));
    EXPECT_TRUE(pattern("ip:0.0.0.0/0").matches({.ips = {v4}}));
    // One family: an IPv4-mapped IPv6 name is IPv6.
    EXPECT_FALSE(pattern("ip:192.0.2.0/24").matches({.ips = {mapped}}));
    EXPECT_TRUE(pattern("ip:::ffff:192.0.2.0/120").matches({.ips = {mapped}}));
    EXPECT_FALSE(pattern("ip:::ffff:192.0.2.0/120").matches({.ips = {v4}}));
    EXPECT_TRUE(pattern("ip:2001:DB8::1").matches({.ips = {v6}}));
    EXPECT_TRUE(pattern("ip:2001:0db8:0:0:0:0:0:1").matches({.ips = {v6}}));
    EXPECT_TRUE(pattern("ip:2001:db8::/32").matches({.ips = {v6}}));
    EXPECT_EQ(pattern("ip:2001:0DB8::/32").text(), "ip:2001:db8::/32");
    EXPECT_FALSE(pattern("ip:2001:db9::/32").matches({.ips = {v6}}));
}

TEST(AltNamesTest, BadValuesNameTheProblem)
{
    for (const auto& [text, why] : std::map<std::string, std::string>{
             {"dns", "TYPE:VALUE"},
             {"host:a.example", "unknown type"},
             {"dns:", "empty value"},
             {"dns:a.*.example", "whole first label"},
             {"dns:*example.com", "whole first label"},
             {"dns:*", "whole first label"},
             {"dns:a..example", "not a DNS name"},
             {"uri:spiffe://*/x", "may only end"},
             {"uri:*", "text before"},
             {"email:*@example.com", "no wildcard"},
             {"ip:192.0.2", "not an IPv4 or IPv6"},
             {"ip:192.0.2.1/33", "0 to 32"},
             {"ip:192.0.2.1/24", "bits set beyond"},
             {"ip:2001:db8::/129", "0 to 128"},
             {"ip:10.0.0.0/", "prefix length"},
             {"ip:10.0.0.0/08", "prefix length"},
         }) {
        const auto parsed = AltNamePattern::parse(text);
        ASSERT_FALSE(parsed) << text;
        EXPECT_NE(parsed.error().find(why), std::string::npos) << text << ": " << parsed.error();
        EXPECT_NE(parsed.error().find(text), std::string::npos) << "names the value: " << parsed.error();
    }
}

TEST(AltNamesTest, FromCertificateAndVariables)
{
    const auto issued = testing::issue({
        .subject_alt_name = "DNS:*.Example.com,URI:spiffe://prod.example/ns/a/sa/b,URI:https://x.example,"
                            "IP:2001:db8:0:0:1:0:0:1,IP:::ffff:192.0.2.7,IP:10.1.2.3,"
                            "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:zoe@corp.example,"
                            "otherName:1.2.3.4;UTF8:not-a-upn@corp.example",
    });
    auto certificate = Certificate::parse(issued.der);
    ASSERT_TRUE(certificate);
    const AltNames names = alt_names(certificate->x509());
    EXPECT_EQ(names.dns, std::vector<std::string>{"*.Example.com"});
    EXPECT_EQ(names.upns, std::vector<std::string>{"zoe@corp.example"});  // the other otherName is not a UPN
    ASSERT_EQ(names.ips.size(), 3U);
    EXPECT_EQ(ip_text(names.ips[0]), "2001:db8::1:0:0:1");  // RFC 5952: the first longest zero run
    EXPECT_EQ(ip_text(names.ips[1]), "::ffff:192.0.2.7");
    EXPECT_EQ(spiffe_id(names), "spiffe://prod.example/ns/a/sa/b");
    EXPECT_EQ(spiffe_id({.uris = {"spiffe://a/x", "SPIFFE://b/y"}}), "");  // two: none

    std::map<std::string, std::string> v;
    for (const auto& [name, value] : certificate_variables(certificate.value()).standard) {
        v.emplace(name, value);
    }
    EXPECT_EQ(v.at("ARRCERT_SAN_URI_0"), "spiffe://prod.example/ns/a/sa/b");
    EXPECT_EQ(v.at("ARRCERT_SAN_URI_1"), "https://x.example");
    EXPECT_EQ(v.at("ARRCERT_SAN_IP_0"), "2001:db8::1:0:0:1");
    EXPECT_EQ(v.at("ARRCERT_SAN_IP_1"), "::ffff:192.0.2.7");
    EXPECT_EQ(v.at("ARRCERT_SAN_IP_2"), "10.1.2.3");
    EXPECT_EQ(v.at("ARRCERT_SPIFFE_ID"), "spiffe://prod.example/ns/a/sa/b");
    EXPECT_EQ(v.at("SSL_CLIENT_SAN_OTHER_msUPN_0"), "zoe@corp.example");
    EXPECT_EQ(v.count("SSL_CLIENT_SAN_OTHER_msUPN_1"), 0U);
}

}  // namespace
}  // namespace arrcert
