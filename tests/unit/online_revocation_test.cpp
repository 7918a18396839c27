// The parts of OCSP and CRL fetching that need no network: which URLs are asked, what is refused
// before anything is sent. The exchanges themselves are tested against real responders
// (tests/integration/test_online_revocation.py).
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <vector>
#include <string>

#include "arrcert/crl_fetch.h"
#include "arrcert/http_fetch.h"
#include "arrcert/ocsp.h"
#include "arrcert/revocation_share.h"
#include "local_http.h"
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

TEST(OnlineRevocationTest, FetchableUrlsAreMadeOfRfc3986Characters)
{
    using namespace std::string_literals;
    for (const char* url : {"http://crl.example:8080/a-b_c.~d/e%2Fx?f=g&h=i;j#k", "HTTP://[::1]/x!$'()*+,"}) {
        EXPECT_TRUE(is_fetchable_url(url)) << url;
    }
    for (const std::string& url :
         {"http://crl.example/a.crl\r\nHost: other"s, "http://crl.example/a b"s, "http://crl.example/a\0b"s,
          "http://crl.example/\x7f"s, "http://crl.example/\xc3\xa9"s, "http://crl.example/<a>"s,
          "http://crl.example/%zz"s, "http://crl.example/%4"s, "https://crl.example/"s}) {
        EXPECT_FALSE(is_fetchable_url(url)) << url;
    }
    EXPECT_EQ(url_for_log("http://a/\r\n \"\\%41"), "http://a/%0D%0A%20%22%5C%2541");
    const auto refused = http_get("http://127.0.0.1:9/a\r\nb", {});
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("outside RFC 3986"), std::string::npos);
}

TEST(OnlineRevocationTest, ADistributionPointWithACrLfIsNeverFetched)
{
    testing::LocalHttp server;
    const auto ca = testing::issue({.subject = {{{"CN", "CA"}}}, .ca = true});
    const auto leaf = testing::issue({.issuer = {{{"CN", "CA"}}},
                                      .issuer_key = ca.key.get(),
                                      .raw_crl_url = server.url("/ca.crl\r\nX-Injected: 1")});
    std::vector<std::string> refused;
    EXPECT_TRUE(CrlFetcher::distribution_points(leaf.certificate.get(), &refused).empty());
    EXPECT_EQ(refused, std::vector<std::string>{server.url("/ca.crl\r\nX-Injected: 1")});

    std::vector<std::string> notices;
    CrlFetcher fetcher(2, [](const SourceEvent&, const std::string&) {});
    fetcher.notice_to([&](const std::string& text) { notices.push_back(text); });
    const std::int64_t now = testing::now();
    const CrlFetcher::Found found =
        fetcher.crls_for(leaf.certificate.get(), ca.certificate.get(), now, 60, [] { return true; });
    EXPECT_TRUE(found.crls.empty());
    EXPECT_FALSE(found.incomplete);  // as if the certificate named none
    EXPECT_TRUE(server.requests().empty());
    ASSERT_EQ(notices.size(), 1U);
    EXPECT_NE(notices[0].find("/ca.crl%0D%0AX-Injected:%201"), std::string::npos);
}

TEST(OnlineRevocationTest, RequestsGoToTheUrlExactlyAsWritten)
{
    // The request line's target, as the certificate (or ArrCertOCSPDefaultResponder) writes it:
    // no "?" added where the URL has no query, nothing of a fragment, "/" for a bare authority.
    testing::LocalHttp server;
    const std::string root = server.url("");
    const std::vector<std::pair<std::string, std::string>> cases{
        {server.url("/ca.crl"), "/ca.crl"},
        {server.url("/ocsp?x=1&y=2"), "/ocsp?x=1&y=2"},
        {server.url("/ocsp?"), "/ocsp?"},
        {server.url("/ca.crl#part"), "/ca.crl"},
        {root, "/"},
        {root + "?q", "/?q"},
    };
    for (const auto& [url, target] : cases) {
        static_cast<void>(http_get(url, {2, 1024}));
        static_cast<void>(http_post(url, "application/ocsp-request", "x", "application/ocsp-response", {2, 1024}));
    }
    const std::vector<std::string> requests = server.requests();
    ASSERT_EQ(requests.size(), cases.size() * 2);
    for (std::size_t i = 0; i < cases.size(); ++i) {
        for (const std::string method : {"GET ", "POST "}) {
            const std::string& head = requests.at(2 * i + (method == "GET " ? 0 : 1));
            EXPECT_TRUE(head.starts_with(method + cases[i].second + " HTTP/")) << cases[i].first << ": " << head;
        }
    }
}

