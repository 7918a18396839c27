// Turns a forwarded-certificate header value into DER certificates, or a precise refusal.
// It only finds the bytes; it never parses X.509.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace arrcert {

using Der = std::vector<unsigned char>;

struct DecodedHeader {
    enum class Status { absent, ok, malformed };

    Status status = Status::absent;
    std::string_view format;  // "der-base64", "pem", "url-pem", "url-der-base64"
    std::vector<Der> chain;   // leaf first
    std::string reason;       // why the value was refused (malformed only)
};

// The default bound on a header value, in bytes (ArrCertMaxHeaderLength).
inline constexpr std::size_t default_max_header_length = 16384;

// Accepts base64 DER (Azure, HAProxy), PEM with newlines or with newlines turned into spaces or
// tabs, a PEM body without armour, and URL-encoded PEM (nginx's %2B and AWS's literal + / =).
// "(null)", an empty value or only whitespace means no certificate.
DecodedHeader decode_header(std::string_view value, std::size_t max_length = default_max_header_length);

}  // namespace arrcert
