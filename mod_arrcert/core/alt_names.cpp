#include "arrcert/alt_names.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <charconv>

#include "arrcert/keywords.h"
#include "arrcert/openssl_ptr.h"

namespace arrcert {
namespace {

constexpr std::array<Keyword<AltNameType>, 5> type_names{{
    {"dns", AltNameType::dns},
    {"email", AltNameType::email},
    {"uri", AltNameType::uri},
    {"ip", AltNameType::ip},
    {"upn", AltNameType::upn},
}};

std::string bytes(const ASN1_STRING* value)
{
    return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
            static_cast<std::size_t>(ASN1_STRING_length(value))};
}

char lower(char c) noexcept
{
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

std::string lowercase(std::string_view text)
{
    std::string result(text);
    std::ranges::transform(result, result.begin(), lower);
    return result;
}

// Labels of a DNS name: none empty, no '*' (the rule's wildcard is its whole first label).
bool is_dns_name(std::string_view name) noexcept
{
    if (name.empty() || name.front() == '.' || name.back() == '.' || name.find("..") != std::string_view::npos) {
        return false;
    }
    return std::ranges::none_of(
        name, [](char c) { return c == '*' || c == ' ' || static_cast<unsigned char>(c) < 0x21 || c == 0x7f; });
}

Failure bad_value(std::string_view text, std::string_view why)
{
    return Failure("'" + std::string(text) + "': " + std::string(why));
}

}  // namespace

AltNames alt_names(X509* certificate)
{
    AltNames names;
    GeneralNamesPtr general(
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr)));
    ERR_clear_error();
    if (!general) {
        return names;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(general.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(general.get(), i);
        switch (name->type) {
            case GEN_DNS: names.dns.push_back(bytes(name->d.dNSName)); break;
            case GEN_EMAIL: names.emails.push_back(bytes(name->d.rfc822Name)); break;
            case GEN_URI: names.uris.push_back(bytes(name->d.uniformResourceIdentifier)); break;
            case GEN_IPADD: names.ips.push_back(bytes(name->d.iPAddress)); break;
            case GEN_OTHERNAME:
                if (OBJ_obj2nid(name->d.otherName->type_id) == NID_ms_upn && name->d.otherName->value != nullptr &&
                    name->d.otherName->value->type == V_ASN1_UTF8STRING) {
                    names.upns.push_back(bytes(name->d.otherName->value->value.utf8string));
                }
                break;
            default: break;
        }
    }
    return names;
}

std::string ip_text(std::string_view address)
{
    std::array<char, INET6_ADDRSTRLEN> text{};
    const int family = address.size() == 4 ? AF_INET : address.size() == 16 ? AF_INET6 : AF_UNSPEC;
    if (family == AF_UNSPEC || inet_ntop(family, address.data(), text.data(), text.size()) == nullptr) {
        return {};
    }
    return text.data();
}

std::string spiffe_id(const AltNames& names)
{
    constexpr std::string_view scheme = "spiffe://";
    std::string found;
    std::size_t count = 0;
    for (const std::string& uri : names.uris) {
        if (uri.size() >= scheme.size() &&
            equal_ignoring_case(std::string_view(uri).substr(0, scheme.size()), scheme)) {
            found = uri;
            ++count;
        }
    }
    return count == 1 ? found : std::string();
}