TEST(OnlineRevocationTest, AResponderWithACrLfCountsAsNone)
{
    const auto crlf = testing::issue({.raw_ocsp_url = "http://ocsp.example/\r\nX: 1"});
    std::string refused;
    EXPECT_EQ(OcspClient::responder_url(crlf.certificate.get(), OcspPolicy{}, &refused), "");
    EXPECT_EQ(refused, "http://ocsp.example/\r\nX: 1");
    OcspPolicy policy;
    policy.default_responder = "http://default.example/";
    EXPECT_EQ(OcspClient::responder_url(crlf.certificate.get(), policy), "http://default.example/");
}

// DER, as distribution points serve CRLs (and OpenSSL's HTTP client expects).
std::string der_crl(const std::string& pem)
{
    const BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    const CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
    unsigned char* der = nullptr;
    const int length = i2d_X509_CRL(crl.get(), &der);
    const OpenSslBytes owned(der);
    return {reinterpret_cast<const char*>(der), static_cast<std::size_t>(std::max(length, 0))};
}

TEST(OnlineRevocationTest, AFetchedCrlCountsOnlyUnderTheKeyThatSignedIt)
{
    // Two CAs with one name (two virtual hosts, each trusting one); B's CRL has no AKID.
    testing::LocalHttp server;
    const testing::Name name{{{"O", "Contoso"}}, {{"CN", "Contoso CA"}}};
    const auto ca_a = testing::issue({.subject = name, .ca = true});
    const auto ca_b = testing::issue({.subject = name, .ca = true});
    const auto leaf_a = testing::issue({.issuer = name,
                                        .serial_hex = "0A",
                                        .issuer_key = ca_a.key.get(),
                                        .crl_distribution_points = "URI:" + server.url("/a.crl")});
    const auto leaf_b = testing::issue({.issuer = name,
                                        .serial_hex = "0B",
                                        .issuer_key = ca_b.key.get(),
                                        .crl_distribution_points = "URI:" + server.url("/b.crl")});
    const std::int64_t now = testing::now();
    server.serve("/a.crl", der_crl(testing::crl_pem(ca_a, {}, now - 60, now + 3600)));
    server.serve("/b.crl", der_crl(testing::crl_pem(ca_b, {}, now - 60, now + 3600)));
    std::vector<std::string> reports;
    CrlFetcher fetcher(2, [&](const SourceEvent&, const std::string& text) { reports.push_back(text); });
    const auto genuine = [] { return true; };

    const CrlFetcher::Found for_b =
        fetcher.crls_for(leaf_b.certificate.get(), ca_b.certificate.get(), now, 60, genuine);
    ASSERT_EQ(for_b.crls.size(), 1U) << ::testing::PrintToString(reports);
    EXPECT_EQ(X509_CRL_verify(for_b.crls[0].get(), X509_get0_pubkey(ca_b.certificate.get())), 1);

    const CrlFetcher::Found for_a =
        fetcher.crls_for(leaf_a.certificate.get(), ca_a.certificate.get(), now, 60, genuine);
    ASSERT_EQ(for_a.crls.size(), 1U);  // A's own, not B's
    EXPECT_EQ(X509_CRL_verify(for_a.crls[0].get(), X509_get0_pubkey(ca_a.certificate.get())), 1);

    // The same URL named under both: fetched and verified for each key; B's CRL never serves A.
    const auto leaf_a2 = testing::issue({.issuer = name,
                                         .serial_hex = "0C",
                                         .issuer_key = ca_a.key.get(),
                                         .crl_distribution_points = "URI:" + server.url("/b.crl")});
    const CrlFetcher::Found shared =
        fetcher.crls_for(leaf_a2.certificate.get(), ca_a.certificate.get(), now, 60, genuine);
    for (const CrlPtr& crl : shared.crls) {
        EXPECT_EQ(X509_CRL_verify(crl.get(), X509_get0_pubkey(ca_a.certificate.get())), 1);
    }
    EXPECT_TRUE(shared.incomplete);  // /b.crl is not A's
}

// Two processes of one server: two fetchers, each with its RevocationShare on one directory.
class TwoProcesses {
public:
    // A process started now (a new child).
    [[nodiscard]] std::unique_ptr<RevocationShare> share() const
    {
        return std::make_unique<RevocationShare>(directory_.path(), secret_, nullptr);
    }
    // The names of the documents written so far.
    [[nodiscard]] std::vector<std::string> documents() const
    {
        std::vector<std::string> names;
        for (const auto& entry : std::filesystem::directory_iterator(directory_.path())) {
            if (entry.path().extension() == ".der") {
                names.push_back(entry.path().stem().string());
            }
        }
        return names;
    }

private:
    testing::TempDirectory directory_;
    CacheSecret secret_ = random_cache_secret();
};

