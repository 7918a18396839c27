#include "arrcert/variables.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <map>

#include "arrcert/bound_token.h"
#include "arrcert/export.h"
#include "arrcert/keywords.h"

namespace arrcert {
namespace {

using Variables = std::vector<std::pair<std::string, std::string>>;

struct DnComponent {
    const char* suffix;
    int nid;
};

// The attributes mod_ssl exports as SSL_CLIENT_{S,I}_DN_<suffix>: ssl_var_lookup_ssl_cert_dn_rec
// of modules/ssl/ssl_engine_vars.c, with SerialNumber, which the httpd that Debian 12 ships (2.4.71)
// exports too (measured by the differential test against it).
constexpr std::array<DnComponent, 14> dn_components{{
    {"C", NID_countryName},
    {"ST", NID_stateOrProvinceName},
    {"L", NID_localityName},
    {"O", NID_organizationName},
    {"OU", NID_organizationalUnitName},
    {"CN", NID_commonName},
    {"T", NID_title},
    {"I", NID_initials},
    {"G", NID_givenName},
    {"S", NID_surname},
    {"D", NID_description},
    {"UID", NID_userId},
    {"Email", NID_pkcs9_emailAddress},
    {"SerialNumber", NID_serialNumber},
}};

// Names mod_ssl looks up but never exports (SSLeay's alias of ST).
constexpr std::array<DnComponent, 1> dn_aliases{{{"SP", NID_stateOrProvinceName}}};

constexpr unsigned long dn_flags = XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB;

// Everything a BIO_s_mem received, as one string.
template <class Write>
std::string print_to_string(Write write)
{
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio) {
        throw std::bad_alloc();
    }
    write(bio.get());
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    std::string text(data != nullptr && length > 0 ? std::string(data, static_cast<std::size_t>(length)) : "");
    ERR_clear_error();
    return text;
}

// UTF-8 with control characters escaped, as mod_ssl prints name entries and SANs.
std::string string_value(const ASN1_STRING* value)
{
    return print_to_string(
        [&](BIO* bio) { ASN1_STRING_print_ex(bio, value, ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_UTF8_CONVERT); });
}

// mod_ssl's _RAW form: the string's own bytes, not converted to UTF-8.
std::string raw_string_value(const ASN1_STRING* value)
{
    return print_to_string([&](BIO* bio) { ASN1_STRING_print_ex(bio, value, ASN1_STRFLGS_ESC_CTRL); });
}

std::string name_string(const X509_NAME* name, unsigned long flags)
{
    return print_to_string([&](BIO* bio) { X509_NAME_print_ex(bio, name, 0, flags); });
}

std::string time_string(const ASN1_TIME* time)
{
    return print_to_string([&](BIO* bio) { ASN1_TIME_print(bio, time); });
}

std::string long_name(const ASN1_OBJECT* object)
{
    const int nid = OBJ_obj2nid(object);
    return nid == NID_undef ? "UNKNOWN" : OBJ_nid2ln(nid);
}

void add(Variables& variables, std::string name, std::string value)
{
    if (!value.empty()) {
        variables.emplace_back(std::move(name), std::move(value));
    }
}

// Also the _RAW forms that differ from the UTF-8 ones, into `raw` (a lookup answers the others
// from the exported value).
void add_dn_components(Variables& variables, Variables& raw, const char* prefix, const X509_NAME* name)
{
    std::map<int, std::size_t> seen;
    for (int i = 0; i < X509_NAME_entry_count(name); ++i) {
        const X509_NAME_ENTRY* entry = X509_NAME_get_entry(name, i);
        const int nid = OBJ_obj2nid(X509_NAME_ENTRY_get_object(entry));
        for (const DnComponent& component : dn_components) {
            if (component.nid != nid) {
                continue;
            }
            const std::size_t occurrence = seen[nid]++;
            if (occurrence >= max_indexed_variables) {
                break;
            }
            std::string key = std::string(prefix) + component.suffix;
            if (occurrence > 0) {
                key += "_" + std::to_string(occurrence);
            }
            const ASN1_STRING* data = X509_NAME_ENTRY_get_data(entry);
            std::string value = string_value(data);
            if (std::string raw_value = raw_string_value(data); raw_value != value) {
                raw.emplace_back(key + "_RAW", std::move(raw_value));
            }
            variables.emplace_back(std::move(key), std::move(value));
        }
    }
}

// mod_ssl exports Email, DNS and msUPN names; it answers a lookup of an SRVName (RFC 4985) too.
void add_subject_alt_names(Variables& variables, Variables& lookup_only, X509* x509)
{
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(x509, NID_subject_alt_name, nullptr, nullptr)));
    ERR_clear_error();
    if (!names) {
        return;
    }
    std::size_t emails = 0;
    std::size_t dns_names = 0;
    std::size_t upns = 0;
    std::size_t srv_names = 0;
    AltNames uris;  // for the SPIFFE ID, as exported
    std::size_t ips = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        if (name->type == GEN_EMAIL && emails < max_indexed_variables) {
            variables.emplace_back("SSL_CLIENT_SAN_Email_" + std::to_string(emails++),
                                   string_value(name->d.rfc822Name));
        } else if (name->type == GEN_DNS && dns_names < max_indexed_variables) {
            variables.emplace_back("SSL_CLIENT_SAN_DNS_" + std::to_string(dns_names++), string_value(name->d.dNSName));
        } else if (name->type == GEN_OTHERNAME && upns < max_indexed_variables &&
                   OBJ_obj2nid(name->d.otherName->type_id) == NID_ms_upn && name->d.otherName->value != nullptr &&
                   name->d.otherName->value->type == V_ASN1_UTF8STRING) {
            variables.emplace_back("SSL_CLIENT_SAN_OTHER_msUPN_" + std::to_string(upns++),
                                   string_value(name->d.otherName->value->value.utf8string));
        } else if (name->type == GEN_URI) {
            // What mod_ssl leaves out (ARRCERT_*): URI and IP names, and the SPIFFE ID below, which
            // counts every URI.
            uris.uris.push_back(string_value(name->d.uniformResourceIdentifier));
            if (uris.uris.size() <= max_indexed_variables) {
                variables.emplace_back("ARRCERT_SAN_URI_" + std::to_string(uris.uris.size() - 1), uris.uris.back());
            }
        } else if (name->type == GEN_IPADD && ips < max_indexed_variables) {
            const ASN1_OCTET_STRING* address = name->d.iPAddress;
            std::string text = ip_text({reinterpret_cast<const char*>(ASN1_STRING_get0_data(address)),
                                        static_cast<std::size_t>(ASN1_STRING_length(address))});
            if (!text.empty()) {
                variables.emplace_back("ARRCERT_SAN_IP_" + std::to_string(ips++), std::move(text));
            }
        } else if (name->type == GEN_OTHERNAME && srv_names < max_indexed_variables &&
                   OBJ_obj2nid(name->d.otherName->type_id) == NID_SRVName && name->d.otherName->value != nullptr &&
                   name->d.otherName->value->type == V_ASN1_IA5STRING) {
            lookup_only.emplace_back("SSL_CLIENT_SAN_OTHER_dnsSRV_" + std::to_string(srv_names++),
                                     string_value(name->d.otherName->value->value.ia5string));
        }
    }
    if (std::string spiffe = spiffe_id(uris); !spiffe.empty()) {
        variables.emplace_back("ARRCERT_SPIFFE_ID", std::move(spiffe));
    }
}