Result<AltNamePattern> AltNamePattern::parse(std::string_view text)
{
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) {
        return bad_value(text, "write TYPE:VALUE, TYPE one of " + keyword_list(type_names));
    }
    const std::optional<AltNameType> type = keyword_value(type_names, text.substr(0, colon));
    if (!type) {
        return bad_value(
            text, "unknown type '" + std::string(text.substr(0, colon)) + "': one of " + keyword_list(type_names));
    }
    const std::string_view value = text.substr(colon + 1);
    if (value.empty()) {
        return bad_value(text, "empty value");
    }
    AltNamePattern pattern;
    pattern.type_ = *type;
    pattern.text_ = std::string(keyword_name(type_names, *type)) + ":" + std::string(value);
    switch (*type) {
        case AltNameType::dns: {
            std::string_view name = value;
            if (name.starts_with("*.")) {
                pattern.wildcard_ = true;
                name.remove_prefix(2);
            }
            if (!is_dns_name(name)) {
                return bad_value(text, "not a DNS name (a '*' may only be the whole first label, as in *.example.com)");
            }
            pattern.value_ = lowercase(name);
            pattern.text_ = "dns:" + lowercase(value);
            break;
        }
        case AltNameType::uri:
            if (value.find('*') != value.size() - 1 && value.find('*') != std::string_view::npos) {
                return bad_value(text, "a '*' may only end the value (a prefix)");
            }
            pattern.wildcard_ = value.ends_with('*');
            pattern.value_ = pattern.wildcard_ ? value.substr(0, value.size() - 1) : value;
            if (pattern.value_.empty()) {
                return bad_value(text, "a prefix needs text before the '*'");
            }
            break;
        case AltNameType::email:
        case AltNameType::upn:
            if (value.find('*') != std::string_view::npos) {
                return bad_value(text, "no wildcard: email and upn values match exactly");
            }
            pattern.value_ = value;
            break;
        case AltNameType::ip: {
            const auto slash = value.find('/');
            const std::string address(value.substr(0, slash));
            const int family = address.find(':') != std::string::npos ? AF_INET6 : AF_INET;
            if (inet_pton(family, address.c_str(), pattern.address_.data()) != 1) {
                return bad_value(text, "not an IPv4 or IPv6 address");
            }
            pattern.address_size_ = family == AF_INET ? 4 : 16;
            pattern.prefix_ = static_cast<unsigned>(pattern.address_size_ * 8);
            if (slash != std::string_view::npos) {
                const std::string_view bits = value.substr(slash + 1);
                unsigned prefix = 0;
                const auto [end, status] = std::from_chars(bits.data(), bits.data() + bits.size(), prefix);
                if (bits.empty() || status != std::errc() || end != bits.data() + bits.size() ||
                    prefix > pattern.prefix_ || (bits.size() > 1 && bits.front() == '0')) {
                    return bad_value(text, "the prefix length must be 0 to " + std::to_string(pattern.prefix_));
                }
                pattern.prefix_ = prefix;
            }
            for (std::size_t bit = pattern.prefix_; bit < pattern.address_size_ * 8; ++bit) {
                if ((pattern.address_[bit / 8] & (0x80U >> (bit % 8))) != 0) {
                    return bad_value(
                        text, "the address has bits set beyond the /" + std::to_string(pattern.prefix_) + " prefix");
                }
            }
            pattern.text_ = "ip:" +
                            ip_text(std::string_view(reinterpret_cast<const char*>(pattern.address_.data()),
                                                     pattern.address_size_)) +
                            "/" + std::to_string(pattern.prefix_);
            break;
        }
    }
    return pattern;
}

bool AltNamePattern::matches_dns(std::string_view name) const
{
    if (!wildcard_) {
        return equal_ignoring_case(name, value_);
    }
    // One whole label, then ".<value>".
    const auto dot = name.find('.');
    return dot != std::string_view::npos && dot > 0 && equal_ignoring_case(name.substr(dot + 1), value_);
}

bool AltNamePattern::matches_ip(std::string_view address) const
{
    if (address.size() != address_size_) {
        return false;
    }
    const auto* bytes = reinterpret_cast<const unsigned char*>(address.data());
    for (std::size_t bit = 0; bit < prefix_; ++bit) {
        const unsigned mask = 0x80U >> (bit % 8);
        if ((bytes[bit / 8] & mask) != (address_[bit / 8] & mask)) {
            return false;
        }
    }
    return true;
}

bool AltNamePattern::matches(const AltNames& names) const
{
    const auto any = [](const std::vector<std::string>& list, auto&& predicate) {
        return std::ranges::any_of(list, predicate);
    };
    switch (type_) {
        case AltNameType::dns: return any(names.dns, [&](const std::string& n) { return matches_dns(n); });
        case AltNameType::email: return any(names.emails, [&](const std::string& n) { return n == value_; });
        case AltNameType::upn: return any(names.upns, [&](const std::string& n) { return n == value_; });
        case AltNameType::uri:
            return any(names.uris, [&](const std::string& n) {
                return wildcard_ ? std::string_view(n).starts_with(value_) : n == value_;
            });
        case AltNameType::ip: return any(names.ips, [&](const std::string& n) { return matches_ip(n); });
    }
    return false;
}

}  // namespace arrcert
