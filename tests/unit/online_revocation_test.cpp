// The parts of OCSP and CRL fetching that need no network: which URLs are asked, what is refused
// before anything is sent. The exchanges themselves are tested against real responders
// (tests/integration/test_online_revocation.py).
#include <gtest/gtest.h>

#include "arrcert/crl_fetch.h"
#include "arrcert/http_fetch.h"
#include "arrcert/ocsp.h"
#include "test_pki.h"

namespace arrcert {
namespace {

TEST(OnlineRevocationTest, ResponderUrlAsModSslChoosesIt)
{
    const auto named = testing::issue({.authority_info_access = "OCSP;URI:http://ocsp.example/a,OCSP;URI:http://b/"});
    const auto unnamed = testing::issue({});
    const auto https = testing::issue({.authority_info_access = "OCSP;URI:https://ocsp.example/"});
    OcspPolicy policy;
    EXPECT_EQ(OcspClient::responder_url(named.certificate.get(), policy), "http://ocsp.example/a");  // the first
    EXPECT_EQ(OcspClient::responder_url(unnamed.certificate.get(), policy), "");
    policy.default_responder = "http://default.example/";
    EXPECT_EQ(OcspClient::responder_url(named.certificate.get(), policy), "http://ocsp.example/a");
    EXPECT_EQ(OcspClient::responder_url(unnamed.certificate.get(), policy), "http://default.example/");
    policy.override_responder = true;
    EXPECT_EQ(OcspClient::responder_url(named.certificate.get(), policy), "http://default.example/");
    policy.override_responder = false;
    // http:// only, as mod_ssl; a location that cannot be asked falls back to the default.
    EXPECT_EQ(OcspClient::responder_url(https.certificate.get(), policy), "http://default.example/");
    EXPECT_EQ(OcspClient::responder_url(https.certificate.get(), OcspPolicy{}), "");
    const auto both = testing::issue({.authority_info_access = "OCSP;URI:ldap://dc/x,OCSP;URI:http://second/"});
    EXPECT_EQ(OcspClient::responder_url(both.certificate.get(), OcspPolicy{}), "http://second/");
}

TEST(OnlineRevocationTest, NoResponderIsSaidBeforeAnythingIsSent)
{
    const auto ca = testing::issue({.subject = {{{"CN", "CA"}}}, .ca = true});
    const auto leaf = testing::issue({.issuer = {{{"CN", "CA"}}}, .issuer_key = ca.key.get()});
    OcspClient client;
    const OcspStatus status = client.check(leaf.certificate.get(), ca.certificate.get(), nullptr, OcspPolicy{}, 0);
    EXPECT_EQ(status.kind, OcspStatus::Kind::no_responder);
}

TEST(OnlineRevocationTest, OnlyHttpDistributionPoints)
{
    const auto leaf = testing::issue(
        {.crl_distribution_points = "URI:ldap://dc.example/CN=ca,URI:http://crl.example/ca.crl,URI:https://x/y.crl"});
    EXPECT_EQ(CrlFetcher::distribution_points(leaf.certificate.get()),
              std::vector<std::string>{"http://crl.example/ca.crl"});
    EXPECT_TRUE(CrlFetcher::distribution_points(testing::issue({}).certificate.get()).empty());
}

TEST(OnlineRevocationTest, HttpOnly)
{
    EXPECT_TRUE(is_http_url("HTTP://a.example/"));
    EXPECT_FALSE(is_http_url("https://a.example/"));
    EXPECT_FALSE(is_http_url("http://"));
    const auto refused = http_get("ftp://a.example/x.crl", {});
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("not an http:// URL"), std::string::npos);
}

}  // namespace
}  // namespace arrcert