std::string rfc4523_assertion(X509* x509)
{
    BignumPtr serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(x509), nullptr));
    if (!serial) {
        ERR_clear_error();
        return {};
    }
    OpenSslString decimal(BN_bn2dec(serial.get()));
    if (!decimal) {
        throw std::bad_alloc();
    }
    return "{ serialNumber " + std::string(decimal.get()) + ", issuer rdnSequence:\"" +
           name_string(X509_get_issuer_name(x509), XN_FLAG_RFC2253) + "\" }";
}

// n of a NAME_n variable: decimal, no leading zero, below the bound.
bool is_index(std::string_view text)
{
    std::size_t value = 0;
    const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
    return status == std::errc() && end == text.data() + text.size() && (text.size() == 1 || text.front() != '0') &&
           value < max_indexed_variables;
}

}  // namespace

CertificateVariables certificate_variables(const Certificate& certificate, std::span<const Der> intermediates)
{
    X509* x509 = certificate.x509();
    CertificateVariables result;
    Variables& variables = result.standard;
    add(variables, "SSL_CLIENT_M_VERSION", std::to_string(X509_get_version(x509) + 1));
    add(variables, "SSL_CLIENT_M_SERIAL",
        print_to_string([&](BIO* bio) { i2a_ASN1_INTEGER(bio, X509_get0_serialNumber(x509)); }));
    add(variables, "SSL_CLIENT_V_START", time_string(X509_get0_notBefore(x509)));
    add(variables, "SSL_CLIENT_V_END", time_string(X509_get0_notAfter(x509)));
    add(variables, "SSL_CLIENT_S_DN", subject_dn(certificate));
    add(variables, "SSL_CLIENT_I_DN", issuer_dn(certificate));

    const ASN1_OBJECT* key_algorithm = nullptr;
    X509_PUBKEY_get0_param(const_cast<ASN1_OBJECT**>(&key_algorithm), nullptr, nullptr, nullptr,
                           X509_get_X509_PUBKEY(x509));
    add(variables, "SSL_CLIENT_A_KEY", key_algorithm != nullptr ? long_name(key_algorithm) : "UNKNOWN");
    const ASN1_OBJECT* signature_algorithm = nullptr;
    X509_ALGOR_get0(&signature_algorithm, nullptr, nullptr, X509_get0_tbs_sigalg(x509));
    add(variables, "SSL_CLIENT_A_SIG", long_name(signature_algorithm));
    add(variables, "SSL_CLIENT_CERT_RFC4523_CEA", rfc4523_assertion(x509));

    add_dn_components(variables, result.lookup_only, "SSL_CLIENT_S_DN_", X509_get_subject_name(x509));
    add_dn_components(variables, result.lookup_only, "SSL_CLIENT_I_DN_", X509_get_issuer_name(x509));
    add_subject_alt_names(variables, result.lookup_only, x509);

    add(variables, "ARRCERT_THUMBPRINT", to_hex(certificate.sha1()));
    add(variables, "ARRCERT_THUMBPRINT_SHA256", to_hex(certificate.sha256()));

    result.seal();
    result.pem = print_to_string([&](BIO* bio) { PEM_write_bio_X509(bio, x509); });
    // What mod_ssl's SSL_get_peer_cert_chain gives a server: what came after the leaf, as it came.
    for (const Der& der : intermediates.first(std::min(intermediates.size(), max_indexed_variables))) {
        const unsigned char* data = der.data();
        X509Ptr intermediate(d2i_X509(nullptr, &data, static_cast<long>(der.size())));
        if (!intermediate) {
            ERR_clear_error();  // kept out: an unverified chain may carry anything
            continue;
        }
        result.chain.push_back(print_to_string([&](BIO* bio) { PEM_write_bio_X509(bio, intermediate.get()); }));
    }
    return result;
}

