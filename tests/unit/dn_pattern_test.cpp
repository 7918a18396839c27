#include "arrcert/dn_pattern.h"

#include <gtest/gtest.h>

#include <ostream>

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

// A pattern, and whether it matches name().
struct MatchCase {
    const char* pattern;
    bool matches;
};

void PrintTo(const MatchCase& c, std::ostream* out)
{
    *out << '"' << c.pattern << (c.matches ? "\" matches" : "\" does not match");
}

const MatchCase match_cases[] = {
    // RFC 4514, .NET and OpenSSL forms.
    {"CN=nildevecc,O=Microsoft Corp", true},
    {"CN=nildevecc, O=Microsoft Corp", true},
    {"/O=Microsoft Corp/CN=nildevecc", true},
    {"O=Microsoft Corp", true},
    // Any order.
    {"O=Microsoft Corp,C=DE,OU=Ops,OU=Eng", true},
    // Every attribute must be present.
    {"CN=nildevecc,O=Contoso", false},
    {"OU=Sales", false},
    {"CN=nildevec", false},
    {"CN=NILDEVECC", false},
    // An escaped comma is part of the value.
    {"CN=Doe\\, John", true},
    {"CN=\"Doe, John\", O=Microsoft Corp", true},
    {"/CN=Doe, John", true},
    // UTF-8 in text and as hex escapes.
    {"L=Zürich", true},
    {"L=Z\\C3\\BCrich", true},
    {"L=Zurich", false},
    // A multi-valued RDN must be one RDN.
    {"CN=nildevecc+UID=42", true},
    {"UID=42+CN=nildevecc", true},
    {"/CN=nildevecc+UID=42", true},
    {"CN=Doe\\, John+UID=42", false},  // both attributes exist, but not in one RDN
    // Attribute type aliases.
    {"E=john@example.com", true},
    {"emailAddress=john@example.com", true},
    {"cn=nildevecc, o=Microsoft Corp", true},
    {"commonName=nildevecc", true},
    {"OID.2.5.4.3=nildevecc", true},
    {"2.5.4.3=nildevecc", true},
};

class DnPatternMatchTest : public DnPatternTest, public ::testing::WithParamInterface<MatchCase> {};

TEST_P(DnPatternMatchTest, AgainstTheName)
{
    EXPECT_EQ(matches(GetParam().pattern), GetParam().matches) << GetParam().pattern;
}

INSTANTIATE_TEST_SUITE_P(Patterns, DnPatternMatchTest, ::testing::ValuesIn(match_cases));

TEST_F(DnPatternTest, SplittingOnAnEscapedCommaIsRefused)
{
    // Splitting on the comma would have asked for CN=Doe and a broken " John" pair.
    EXPECT_FALSE(DnPattern::parse("CN=Doe, John"));
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
