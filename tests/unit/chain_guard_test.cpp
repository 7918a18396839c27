// Forged chains under online revocation (security issue 25, item 2): no key a client supplied is
// used before a trusted key vouched for it, oversized RSA keys are refused before any signature,
// and such a refusal is kept like any other.
#include "arrcert/chain_guard.h"

#include <gtest/gtest.h>

#include <initializer_list>
#include <limits>
#include <span>

#include "arrcert/crl_fetch.h"
#include "arrcert/trust_store.h"
#include "local_http.h"
#include "test_pki.h"

namespace arrcert {
namespace {

using testing::Issued;
using testing::Name;

const Name ca_name{{{"O", "Contoso"}}, {{"CN", "Contoso CA"}}};

// leaf → fake intermediate → fake intermediate naming the CA; the fakes carry `fake_key` (null:
// keys of their own) and every certificate is signed by a key no one trusts.
struct ForgedChain {
    Issued stranger = testing::issue({.subject = Name{{{"CN", "Stranger"}}}});
    Issued upper;
    Issued lower;
    Issued leaf;

    ForgedChain(const EVP_PKEY* fake_key, const std::string& crl_url)
        : upper(testing::issue({.subject = Name{{{"CN", "Fake 2"}}},
                                .issuer = ca_name,
                                .issuer_key = stranger.key.get(),
                                .ca = true,
                                .public_key = fake_key})),
          lower(testing::issue({.subject = Name{{{"CN", "Fake 1"}}},
                                .issuer = Name{{{"CN", "Fake 2"}}},
                                .issuer_key = stranger.key.get(),
                                .ca = true,
                                .public_key = fake_key})),
          leaf(testing::issue({.subject = Name{{{"CN", "mallory"}}},
                               .issuer = Name{{{"CN", "Fake 1"}}},
                               .issuer_key = stranger.key.get(),
                               .extended_key_usage = "clientAuth",
                               .crl_distribution_points = crl_url.empty() ? "" : "URI:" + crl_url}))
    {
    }
};

class ChainGuardTest : public ::testing::Test {
protected:
    ChainGuardTest()
        : ca_(testing::issue({.subject = ca_name, .ca = true})),
          ca_file_(testing::pem(ca_.der)),
          fetcher_(2, [this](const SourceEvent&, const std::string& text) { reports_.push_back(text); })
    {
        EXPECT_TRUE(trust_.add_file(ca_file_.path()).ok());
    }

    ChainVerdict verify(const ForgedChain& chain, bool fetch)
    {
        ChainCheck check;
        check.trust = &trust_;
        check.revocation = {RevocationCheck::chain, false};
        check.fetcher = fetch ? &fetcher_ : nullptr;
        const std::int64_t now = testing::now();
        return verify_chain(check, chain.leaf.certificate.get(),
                            {chain.lower.certificate.get(), chain.upper.certificate.get()}, now, now);
    }

    Issued ca_;
    testing::TempFile ca_file_;
    TrustStore trust_;
    std::vector<std::string> reports_;
    CrlFetcher fetcher_;
};

// The parsed certificate and its DER, read without parsing: the same answer.
bool within_limits(const Issued& issued)
{
    const bool parsed = key_within_limits(issued.certificate.get());
    EXPECT_EQ(key_within_limits(std::span<const unsigned char>(issued.der)), parsed);
    return parsed;
}

TEST(KeyLimitsTest, RsaKeysBeyondWhatACaUsesAreRefused)
{
    const auto with_key = [](const testing::KeyPtr& key) { return testing::issue({.public_key = key.get()}); };
    EXPECT_FALSE(within_limits(with_key(testing::rsa_public_key(3072, 3070))));
    EXPECT_FALSE(within_limits(with_key(testing::rsa_public_key(2048, 33))));
    EXPECT_TRUE(within_limits(with_key(testing::rsa_public_key(2048, 32))));
    EXPECT_FALSE(within_limits(with_key(testing::rsa_public_key(16392, 17))));
    EXPECT_TRUE(within_limits(with_key(testing::rsa_public_key(16384, 17))));
    EXPECT_TRUE(within_limits(testing::issue({.key = testing::KeyType::rsa2048})));
    EXPECT_TRUE(within_limits(testing::issue({})));
    EXPECT_TRUE(within_limits(testing::issue({.key = testing::KeyType::ed25519})));
    // DER cut anywhere is left to the parser (which refuses it), and never read past its end.
    const Issued slow = with_key(testing::rsa_public_key(3072, 3070));
    for (std::size_t cut = 0; cut < slow.der.size(); ++cut) {
        EXPECT_TRUE(key_within_limits(std::span<const unsigned char>(slow.der.data(), cut)));
    }
}

TEST_F(ChainGuardTest, SignaturesAreVerifiedBeforeRevocation)
{
    // Without any CRL, OpenSSL's own order would refuse for the missing CRL, having looked CRLs up
    // for a certificate that no trusted key signed.
    const ForgedChain chain(nullptr, "");
    EXPECT_EQ(verify(chain, false).error, X509_verify_cert_error_string(X509_V_ERR_CERT_SIGNATURE_FAILURE));
}

TEST_F(ChainGuardTest, AForgedChainFetchesNothingAndItsRefusalIsKept)
{
    testing::LocalHttp server;
    const ForgedChain chain(nullptr, server.url("/ca.crl"));
    const ChainVerdict verdict = verify(chain, true);
    EXPECT_EQ(verdict.error, X509_verify_cert_error_string(X509_V_ERR_CERT_SIGNATURE_FAILURE));
    EXPECT_EQ(verdict.valid_until, std::numeric_limits<std::int64_t>::max());
    EXPECT_TRUE(server.requests().empty());
    EXPECT_TRUE(reports_.empty());
}

TEST_F(ChainGuardTest, OversizedKeysAreRefusedBeforeAnySignature)
{
    const testing::KeyPtr slow = testing::rsa_public_key(3072, 3070);
    const ForgedChain chain(slow.get(), "http://127.0.0.1:9/ca.crl");
    const ChainVerdict verdict = verify(chain, true);
    EXPECT_EQ(verdict.error, oversized_key_reason);
    EXPECT_EQ(verdict.valid_until, std::numeric_limits<std::int64_t>::max());
}

TEST_F(ChainGuardTest, SignedFromTheTop)
{
    const Issued leaf =
        testing::issue({.subject = Name{{{"CN", "alice"}}}, .issuer = ca_name, .issuer_key = ca_.key.get()});
    CertificateStackPtr path(sk_X509_new_null());
    ASSERT_TRUE(path);
    sk_X509_push(path.get(), leaf.certificate.get());
    sk_X509_push(path.get(), ca_.certificate.get());
    EXPECT_TRUE(signed_from_the_top(path.get(), 0));
    const ForgedChain chain(nullptr, "");
    CertificateStackPtr forged(sk_X509_new_null());
    ASSERT_TRUE(forged);
    for (const Issued* certificate :
         std::initializer_list<const Issued*>{&chain.leaf, &chain.lower, &chain.upper, &ca_}) {
        sk_X509_push(forged.get(), certificate->certificate.get());
    }
    EXPECT_FALSE(signed_from_the_top(forged.get(), 0));
    EXPECT_FALSE(signed_from_the_top(forged.get(), 2));
    EXPECT_TRUE(signed_from_the_top(forged.get(), 3));  // the anchor alone
}

}  // namespace
}  // namespace arrcert
