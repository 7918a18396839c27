#include "arrcert/trust_store.h"

#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

#include "arrcert/rules.h"
#include "arrcert/verdict_cache.h"
#include "test_pki.h"

namespace arrcert {
namespace {

using testing::Issued;
using testing::Name;

// root → intermediate → leaves, and the look-alikes that must not pass.
struct Pki {
    Issued root = testing::issue({.subject = Name{{{"O", "Contoso"}}, {{"CN", "Root"}}}, .ca = true});
    Issued intermediate = testing::issue({.subject = Name{{{"O", "Contoso"}}, {{"CN", "Issuing"}}},
                                          .issuer = Name{{{"O", "Contoso"}}, {{"CN", "Root"}}},
                                          .serial_hex = "10",
                                          .issuer_key = root.key.get(),
                                          .ca = true});
    Issued leaf = issue_leaf("alice", "20", intermediate, "clientAuth");
    Issued server_only = issue_leaf("web", "21", intermediate, "serverAuth");
    Issued by_root = issue_leaf("bob", "22", root, "");
    // A self-signed certificate carrying the intermediate's name, and a leaf it signed.
    Issued impostor = testing::issue({.subject = Name{{{"O", "Contoso"}}, {{"CN", "Issuing"}}}, .ca = true});
    Issued impostor_leaf = issue_leaf("alice", "20", impostor, "clientAuth");

    static Issued issue_leaf(const std::string& cn, const std::string& serial, const Issued& issuer,
                             const std::string& eku)
    {
        return testing::issue({.subject = Name{{{"O", "Contoso"}}, {{"CN", cn}}},
                               .issuer = Name{{{"O", "Contoso"}}, {{"CN", cn == "bob" ? "Root" : "Issuing"}}},
                               .serial_hex = serial,
                               .issuer_key = issuer.key.get(),
                               .extended_key_usage = eku});
    }
};

Pki& pki()
{
    static Pki instance;
    return instance;
}

std::string header(std::initializer_list<const Issued*> chain)
{
    std::string text;
    for (const Issued* certificate : chain) {
        text += testing::pem(certificate->der);
    }
    return text;
}

class TrustTest : public ::testing::Test {
protected:
    TrustTest() : root_file_(testing::pem(pki().root.der)) { EXPECT_TRUE(trust_.add_file(root_file_.path()).ok()); }

    Verdict judge_with(const std::string& value, ChainCheck check = {})
    {
        check.trust = &trust_;
        RuleSet rules;
        rules.chain = check;
        return judge(value, rules, testing::now());
    }