TEST(SharedRevocationTest, TheProcessesOfAServerFetchACrlOnce)
{
    testing::LocalHttp server;
    const auto ca = testing::issue({.subject = {{{"CN", "Shared CA"}}}, .ca = true});
    const auto leaf = testing::issue({.issuer = {{{"CN", "Shared CA"}}},
                                      .issuer_key = ca.key.get(),
                                      .crl_distribution_points = "URI:" + server.url("/ca.crl")});
    const std::int64_t now = testing::now();
    server.serve("/ca.crl", der_crl(testing::crl_pem(ca, {}, now - 60, now + 3600)));
    const TwoProcesses processes;
    const auto first_share = processes.share();
    const auto second_share = processes.share();
    CrlFetcher first(
        2, [](const SourceEvent&, const std::string&) {}, first_share.get());
    CrlFetcher second(
        2, [](const SourceEvent&, const std::string&) {}, second_share.get());
    const auto genuine = [] { return true; };

    EXPECT_EQ(first.crls_for(leaf.certificate.get(), ca.certificate.get(), now, 60, genuine).crls.size(), 1U);
    EXPECT_EQ(server.requests().size(), 1U);
    const CrlFetcher::Found found = second.crls_for(leaf.certificate.get(), ca.certificate.get(), now, 60, genuine);
    ASSERT_EQ(found.crls.size(), 1U);
    EXPECT_FALSE(found.incomplete);
    EXPECT_EQ(server.requests().size(), 1U);  // read from the share, not fetched again
}

TEST(SharedRevocationTest, AnotherCasCrlInTheShareIsFetchedAgainNotTaken)
{
    testing::LocalHttp server;
    const auto ca = testing::issue({.subject = {{{"CN", "Shared CA"}}}, .ca = true});
    const auto other = testing::issue({.subject = {{{"CN", "Shared CA"}}}, .ca = true});  // same name, other key
    const auto leaf = testing::issue({.issuer = {{{"CN", "Shared CA"}}},
                                      .serial_hex = "0D",
                                      .issuer_key = ca.key.get(),
                                      .crl_distribution_points = "URI:" + server.url("/ca.crl")});
    const std::int64_t now = testing::now();
    server.serve("/ca.crl", der_crl(testing::crl_pem(ca, {"0D"}, now - 60, now + 3600)));
    const TwoProcesses processes;
    const auto genuine = [] { return true; };
    {
        const auto share = processes.share();
        CrlFetcher first(
            2, [](const SourceEvent&, const std::string&) {}, share.get());
        static_cast<void>(first.crls_for(leaf.certificate.get(), ca.certificate.get(), now, 60, genuine));
        // Planted by whoever holds the secret: a newer CRL of the other CA, revoking nothing.
        ASSERT_EQ(processes.documents().size(), 1U);
        share->write(processes.documents()[0], der_crl(testing::crl_pem(other, {}, now - 10, now + 3600)), now, 0);
    }
    const auto share = processes.share();
    CrlFetcher later(
        2, [](const SourceEvent&, const std::string&) {}, share.get());
    const CrlFetcher::Found found = later.crls_for(leaf.certificate.get(), ca.certificate.get(), now, 60, genuine);
    ASSERT_EQ(found.crls.size(), 1U);
    EXPECT_EQ(X509_CRL_verify(found.crls[0].get(), X509_get0_pubkey(ca.certificate.get())), 1);  // the CA's own
    EXPECT_EQ(server.requests().size(), 2U);
}

TEST(SharedRevocationTest, AFailedFetchPausesTheOtherProcessesToo)
{
    testing::LocalHttp server;  // serves nothing at /gone.crl
    const auto ca = testing::issue({.subject = {{{"CN", "Shared CA"}}}, .ca = true});
    const auto leaf = testing::issue({.issuer = {{{"CN", "Shared CA"}}},
                                      .issuer_key = ca.key.get(),
                                      .crl_distribution_points = "URI:" + server.url("/gone.crl")});
    const std::int64_t now = testing::now();
    const TwoProcesses processes;
    const auto first_share = processes.share();
    const auto second_share = processes.share();
    std::vector<SourceEvent> events;
    CrlFetcher first(
        2, [&](const SourceEvent& event, const std::string&) { events.push_back(event); }, first_share.get());
    CrlFetcher second(
        2, [](const SourceEvent&, const std::string&) {}, second_share.get());
    const auto genuine = [] { return true; };

    EXPECT_TRUE(first.crls_for(leaf.certificate.get(), ca.certificate.get(), now, 60, genuine).incomplete);
    const std::size_t asked = server.requests().size();
    EXPECT_GE(asked, 1U);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_FALSE(events[0].ok);
    EXPECT_EQ(events[0].failures, 1);
    EXPECT_GE(events[0].next_refresh, now + first_retry_seconds);
    EXPECT_TRUE(second.crls_for(leaf.certificate.get(), ca.certificate.get(), now, 60, genuine).incomplete);
    EXPECT_EQ(server.requests().size(), asked);  // paused for every process
}

}  // namespace
}  // namespace arrcert