void CertificateVariables::seal()
{
    std::size_t size = 0;
    for (const auto& [name, value] : standard) {
        size += name.size() + value.size() + 2;
    }
    block.bytes.clear();
    block.bytes.reserve(size);
    block.offsets.clear();
    block.offsets.reserve(standard.size());
    for (const auto& [name, value] : standard) {
        const auto at = static_cast<std::uint32_t>(block.bytes.size());
        block.bytes.append(name).push_back('\0');
        block.bytes.append(value).push_back('\0');
        block.offsets.emplace_back(at, at + static_cast<std::uint32_t>(name.size() + 1));
    }
}

std::string subject_dn(const Certificate& certificate)
{
    return name_string(X509_get_subject_name(certificate.x509()), dn_flags);
}

std::string issuer_dn(const Certificate& certificate)
{
    return name_string(X509_get_issuer_name(certificate.x509()), dn_flags);
}

bool is_ssl_client_name(std::string_view name) noexcept
{
    return name.size() >= 11 && equal_ignoring_case(name.substr(0, 11), "SSL_CLIENT_");
}

bool is_arrcert_name(std::string_view name) noexcept
{
    return name.size() >= 8 && equal_ignoring_case(name.substr(0, 8), "ARRCERT_");
}

bool is_exported_name(std::string_view name)
{
    if (name == bound_token_variable) {
        return true;
    }
    static constexpr std::array<std::string_view, 16> fixed{
        "SSL_CLIENT_VERIFY",  "SSL_CLIENT_M_VERSION",      "SSL_CLIENT_M_SERIAL", "SSL_CLIENT_V_START",
        "SSL_CLIENT_V_END",   "SSL_CLIENT_V_REMAIN",       "SSL_CLIENT_S_DN",     "SSL_CLIENT_I_DN",
        "SSL_CLIENT_A_KEY",   "SSL_CLIENT_A_SIG",          "SSL_CLIENT_CERT",     "SSL_CLIENT_CERT_RFC4523_CEA",
        "ARRCERT_THUMBPRINT", "ARRCERT_THUMBPRINT_SHA256", "ARRCERT_SPIFFE_ID",   "ARRCERT_OCSP_SOFT_FAIL"};
    if (std::find(fixed.begin(), fixed.end(), name) != fixed.end()) {
        return true;
    }
    for (const std::string_view prefix : {"SSL_CLIENT_S_DN_", "SSL_CLIENT_I_DN_"}) {
        if (name.starts_with(prefix)) {
            const std::string_view rest = name.substr(prefix.size());
            // <x> or <x>_<n>
            return std::ranges::any_of(dn_components, [&](const DnComponent& component) {
                const std::string_view suffix(component.suffix);
                return rest == suffix || (rest.starts_with(suffix) && rest.substr(suffix.size()).starts_with('_') &&
                                          is_index(rest.substr(suffix.size() + 1)));
            });
        }
    }
    for (const std::string_view prefix : {"SSL_CLIENT_SAN_Email_", "SSL_CLIENT_SAN_DNS_", "SSL_CLIENT_SAN_OTHER_msUPN_",
                                          "SSL_CLIENT_CERT_CHAIN_", "ARRCERT_SAN_URI_", "ARRCERT_SAN_IP_"}) {
        if (name.starts_with(prefix)) {
            return is_index(name.substr(prefix.size()));
        }
    }
    return false;
}