    TrustStore trust_;
    testing::TempFile root_file_;
};

TEST_F(TrustTest, LeafWithIntermediateFromTheHeader)
{
    const Verdict verdict = judge_with(header({&pki().leaf, &pki().intermediate}));
    EXPECT_EQ(verdict.failed_rule, Rule::none) << verdict.reason;
}

TEST_F(TrustTest, LeafSignedByTheRoot)
{
    EXPECT_EQ(judge_with(header({&pki().by_root})).failed_rule, Rule::none);
}

TEST_F(TrustTest, IntermediateFromTheCaFile)
{
    const testing::TempFile intermediate(testing::pem(pki().intermediate.der));
    ASSERT_TRUE(trust_.add_file(intermediate.path()).ok());
    EXPECT_EQ(judge_with(header({&pki().leaf})).failed_rule, Rule::none);
}

TEST_F(TrustTest, MissingIntermediate)
{
    const Verdict verdict = judge_with(header({&pki().leaf}));
    EXPECT_EQ(verdict.failed_rule, Rule::chain);
    EXPECT_EQ(verdict.reason, X509_verify_cert_error_string(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY));
}

TEST_F(TrustTest, ImpostorWithTheIntermediatesNameIsRefused)
{
    EXPECT_EQ(judge_with(header({&pki().impostor_leaf, &pki().impostor})).failed_rule, Rule::chain);
    EXPECT_EQ(judge_with(header({&pki().impostor_leaf, &pki().intermediate})).failed_rule, Rule::chain);
}

TEST_F(TrustTest, ServerAuthOnlyLeafIsRefused)
{
    const Verdict verdict = judge_with(header({&pki().server_only, &pki().intermediate}));
    EXPECT_EQ(verdict.failed_rule, Rule::chain);
    EXPECT_EQ(verdict.reason, X509_verify_cert_error_string(X509_V_ERR_INVALID_PURPOSE));
}

TEST_F(TrustTest, DepthCountsTheRootAsModSslDoes)
{
    ChainCheck shallow;
    shallow.depth = 1;
    const Verdict verdict = judge_with(header({&pki().leaf, &pki().intermediate}), shallow);
    EXPECT_EQ(verdict.failed_rule, Rule::chain);
    EXPECT_EQ(verdict.reason, X509_verify_cert_error_string(X509_V_ERR_CERT_CHAIN_TOO_LONG));
    ChainCheck enough;
    enough.depth = 2;
    EXPECT_EQ(judge_with(header({&pki().leaf, &pki().intermediate}), enough).failed_rule, Rule::none);
    EXPECT_EQ(judge_with(header({&pki().by_root}), shallow).failed_rule, Rule::none);
}

TEST_F(TrustTest, RevokedLeaf)
{
    CrlSource crls;
    const std::int64_t now = testing::now();
    const testing::TempFile intermediate_crl(testing::crl_pem(pki().intermediate, {"20"}, now - 60, now + 3600));
    const testing::TempFile root_crl(testing::crl_pem(pki().root, {}, now - 60, now + 3600));
    ASSERT_TRUE(crls.add_file(intermediate_crl.path()).ok());
    ASSERT_TRUE(crls.add_file(root_crl.path()).ok());
    const auto snapshot = crls.current(now, 60).snapshot;
    ASSERT_EQ(snapshot->size(), 2U);

    ChainCheck check;
    check.crls = snapshot.get();
    check.revocation = {RevocationCheck::chain, false};
    const Verdict revoked = judge_with(header({&pki().leaf, &pki().intermediate}), check);
    EXPECT_EQ(revoked.failed_rule, Rule::chain);
    EXPECT_EQ(revoked.reason, X509_verify_cert_error_string(X509_V_ERR_CERT_REVOKED));
    // Another leaf of the same intermediate is fine.
    const Issued carol = Pki::issue_leaf("carol", "23", pki().intermediate, "clientAuth");
    EXPECT_EQ(judge_with(header({&carol, &pki().intermediate}), check).failed_rule, Rule::none);
}

TEST_F(TrustTest, MissingCrlFailsClosedUnlessToleratedAndLeafModeChecksOnlyTheLeaf)
{
    CrlSource crls;
    const std::int64_t now = testing::now();
    const testing::TempFile intermediate_crl(testing::crl_pem(pki().intermediate, {}, now - 60, now + 3600));
    ASSERT_TRUE(crls.add_file(intermediate_crl.path()).ok());
    const auto snapshot = crls.current(now, 60).snapshot;
    const std::string chain = header({&pki().leaf, &pki().intermediate});

    ChainCheck check;
    check.crls = snapshot.get();
    check.revocation = {RevocationCheck::chain, false};  // the root's CRL is missing
    const Verdict missing = judge_with(chain, check);
    EXPECT_EQ(missing.reason, X509_verify_cert_error_string(X509_V_ERR_UNABLE_TO_GET_CRL));
    check.revocation = {RevocationCheck::chain, true};
    EXPECT_EQ(judge_with(chain, check).failed_rule, Rule::none);
    check.revocation = {RevocationCheck::leaf, false};
    EXPECT_EQ(judge_with(chain, check).failed_rule, Rule::none);
}

TEST_F(TrustTest, ExpiredCrlFailsClosed)
{
    CrlSource crls;
    const std::int64_t now = testing::now();
    const testing::TempFile stale(testing::crl_pem(pki().intermediate, {}, now - 7200, now - 3600));
    ASSERT_TRUE(crls.add_file(stale.path()).ok());
    const auto snapshot = crls.current(now, 60).snapshot;
    ChainCheck check;
    check.crls = snapshot.get();
    check.revocation = {RevocationCheck::leaf, false};
    const Verdict verdict = judge_with(header({&pki().leaf, &pki().intermediate}), check);
    EXPECT_EQ(verdict.reason, X509_verify_cert_error_string(X509_V_ERR_CRL_HAS_EXPIRED));
}

TEST(TrustStoreTest, BadFilesAreNamed)
{
    TrustStore trust;
    EXPECT_NE(trust.add_file("/nonexistent/ca.pem").error().find("/nonexistent/ca.pem"), std::string::npos);
    EXPECT_NE(trust.add_directory("/nonexistent/dir").error().find("/nonexistent/dir"), std::string::npos);
    const testing::TempFile junk("not a certificate");
    EXPECT_NE(trust.add_file(junk.path()).error().find(junk.path()), std::string::npos);
}

// 25 certificates in a chain cost no parsing when the depth allows 3.
TEST_F(TrustTest, MoreChainCertificatesThanTheDepthAllowsAreRefusedBeforeParsing)
{
    const std::string junk = testing::pem(Der{0x30, 0x03, 0x02, 0x01, 0x05});  // a DER SEQUENCE, no certificate
    std::string chain = header({&pki().leaf});
    for (int i = 0; i < 24; ++i) {
        chain += junk;
    }
    const Verdict verdict = judge_with(chain);
    EXPECT_EQ(verdict.failed_rule, Rule::chain);
    EXPECT_EQ(verdict.reason, X509_verify_cert_error_string(X509_V_ERR_CERT_CHAIN_TOO_LONG));
    EXPECT_TRUE(verdict.sha1_hex.empty());  // not even the leaf was parsed
    // Within the depth the junk is parsed, and refused for what it is.
    EXPECT_EQ(judge_with(header({&pki().leaf}) + junk).failed_rule, Rule::certificate);
}

// Refused before OpenSSL's verifier (which decodes every extension first) with OpenSSL's reasons.
TEST_F(TrustTest, UnknownIssuersAreRefusedWithOpenSslsReasons)
{
    const Issued stranger_ca = testing::issue({.subject = Name{{{"CN", "Stranger CA"}}}, .ca = true});
    const Issued stranger = testing::issue({.subject = Name{{{"CN", "mallory"}}},
                                            .issuer = Name{{{"CN", "Stranger CA"}}},
                                            .subject_alt_name = "DNS:a,DNS:b,DNS:c",
                                            .issuer_key = stranger_ca.key.get()});
    EXPECT_EQ(judge_with(header({&stranger})).reason,
              X509_verify_cert_error_string(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY));
    const Issued self_signed = testing::issue({.subject = Name{{{"CN", "mallory"}}}});
    EXPECT_EQ(judge_with(header({&self_signed})).reason,
              X509_verify_cert_error_string(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT));
    // Sent along, the stranger's CA takes the question to OpenSSL, which says the same.
    EXPECT_EQ(judge_with(header({&stranger, &stranger_ca})).reason,
              X509_verify_cert_error_string(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN));
}

// A verdict is only as good as the path and the CRLs it was judged on: the earliest end of those.
TEST_F(TrustTest, ValidUntilIsTheEarliestEndOfThePathAndItsCrls)
{
    const std::int64_t now = testing::now();
    const Issued short_lived = testing::issue({.subject = Name{{{"O", "Contoso"}}, {{"CN", "Short"}}},
                                               .issuer = Name{{{"O", "Contoso"}}, {{"CN", "Root"}}},
                                               .not_before = now - 60,
                                               .not_after = now + 5000,
                                               .serial_hex = "30",
                                               .issuer_key = pki().root.key.get(),
                                               .ca = true});
    const Issued leaf = testing::issue({.subject = Name{{{"CN", "dave"}}},
                                        .issuer = Name{{{"O", "Contoso"}}, {{"CN", "Short"}}},
                                        .not_before = now - 60,
                                        .not_after = now + 86400,
                                        .serial_hex = "31",
                                        .issuer_key = short_lived.key.get(),
                                        .extended_key_usage = "clientAuth"});
    const Verdict verdict = judge_with(header({&leaf, &short_lived}));
    ASSERT_EQ(verdict.failed_rule, Rule::none) << verdict.reason;
    EXPECT_EQ(verdict.valid_until, now + 5000);
    EXPECT_EQ(cache_expiry(verdict, now, 86400), now + 5000);

    CrlSource crls;
    const testing::TempFile crl(testing::crl_pem(short_lived, {}, now - 60, now + 600));
    ASSERT_TRUE(crls.add_file(crl.path()).ok());
    const auto snapshot = crls.current(now, 60).snapshot;
    ChainCheck check;
    check.crls = snapshot.get();
    check.revocation = {RevocationCheck::leaf, false};
    const Verdict with_crl = judge_with(header({&leaf, &short_lived}), check);
    ASSERT_EQ(with_crl.failed_rule, Rule::none) << with_crl.reason;
    EXPECT_EQ(with_crl.valid_until, now + 600);
    EXPECT_EQ(cache_expiry(with_crl, now, 300), now + 300);
    EXPECT_EQ(cache_expiry(with_crl, now, 3600), now + 600);
}

TEST(RevocationRulesTest, CrlsWithoutATrustStoreRefuse)
{
    RuleSet rules;
    rules.accept_unverified = true;
    rules.chain.revocation = {RevocationCheck::chain, false};
    const Verdict verdict = judge(testing::base64(pki().leaf.der), rules, testing::now());
    EXPECT_EQ(verdict.failed_rule, Rule::chain);
    EXPECT_NE(verdict.reason.find("ArrCertCACertificateFile"), std::string::npos);
}

}  // namespace
}  // namespace arrcert
