// Subject alternative names: what a certificate holds (AltNames), and the rules that match them
// (AltNamePattern: ArrCertSubjectAltName, Require arrcert-san).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "arrcert/result.h"

namespace arrcert {

// A certificate's SANs as plain data, in certificate order: the raw bytes of each name (no
// conversion, no escaping), for rules; the variables print them as mod_ssl does.
struct AltNames {
    std::vector<std::string> dns;
    std::vector<std::string> emails;
    std::vector<std::string> uris;
    std::vector<std::string> ips;   // 4 or 16 bytes each, network order
    std::vector<std::string> upns;  // otherName msUPN (1.3.6.1.4.1.311.20.2.3), a UTF8String

    friend bool operator==(const AltNames&, const AltNames&) = default;
};

AltNames alt_names(X509* certificate);

// An IP SAN as RFC 5952 text (IPv4 dotted; IPv6 lowercase, the longest zero run as "::", an
// IPv4-mapped address as ::ffff:a.b.c.d); empty when not 4 or 16 bytes.
std::string ip_text(std::string_view address);

// The SPIFFE ID: the certificate's one URI SAN with the spiffe scheme; empty when it has none or
// several (an X.509-SVID holds exactly one).
std::string spiffe_id(const AltNames& names);

enum class AltNameType { dns, email, uri, ip, upn };

// TYPE:VALUE. dns: case-insensitive, "*.example.com" matches exactly one label (a '*' in the
// certificate's name is text); email, upn: exact; uri: exact, or a prefix when it ends with '*';
// ip: an address or CIDR range, compared as addresses of one family (an IPv4-mapped IPv6 SAN is
// IPv6: ::ffff:192.0.2.0/120 matches it, 192.0.2.0/24 does not).
class AltNamePattern {
public:
    static Result<AltNamePattern> parse(std::string_view text);

    [[nodiscard]] bool matches(const AltNames& names) const;
    [[nodiscard]] const std::string& text() const noexcept { return text_; }  // canonical
    [[nodiscard]] AltNameType type() const noexcept { return type_; }

private:
    AltNamePattern() = default;
    [[nodiscard]] bool matches_dns(std::string_view name) const;
    [[nodiscard]] bool matches_ip(std::string_view address) const;

    AltNameType type_ = AltNameType::dns;
    std::string text_;
    std::string value_;      // dns: lowercase, without "*." when wildcard; uri: without the '*'
    bool wildcard_ = false;  // dns "*." or uri prefix
    std::array<unsigned char, 16> address_{};
    std::size_t address_size_ = 0;  // 4 or 16
    unsigned prefix_ = 0;           // bits
};

}  // namespace arrcert
