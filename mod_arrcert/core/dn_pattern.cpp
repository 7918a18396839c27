#include "arrcert/dn_pattern.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/objects.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#include "arrcert/openssl_ptr.h"

namespace arrcert {
namespace {

using Asn1ObjectPtr = OpenSslPtr<ASN1_OBJECT, ASN1_OBJECT_free>;

struct Alias {
    std::string_view name;
    int nid;
};

// Names users write that OpenSSL's own table does not know, or knows only in another case.
constexpr std::array<Alias, 19> aliases{{
    {"CN", NID_commonName},
    {"C", NID_countryName},
    {"ST", NID_stateOrProvinceName},
    {"SP", NID_stateOrProvinceName},
    {"L", NID_localityName},
    {"O", NID_organizationName},
    {"OU", NID_organizationalUnitName},
    {"STREET", NID_streetAddress},
    {"DC", NID_domainComponent},
    {"UID", NID_userId},
    {"SN", NID_surname},
    {"GN", NID_givenName},
    {"G", NID_givenName},
    {"T", NID_title},
    {"I", NID_initials},
    {"D", NID_description},
    {"E", NID_pkcs9_emailAddress},
    {"EMAIL", NID_pkcs9_emailAddress},
    {"EMAILADDRESS", NID_pkcs9_emailAddress},
}};

bool equals_ignore_case(std::string_view a, std::string_view b)
{
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::toupper(static_cast<unsigned char>(x)) == std::toupper(static_cast<unsigned char>(y));
           });
}

std::string oid_bytes(const ASN1_OBJECT* object)
{
    return {reinterpret_cast<const char*>(OBJ_get0_data(object)), OBJ_length(object)};
}

Result<std::string> resolve_type(std::string_view type)
{
    if (equals_ignore_case(type, "S")) {
        return Result<std::string>::failure("attribute type 'S' is ambiguous: write ST (state) or SN (surname)");
    }
    for (const Alias& alias : aliases) {
        if (equals_ignore_case(type, alias.name)) {
            return Result<std::string>::success(oid_bytes(OBJ_nid2obj(alias.nid)));
        }
    }
    std::string name(type);
    if (name.size() > 4 && equals_ignore_case(std::string_view(name).substr(0, 4), "OID.")) {
        name.erase(0, 4);
    }
    const bool numeric =
        std::all_of(name.begin(), name.end(), [](char c) { return c == '.' || (c >= '0' && c <= '9'); });
    Asn1ObjectPtr object(OBJ_txt2obj(name.c_str(), numeric ? 1 : 0));
    ERR_clear_error();
    if (!object) {
        return Result<std::string>::failure("unknown attribute type '" + std::string(type) + "'");
    }
    return Result<std::string>::success(oid_bytes(object.get()));
}

bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

// A cursor over the pattern text; separators are ',' (RFC 4514 and .NET) or '/' (OpenSSL).
class Parser {
public:
    Parser(std::string_view text, char separator) : text_(text), separator_(separator) {}

    Result<std::vector<DnPattern::Rdn>> parse()
    {
        std::vector<DnPattern::Rdn> rdns(1);
        while (true) {
            auto attribute = parse_attribute();
            if (!attribute) {
                return Result<std::vector<DnPattern::Rdn>>::failure(attribute.error());
            }
            rdns.back().push_back(std::move(attribute.value()));
            if (at_end()) {
                break;
            }
            const char next = text_[position_++];
            if (next == separator_) {
                rdns.emplace_back();
            }
        }
        return Result<std::vector<DnPattern::Rdn>>::success(std::move(rdns));
    }

private:
    [[nodiscard]] bool at_end() const { return position_ >= text_.size(); }

    void skip_spaces()
    {
        while (!at_end() && is_space(text_[position_])) {
            ++position_;
        }
    }

    [[nodiscard]] Result<DnPattern::Attribute> fail(const std::string& reason) const
    {
        return Result<DnPattern::Attribute>::failure(reason + " at position " + std::to_string(position_));
    }

    Result<DnPattern::Attribute> parse_attribute()
    {
        skip_spaces();
        const std::size_t equals = text_.find('=', position_);
        if (equals == std::string_view::npos) {
            return fail("expected TYPE=value (escape a separator inside a value with \\ or quote the value)");
        }
        std::string_view type = text_.substr(position_, equals - position_);
        while (!type.empty() && is_space(type.back())) {
            type.remove_suffix(1);
        }
        if (type.empty() || type.find_first_of(",+/\\\"") != std::string_view::npos) {
            return fail("expected an attribute type before '='");
        }
        auto oid = resolve_type(type);
        if (!oid) {
            return Result<DnPattern::Attribute>::failure(oid.error());
        }
        position_ = equals + 1;
        auto value = parse_value();
        if (!value) {
            return Result<DnPattern::Attribute>::failure(value.error());
        }
        if (value->empty()) {
            return Result<DnPattern::Attribute>::failure("empty value for " + std::string(type));
        }
        return Result<DnPattern::Attribute>::success({std::move(oid.value()), std::move(value.value())});
    }