std::optional<LookupName> lookup_name(std::string_view name)
{
    if (is_arrcert_name(name)) {
        std::string upper(name);
        std::ranges::transform(upper, upper.begin(),
                               [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
        return LookupName{std::move(upper)};
    }
    if (!is_ssl_client_name(name)) {
        return std::nullopt;
    }
    const std::string prefix = "SSL_CLIENT_";
    const std::string_view var = name.substr(prefix.size());
    const auto starts_ignoring_case = [](std::string_view text, std::string_view start) {
        return text.size() >= start.size() && equal_ignoring_case(text.substr(0, start.size()), start);
    };
    static constexpr std::array<std::string_view, 12> fixed{"VERIFY", "M_VERSION", "M_SERIAL", "V_START",
                                                            "V_END",  "V_REMAIN",  "S_DN",     "I_DN",
                                                            "A_SIG",  "A_KEY",     "CERT",     "CERT_RFC4523_CEA"};
    for (const std::string_view each : fixed) {
        if (equal_ignoring_case(var, each)) {
            return LookupName{prefix + std::string(each)};
        }
    }
    const auto all_digits = [](std::string_view text) {
        return std::ranges::all_of(text, [](char c) { return c >= '0' && c <= '9'; });
    };
    // A number mod_ssl reads with atoi; beyond the bound nothing is kept to answer with.
    const auto index = [](std::string_view digits) -> std::optional<std::size_t> {
        std::size_t value = 0;
        for (const char c : digits) {
            value = value * 10 + static_cast<std::size_t>(c - '0');
            if (value >= max_indexed_variables) {
                return std::nullopt;
            }
        }
        return value;
    };
    if (constexpr std::string_view chain = "CERT_CHAIN_"; starts_ignoring_case(var, chain)) {
        const std::string_view digits = var.substr(chain.size());
        const auto n = !digits.empty() && all_digits(digits) ? index(digits) : std::nullopt;
        return n ? std::optional(LookupName{prefix + "CERT_CHAIN_" + std::to_string(*n)}) : std::nullopt;
    }
    if (var.size() > 5 && (var[0] == 'S' || var[0] == 'I') && equal_ignoring_case(var.substr(1, 4), "_DN_")) {
        std::string_view attribute = var.substr(5);
        LookupName found;
        if (const auto last = attribute.rfind('_');
            last != std::string_view::npos && last > 0 && attribute.substr(last + 1) == "RAW") {
            attribute = attribute.substr(0, last);
            found.raw = true;
        }
        std::size_t n = 0;
        if (const auto first = attribute.find('_');
            first != std::string_view::npos && all_digits(attribute.substr(first + 1))) {
            const auto parsed = index(attribute.substr(first + 1));
            if (!parsed) {
                return std::nullopt;
            }
            n = *parsed;
            attribute = attribute.substr(0, first);
        }
        const auto named = [&](const DnComponent& component) { return attribute == component.suffix; };
        const DnComponent* component = std::ranges::find_if(dn_components, named);
        if (component == dn_components.end()) {
            const DnComponent* alias = std::ranges::find_if(dn_aliases, named);
            if (alias == dn_aliases.end()) {
                return std::nullopt;
            }
            component = std::ranges::find_if(dn_components, [&](const DnComponent& c) { return c.nid == alias->nid; });
        }
        found.name = prefix + var[0] + "_DN_" + component->suffix + (n > 0 ? "_" + std::to_string(n) : "");
        return found;
    }
    if (starts_ignoring_case(var, "SAN_")) {
        std::string_view rest = var.substr(4);
        std::string kind;
        if (starts_ignoring_case(rest, "Email_")) {
            kind = "Email_";
        } else if (starts_ignoring_case(rest, "DNS_")) {
            kind = "DNS_";
        } else if (starts_ignoring_case(rest, "OTHER_") && rest.substr(6).starts_with("msUPN_")) {
            kind = "OTHER_msUPN_";
        } else if (starts_ignoring_case(rest, "OTHER_") && rest.substr(6).starts_with("dnsSRV_")) {
            kind = "OTHER_dnsSRV_";
        } else {
            return std::nullopt;
        }
        const std::string_view digits = rest.substr(kind.size());
        if (digits.empty() || digits.size() > 4 || !all_digits(digits)) {
            return std::nullopt;
        }
        const auto n = index(digits);
        return n ? std::optional(LookupName{prefix + "SAN_" + kind + std::to_string(*n)}) : std::nullopt;
    }
    return std::nullopt;
}

std::string days_remaining(std::int64_t not_after, std::int64_t now)
{
    // Whole days, truncated: what mod_ssl 2.4 prints, measured against it by the differential test.
    constexpr std::int64_t seconds_per_day = 86400;
    const std::int64_t days = (not_after - now) / seconds_per_day;
    return std::to_string(days > 0 ? days : 0);
}

std::string verify_value(const Decision& decision)
{
    switch (decision.outcome) {
        case Decision::Outcome::none: return "NONE";
        case Decision::Outcome::success: return "SUCCESS";
        case Decision::Outcome::failed: break;
    }
    return "FAILED:" + std::string(decision.reason);
}

}  // namespace arrcert
