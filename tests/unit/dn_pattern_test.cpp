#include "arrcert/dn_pattern.h"

#include <gtest/gtest.h>

#include "test_pki.h"

namespace arrcert {
namespace {

using testing::Name;

class DnPatternTest : public ::testing::Test {
protected:
    // A name with the awkward parts: escaped comma, UTF-8, a multi-valued RDN, repeated OUs.
    static const DistinguishedName& name()
    {
        static testing::Issued issued = testing::issue({.subject = Name{
                                                            {{"C", "DE"}},
                                                            {{"O", "Microsoft Corp"}},
                                                            {{"OU", "Eng"}},
                                                            {{"OU", "Ops"}},
                                                            {{"CN", "Doe, John"}},
                                                            {{"CN", "nildevecc"}, {"UID", "42"}},
                                                            {{"L", "Zürich"}},
                                                            {{"emailAddress", "john@example.com"}},
                                                        }});
        static const DistinguishedName entries = distinguished_name(X509_get_subject_name(issued.certificate.get()));
        return entries;
    }

    static bool matches(const std::string& text)
    {
        auto pattern = DnPattern::parse(text);
        EXPECT_TRUE(pattern) << text << ": " << pattern.error();
        return pattern && pattern->matches(name());
    }
};

TEST_F(DnPatternTest, Rfc4514NetAndOpenSslForms)
{
    EXPECT_TRUE(matches("CN=nildevecc,O=Microsoft Corp"));
    EXPECT_TRUE(matches("CN=nildevecc, O=Microsoft Corp"));
    EXPECT_TRUE(matches("/O=Microsoft Corp/CN=nildevecc"));
    EXPECT_TRUE(matches("O=Microsoft Corp"));
}

TEST_F(DnPatternTest, AnyOrder)
{
    EXPECT_TRUE(matches("O=Microsoft Corp,C=DE,OU=Ops,OU=Eng"));
}

TEST_F(DnPatternTest, EveryAttributeMustBePresent)
{
    EXPECT_FALSE(matches("CN=nildevecc,O=Contoso"));
    EXPECT_FALSE(matches("OU=Sales"));
    EXPECT_FALSE(matches("CN=nildevec"));
    EXPECT_FALSE(matches("CN=NILDEVECC"));
}

TEST_F(DnPatternTest, EscapedCommaIsPartOfTheValue)
{
    EXPECT_TRUE(matches("CN=Doe\\, John"));
    EXPECT_TRUE(matches("CN=\"Doe, John\", O=Microsoft Corp"));
    EXPECT_TRUE(matches("/CN=Doe, John"));
    // Splitting on the comma would have asked for CN=Doe and a broken " John" pair.
    EXPECT_FALSE(DnPattern::parse("CN=Doe, John"));
}

TEST_F(DnPatternTest, Utf8InTextAndAsHexEscapes)
{
    EXPECT_TRUE(matches("L=Zürich"));
    EXPECT_TRUE(matches("L=Z\\C3\\BCrich"));
    EXPECT_FALSE(matches("L=Zurich"));
}

TEST_F(DnPatternTest, MultiValuedRdnMustBeOneRdn)
{
    EXPECT_TRUE(matches("CN=nildevecc+UID=42"));
    EXPECT_TRUE(matches("UID=42+CN=nildevecc"));
    EXPECT_TRUE(matches("/CN=nildevecc+UID=42"));
    // Both attributes exist, but not in one RDN.
    EXPECT_FALSE(matches("CN=Doe\\, John+UID=42"));
}

TEST_F(DnPatternTest, AttributeTypeAliases)
{
    EXPECT_TRUE(matches("E=john@example.com"));
    EXPECT_TRUE(matches("emailAddress=john@example.com"));
    EXPECT_TRUE(matches("cn=nildevecc, o=Microsoft Corp"));
    EXPECT_TRUE(matches("commonName=nildevecc"));
    EXPECT_TRUE(matches("OID.2.5.4.3=nildevecc"));
    EXPECT_TRUE(matches("2.5.4.3=nildevecc"));
}

TEST_F(DnPatternTest, BadPatternsAreRefusedWithAReason)
{
    for (const char* text : {"", "CN", "CN=", "=x", "XX=1", "S=Bavaria", "CN=a,", "CN=#0403414243", "CN=\"open",
                             "CN=a\\", "CN=\"a\"b", "CN=a\"b"}) {
        auto pattern = DnPattern::parse(text);
        EXPECT_FALSE(pattern) << text;
        EXPECT_FALSE(pattern.error().empty());
    }
    EXPECT_NE(DnPattern::parse("S=Bavaria").error().find("ambiguous"), std::string::npos);
    EXPECT_NE(DnPattern::parse("XX=1").error().find("'XX'"), std::string::npos);
}

}  // namespace
}  // namespace arrcert