    [[nodiscard]] bool is_end_of_value(char c) const { return c == separator_ || c == '+'; }

    [[nodiscard]] Result<std::string> value_failure(const std::string& reason) const
    {
        return Result<std::string>::failure(reason + " at position " + std::to_string(position_));
    }

    // One escape after '\': a special character, or two hex digits giving one byte of UTF-8.
    bool parse_escape(std::string& value)
    {
        if (at_end()) {
            return false;
        }
        const int high = OPENSSL_hexchar2int(static_cast<unsigned char>(text_[position_]));
        if (high >= 0 && position_ + 1 < text_.size()) {
            const int low = OPENSSL_hexchar2int(static_cast<unsigned char>(text_[position_ + 1]));
            if (low >= 0) {
                value.push_back(static_cast<char>(high * 16 + low));
                position_ += 2;
                return true;
            }
        }
        value.push_back(text_[position_++]);
        return true;
    }

    Result<std::string> parse_value()
    {
        skip_spaces();
        std::string value;
        if (!at_end() && text_[position_] == '#') {
            return value_failure("BER-encoded (#hex) values are not supported");
        }
        if (!at_end() && text_[position_] == '"') {
            ++position_;
            while (true) {
                if (at_end()) {
                    return value_failure("unterminated quoted value");
                }
                const char c = text_[position_++];
                if (c == '"') {
                    break;
                }
                if (c == '\\' && !parse_escape(value)) {
                    return value_failure("incomplete escape");
                }
                if (c != '\\') {
                    value.push_back(c);
                }
            }
            skip_spaces();
            if (!at_end() && !is_end_of_value(text_[position_])) {
                return value_failure("unexpected text after a quoted value");
            }
            return Result<std::string>::success(std::move(value));
        }
        std::size_t kept = 0;  // length without trailing unescaped spaces
        while (!at_end() && !is_end_of_value(text_[position_])) {
            const char c = text_[position_++];
            if (c == '\\') {
                if (!parse_escape(value)) {
                    return value_failure("incomplete escape");
                }
                kept = value.size();
                continue;
            }
            if (c == '"' && separator_ == ',') {
                return value_failure("unescaped '\"' in a value");
            }
            value.push_back(c);
            if (!is_space(c)) {
                kept = value.size();
            }
        }
        value.resize(kept);
        return Result<std::string>::success(std::move(value));
    }

    std::string_view text_;
    char separator_;
    std::size_t position_ = 0;
};

}  // namespace

Result<DnPattern> DnPattern::parse(std::string_view text)
{
    std::string_view trimmed = text;
    while (!trimmed.empty() && is_space(trimmed.front())) {
        trimmed.remove_prefix(1);
    }
    if (trimmed.empty()) {
        return Result<DnPattern>::failure("empty distinguished name");
    }
    const char separator = trimmed.front() == '/' ? '/' : ',';
    if (separator == '/') {
        trimmed.remove_prefix(1);
    }
    auto rdns = Parser(trimmed, separator).parse();
    if (!rdns) {
        return Result<DnPattern>::failure("distinguished name '" + std::string(text) + "': " + rdns.error());
    }
    DnPattern pattern;
    pattern.text_ = std::string(text);
    pattern.rdns_ = std::move(rdns.value());
    return Result<DnPattern>::success(std::move(pattern));
}

DistinguishedName distinguished_name(const X509_NAME* name)
{
    DistinguishedName entries;
    const int count = X509_NAME_entry_count(name);
    entries.reserve(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
        unsigned char* utf8 = nullptr;
        const int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(entry));
        if (length < 0) {
            ERR_clear_error();
            continue;
        }
        OpenSslBytes owner(utf8);
        entries.push_back({oid_bytes(X509_NAME_ENTRY_get_object(entry)),
                           std::string(reinterpret_cast<const char*>(utf8), static_cast<std::size_t>(length)),
                           X509_NAME_ENTRY_set(entry)});
    }
    return entries;
}

bool DnPattern::matches(const DistinguishedName& name) const
{
    // Every pattern RDN must find one RDN of the name that holds all of its attributes.
    return std::all_of(rdns_.begin(), rdns_.end(), [&](const Rdn& rdn) {
        return std::any_of(name.begin(), name.end(), [&](const NameEntry& candidate) {
            return std::all_of(rdn.begin(), rdn.end(), [&](const Attribute& attribute) {
                return std::any_of(name.begin(), name.end(), [&](const NameEntry& entry) {
                    return entry.rdn == candidate.rdn && entry.oid == attribute.oid && entry.value == attribute.value;
                });
            });
        });
    });
}

}  // namespace arrcert
