// A distinguished-name rule (ArrCertIssuer, ArrCertSubject): attribute=value pairs that must all
// be present in a certificate's name, in any order.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <openssl/x509.h>

#include "arrcert/result.h"

namespace arrcert {

// A certificate's name as plain data: each attribute's OID (DER content octets), its value in
// UTF-8, and the RDN it belongs to. Values that cannot be turned into UTF-8 are left out.
struct NameEntry {
    std::string oid;
    std::string value;
    int rdn = 0;
};
using DistinguishedName = std::vector<NameEntry>;

DistinguishedName distinguished_name(const X509_NAME* name);

class DnPattern {
public:
    // Accepts RFC 4514 ("CN=a,O=b"), the .NET form ("CN=a, O=b") and OpenSSL's ("/O=b/CN=a"),
    // with RFC 4514 escapes (\, and \C3\A9), quoted values and '+' multi-valued RDNs.
    static Result<DnPattern> parse(std::string_view text);

    // Every attribute is present with exactly this UTF-8 value; the attributes of one '+' group
    // must sit in one RDN of the name.
    [[nodiscard]] bool matches(const DistinguishedName& name) const;
    [[nodiscard]] const std::string& text() const noexcept { return text_; }

    struct Attribute {
        std::string oid;    // the OID's DER content octets
        std::string value;  // UTF-8
    };
    using Rdn = std::vector<Attribute>;
    [[nodiscard]] const std::vector<Rdn>& rdns() const noexcept { return rdns_; }

private:
    DnPattern() = default;

    std::string text_;
    std::vector<Rdn> rdns_;
};

}  // namespace arrcert
