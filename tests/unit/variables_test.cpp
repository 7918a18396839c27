#include "arrcert/variables.h"

#include <gtest/gtest.h>

#include <map>

#include "arrcert/export.h"
#include "test_pki.h"

namespace arrcert {
namespace {

using Map = std::map<std::string, std::string>;

Map standard_variables(const testing::Issued& issued)
{
    auto certificate = Certificate::parse(issued.der);
    EXPECT_TRUE(certificate) << certificate.error();
    const CertificateVariables variables = certificate_variables(certificate.value());
    Map map;
    for (const auto& [name, value] : variables.standard) {
        EXPECT_TRUE(map.emplace(name, value).second) << "duplicate " << name;
    }
    return map;
}

TEST(VariablesTest, NamesValuesAndRepeats)
{
    const auto issued = testing::issue({
        .subject = {{{"C", "CH"}},
                    {{"O", "Contoso, Ltd"}},
                    {{"OU", "Eng"}},
                    {{"OU", "Ops"}},
                    {{"OU", "Web"}},
                    {{"CN", "Zoë"}, {"UID", "7"}},
                    {{"emailAddress", "zoe@example.com"}}},
        .issuer = {{{"CN", "Issuer CA"}}},
        .not_before = 1700000000,
        .not_after = 2600000000,
        .serial_hex = "7FEEDDCCBBAA99887766554433221100FFEEDDCC",
        .subject_alt_name = "DNS:a.example,email:z@example.com,DNS:b.example,"
                            "otherName:1.3.6.1.4.1.311.20.2.3;UTF8:zoe@corp.example,URI:https://x.example,"
                            "IP:192.0.2.1",
    });
    const Map v = standard_variables(issued);
    EXPECT_EQ(v.at("SSL_CLIENT_M_VERSION"), "3");
    EXPECT_EQ(v.at("SSL_CLIENT_M_SERIAL"), "7FEEDDCCBBAA99887766554433221100FFEEDDCC");
    EXPECT_EQ(v.at("SSL_CLIENT_S_DN"),
              "emailAddress=zoe@example.com,UID=7+CN=Zoë,OU=Web,OU=Ops,OU=Eng,"
              "O=Contoso\\, Ltd,C=CH");
    EXPECT_EQ(v.at("SSL_CLIENT_I_DN"), "CN=Issuer CA");
    EXPECT_EQ(v.at("SSL_CLIENT_S_DN_OU"), "Eng");
    EXPECT_EQ(v.at("SSL_CLIENT_S_DN_OU_1"), "Ops");
    EXPECT_EQ(v.at("SSL_CLIENT_S_DN_OU_2"), "Web");
    EXPECT_EQ(v.at("SSL_CLIENT_S_DN_O"), "Contoso, Ltd");
    EXPECT_EQ(v.at("SSL_CLIENT_S_DN_CN"), "Zoë");
    EXPECT_EQ(v.at("SSL_CLIENT_S_DN_UID"), "7");
    EXPECT_EQ(v.at("SSL_CLIENT_S_DN_Email"), "zoe@example.com");
    EXPECT_EQ(v.at("SSL_CLIENT_I_DN_CN"), "Issuer CA");
    EXPECT_EQ(v.at("SSL_CLIENT_V_START"), "Nov 14 22:13:20 2023 GMT");
    EXPECT_EQ(v.at("SSL_CLIENT_V_END"), "May 22 14:13:20 2052 GMT");
    EXPECT_EQ(v.at("SSL_CLIENT_A_KEY"), "id-ecPublicKey");
    EXPECT_EQ(v.at("SSL_CLIENT_A_SIG"), "ecdsa-with-SHA256");
    EXPECT_EQ(v.at("SSL_CLIENT_SAN_DNS_0"), "a.example");
    EXPECT_EQ(v.at("SSL_CLIENT_SAN_DNS_1"), "b.example");
    EXPECT_EQ(v.at("SSL_CLIENT_SAN_Email_0"), "z@example.com");
    EXPECT_EQ(v.at("SSL_CLIENT_SAN_OTHER_msUPN_0"), "zoe@corp.example");
    EXPECT_EQ(v.at("SSL_CLIENT_CERT_RFC4523_CEA"),
              "{ serialNumber 730368726734123118469632302676385618847016607180, issuer rdnSequence:\"CN=Issuer CA\" }");
    EXPECT_EQ(v.at("ARRCERT_THUMBPRINT").size(), 40U);
    EXPECT_EQ(v.at("ARRCERT_THUMBPRINT_SHA256").size(), 64U);
    // mod_ssl exports no URI or IP SANs: only the module's own names carry them.
    for (const auto& [name, value] : v) {
        if (name.starts_with("SSL_CLIENT_")) {
            EXPECT_EQ(name.find("URI"), std::string::npos);
            EXPECT_EQ(value.find("192.0.2.1"), std::string::npos);
        }
    }
    EXPECT_EQ(v.at("ARRCERT_SAN_URI_0"), "https://x.example");
    EXPECT_EQ(v.at("ARRCERT_SAN_IP_0"), "192.0.2.1");
    EXPECT_EQ(v.count("ARRCERT_SPIFFE_ID"), 0U);
}

TEST(VariablesTest, KeyAlgorithms)
{
    EXPECT_EQ(standard_variables(testing::issue({.key = testing::KeyType::ed25519})).at("SSL_CLIENT_A_KEY"), "ED25519");
    const Map rsa = standard_variables(testing::issue({.key = testing::KeyType::rsa2048}));
    EXPECT_EQ(rsa.at("SSL_CLIENT_A_KEY"), "rsaEncryption");
    EXPECT_EQ(rsa.at("SSL_CLIENT_A_SIG"), "sha256WithRSAEncryption");
}

TEST(VariablesTest, ControlCharactersAreEscaped)
{
    const Map v = standard_variables(testing::issue({.subject = {{{"CN", "a\nb"}}}}));
    EXPECT_EQ(v.at("SSL_CLIENT_S_DN_CN"), "a\\0Ab");
    EXPECT_EQ(v.at("SSL_CLIENT_S_DN").find('\n'), std::string::npos);
}

TEST(VariablesTest, DaysRemainingAsModSsl)
{
    const std::int64_t now = 1700000000;
    constexpr std::int64_t day = 86400;
    EXPECT_EQ(days_remaining(now - 1, now), "0");
    EXPECT_EQ(days_remaining(now - day * 5, now), "0");
    EXPECT_EQ(days_remaining(now, now), "0");
    EXPECT_EQ(days_remaining(now + day - 1, now), "0");
    EXPECT_EQ(days_remaining(now + day, now), "1");
    EXPECT_EQ(days_remaining(now + day * 10, now), "10");
    EXPECT_EQ(days_remaining(now + day * 10 - 1, now), "9");
}

TEST(VariablesTest, ExportFollowsOptionsAndOutcome)
{
    const std::int64_t now = testing::now();
    const auto issued = testing::issue({.not_after = now + std::int64_t{86400} * 30 - 10});
    const Verdict verdict = judge(testing::base64(issued.der), {.accept_unverified = true}, testing::now());
    const Decision success = decide(verdict, now, 0);
    auto collect = [&](const Verdict& v, const Decision& d, ExportOptions options) {
        Map map;
        // The glue relies on both: each name once, and every name SSL_... or ARRCERT_....
        export_variables(v, d, now, options, [&](std::string_view name, std::string_view value) {
            EXPECT_TRUE(name.starts_with("SSL_") || name.starts_with("ARRCERT_")) << name;
            EXPECT_TRUE(is_exported_name(name)) << "ArrCertExport would refuse " << name;
            EXPECT_TRUE(map.emplace(name, value).second) << "exported twice: " << name;
        });
        return map;
    };

    const Map standard = collect(verdict, success, {true, false});
    EXPECT_EQ(standard.at("SSL_CLIENT_VERIFY"), "SUCCESS");
    EXPECT_EQ(standard.at("SSL_CLIENT_V_REMAIN"), "29");
    EXPECT_EQ(standard.count("SSL_CLIENT_CERT"), 0U);

    const Map only_cert = collect(verdict, success, {false, true});
    ASSERT_EQ(only_cert.size(), 1U);
    EXPECT_EQ(only_cert.at("SSL_CLIENT_CERT"), testing::pem(issued.der));

    const Verdict absent = judge("", {}, testing::now());
    const Map none = collect(absent, decide(absent, testing::now(), 0), {true, true});
    ASSERT_EQ(none.size(), 2U);
    EXPECT_EQ(none.at("SSL_CLIENT_VERIFY"), "NONE");
    EXPECT_EQ(none.at("SSL_CLIENT_CERT"), "");

    const Verdict malformed = judge("!!", {}, testing::now());
    const Map failed = collect(malformed, decide(malformed, testing::now(), 0), {true, false});
    ASSERT_EQ(failed.size(), 1U);
    EXPECT_EQ(failed.at("SSL_CLIENT_VERIFY").rfind("FAILED:malformed certificate header", 0), 0U);
}

TEST(VariablesTest, ExportedNamesAreExactlyTheModulesOwn)
{
    for (const char* name :
         {"SSL_CLIENT_VERIFY", "SSL_CLIENT_S_DN_CN", "SSL_CLIENT_S_DN_OU_1", "SSL_CLIENT_I_DN_Email",
          "SSL_CLIENT_SAN_DNS_0", "SSL_CLIENT_SAN_Email_99", "SSL_CLIENT_SAN_OTHER_msUPN_3", "SSL_CLIENT_CERT",
          "SSL_CLIENT_CERT_RFC4523_CEA", "SSL_CLIENT_V_REMAIN", "ARRCERT_THUMBPRINT", "ARRCERT_THUMBPRINT_SHA256",
          "SSL_CLIENT_CERT_CHAIN_0", "SSL_CLIENT_S_DN_SerialNumber", "SSL_CLIENT_I_DN_SerialNumber_1"}) {
        EXPECT_TRUE(is_exported_name(name)) << name;
    }
    for (const char* name : {"SSL_CLIENT_S_DN_CNN", "SSL_CLIENT_SDN_CN", "SSL_CLIENT_SAN_DNS", "SSL_CLIENT_SAN_DNS_01",
                             "SSL_CLIENT_SAN_DNS_100", "SSL_CLIENT_S_DN_CN_", "ssl_client_verify",
                             "SSL_CLIENT_CERT_CHAIN_", "SSL_CLIENT_S_DN_SP", "SSL_CLIENT_S_DN_CN_RAW",
                             "SSL_CLIENT_SAN_OTHER_dnsSRV_0", "ARRCERT_SPIFFE", "SSL_PROTOCOL", ""}) {
        EXPECT_FALSE(is_exported_name(name)) << name;
    }
}

// mod_ssl's ssl_var_lookup grammar; the integration differential test asks a real mod_ssl the same.
TEST(VariablesTest, LookupNamesAsModSslReadsThem)
{
    const std::map<std::string, std::string> canonical{
        {"ssl_client_VERIFY", "SSL_CLIENT_VERIFY"},
        {"SSL_CLIENT_S_DN_CN_0", "SSL_CLIENT_S_DN_CN"},
        {"SSL_CLIENT_S_DN_CN_", "SSL_CLIENT_S_DN_CN"},
        {"SSL_CLIENT_S_DN_OU_02", "SSL_CLIENT_S_DN_OU_2"},
        {"SSL_CLIENT_s_dn_OU_2", ""},  // the S or I is case-sensitive, as are attribute names
        {"SSL_CLIENT_S_DN_ou", ""},
        {"SSL_CLIENT_S_dn_SP", "SSL_CLIENT_S_DN_ST"},
        {"SSL_CLIENT_I_DN_SerialNumber_1", "SSL_CLIENT_I_DN_SerialNumber_1"},
        {"SSL_CLIENT_S_DN_CN_100", ""},  // beyond the bound nothing is kept
        {"SSL_CLIENT_SAN_dns_0001", "SSL_CLIENT_SAN_DNS_1"},
        {"SSL_CLIENT_SAN_DNS_", ""},
        {"SSL_CLIENT_SAN_DNS_12345", ""},
        {"SSL_CLIENT_san_Other_msUPN_3", "SSL_CLIENT_SAN_OTHER_msUPN_3"},
        {"SSL_CLIENT_SAN_OTHER_MSUPN_3", ""},
        {"SSL_CLIENT_SAN_OTHER_dnsSRV_0", "SSL_CLIENT_SAN_OTHER_dnsSRV_0"},
        {"SSL_CLIENT_cert_chain_07", "SSL_CLIENT_CERT_CHAIN_7"},
        {"SSL_CLIENT_CERT_CHAIN_", ""},
        {"arrcert_thumbprint", "ARRCERT_THUMBPRINT"},
        {"SSL_PROTOCOL", ""},
    };
    for (const auto& [name, expected] : canonical) {
        const auto found = lookup_name(name);
        EXPECT_EQ(found ? found->name : "", expected) << name;
    }
    const auto raw = lookup_name("SSL_CLIENT_S_DN_CN_1_RAW");
    ASSERT_TRUE(raw);
    EXPECT_EQ(raw->name, "SSL_CLIENT_S_DN_CN_1");
    EXPECT_TRUE(raw->raw);
}

TEST(VariablesTest, ChainAndLookupOnlyValues)
{
    const auto ca = testing::issue({.subject = {{{"CN", "Middle CA"}}}});
    const auto issued = testing::issue({
        .subject = {{{"ST", "ZH"}}, {{"CN", "srv"}}},
        .subject_alt_name = "otherName:1.3.6.1.5.5.7.8.7;IA5STRING:_ldap._tcp.example",
    });
    auto certificate = Certificate::parse(issued.der);
    ASSERT_TRUE(certificate);
    const std::vector<Der> intermediates{ca.der, Der{0x30, 0x00}, ca.der};
    const CertificateVariables variables = certificate_variables(certificate.value(), intermediates);
    // The unparsable one is left out; the others keep their order.
    ASSERT_EQ(variables.chain.size(), 2U);
    EXPECT_EQ(variables.chain[0], testing::pem(ca.der));
    const Map only(variables.lookup_only.begin(), variables.lookup_only.end());
    EXPECT_EQ(only.at("SSL_CLIENT_SAN_OTHER_dnsSRV_0"), "_ldap._tcp.example");
    EXPECT_EQ(only.count("SSL_CLIENT_S_DN_CN_RAW"), 0U);  // same as the UTF-8 form: not kept twice

    Verdict verdict;
    verdict.kind = Verdict::Kind::judged;
    verdict.variables = variables;
    const Decision decision{Decision::Outcome::success};
    EXPECT_EQ(find_variable(verdict, decision, 0, "SSL_CLIENT_S_DN_SP"), "ZH");
    EXPECT_EQ(find_variable(verdict, decision, 0, "SSL_CLIENT_S_DN_CN_RAW"), "srv");
    EXPECT_EQ(find_variable(verdict, decision, 0, "ssl_client_san_other_dnsSRV_0"), "_ldap._tcp.example");
    EXPECT_EQ(find_variable(verdict, decision, 0, "SSL_CLIENT_CERT_CHAIN_1"), testing::pem(ca.der));
    EXPECT_EQ(find_variable(verdict, decision, 0, "SSL_CLIENT_CERT_CHAIN_2"), std::nullopt);
}

TEST(VariablesTest, CertificateVariableNamesInAnyCase)
{
    for (const char* name : {"SSL_CLIENT_S_DN_CN", "ssl_client_verify"}) {
        EXPECT_TRUE(is_ssl_client_name(name)) << name;
    }
    for (const char* name : {"SSL_CLIENT", "SSL_PROTOCOL"}) {
        EXPECT_FALSE(is_ssl_client_name(name)) << name;
    }
    EXPECT_TRUE(is_arrcert_name("arrcert_thumbprint"));
    for (const char* name : {"ARRCERT", "REDIRECT_ARRCERT_THUMBPRINT"}) {
        EXPECT_FALSE(is_arrcert_name(name)) << name;
    }
}

// A certificate that carries thousands of names costs what one with the bound costs.
TEST(VariablesTest, NumberedVariablesAreBounded)
{
    std::string names;
    for (int i = 0; i < 150; ++i) {
        names += (names.empty() ? "DNS:h" : ",DNS:h") + std::to_string(i) + ".example";
    }
    const auto issued = testing::issue({.subject_alt_name = names});
    const Verdict verdict = judge(testing::base64(issued.der), {.accept_unverified = true}, testing::now());
    std::size_t dns = 0;
    for (const auto& [name, value] : verdict.variables.standard) {
        dns += name.starts_with("SSL_CLIENT_SAN_DNS_") ? 1 : 0;
    }
    EXPECT_EQ(dns, max_indexed_variables);
    const auto last = find_variable(verdict, decide(verdict, testing::now(), 0), testing::now(),
                                    "SSL_CLIENT_SAN_DNS_" + std::to_string(max_indexed_variables - 1));
    EXPECT_EQ(last, "h99.example");
}

}  // namespace
}  // namespace arrcert
