// Turns a forwarded-certificate header value into DER certificates, or a precise refusal.
// It only finds the bytes; it never parses X.509.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "arrcert/result.h"

namespace arrcert {

using Der = std::vector<unsigned char>;

struct DecodedHeader {
    enum class Status { absent, ok, malformed };

    Status status = Status::absent;
    std::string_view format;  // "der-base64", "pem", ..., "traefik", "der-concat-base64": reported_formats()
    std::vector<Der> chain;   // leaf first
    std::string reason;       // why the value was refused (malformed only): fixed text, safe to export
    std::string detail;       // the client's text behind the reason, for the error log only
};

// The default bound on a header value, in bytes (ArrCertMaxHeaderLength).
inline constexpr std::size_t default_max_header_length = 16384;

// The most certificates one der-concat-base64 value may hold: the leaf and the 100 that the largest
// ArrCertVerifyDepth lets stand above it. No longer chain could be verified.
inline constexpr std::size_t max_concatenated_certificates = 101;

// What the front end sends (ArrCertHeader NAME FORMAT).
enum class HeaderFormat { automatic, der_base64, pem, url_pem, xfcc, rfc9440, traefik, der_concat_base64 };
std::optional<HeaderFormat> header_format_named(std::string_view name);  // "auto", "der-base64", ... any case
std::string_view header_format_name(HeaderFormat format) noexcept;
// "auto, der-base64, ... or traefik" for messages, or with other separators for help texts.
std::string header_format_list(std::string_view separator = ", ", std::string_view last = " or ");

// Every value DecodedHeader::format can take, and the constant for a stored name (caches keep the
// name; a verdict points to the constant).
std::span<const std::string_view> reported_formats() noexcept;
std::optional<std::string_view> reported_format(std::string_view name) noexcept;

enum class XfccPick { first, last };  // which XFCC element: last is the proxy nearest to httpd

struct DecodeOptions {
    HeaderFormat format = HeaderFormat::automatic;
    std::size_t max_length = default_max_header_length;
    XfccPick xfcc_element = XfccPick::last;
};

// automatic: base64 DER (Azure, HAProxy), PEM with newlines or with newlines turned into spaces or
// tabs, a PEM body without armour, URL-encoded PEM (nginx's %2B and AWS's literal + / =), several
// PEM blocks (a chain). der-base64, pem and url-pem accept only their own form; xfcc is Envoy's
// X-Forwarded-Client-Cert (an element without Cert is refused: Envoy was told not to forward it);
// rfc9440 is ":base64:"; traefik is base64 DER items joined by ',' (before Traefik 2.9.2 each item
// URL-escaped: the value is percent-decoded first); der-concat-base64 is HAProxy's
// %[ssl_c_chain_der,base64], one base64 value of DER certificates one after another (leaf first in
// a certificate header). "(null)", an empty value or only whitespace means no certificate. Where a format has no list
// syntax, a comma (two header lines joined by httpd) is refused.
DecodedHeader decode_header(std::string_view value, const DecodeOptions& options);
inline DecodedHeader decode_header(std::string_view value, std::size_t max_length = default_max_header_length)
{
    return decode_header(value, DecodeOptions{HeaderFormat::automatic, max_length, XfccPick::last});
}

// The intermediates of a separate chain header (ArrCertChainHeader): automatic reads PEM blocks
// (plain or URL-encoded), an RFC 9440 list, or base64 DER items joined by ','; der-concat-base64
// only HAProxy's concatenation. Absent when empty.
DecodedHeader decode_chain_header(std::string_view value, HeaderFormat format, std::size_t max_length);

// The leaf of `header` followed by the intermediates of `chain` that are not the leaf again.
void append_chain(DecodedHeader& header, const DecodedHeader& chain);

// ArrCertFrontEnd: the front ends whose header names and formats are known by name.
// aws-alb is ALB's passthrough mode (X-Amzn-Mtls-Clientcert), aws-alb-verify its verify mode.
enum class FrontEnd {
    azure,
    envoy,
    traefik,
    aws_alb,
    rfc9440,
    aws_alb_verify,
    cloudfront,
    gcp,
    cloudflare,
    akamai,
    ingress_nginx,
    kong
};
std::optional<FrontEnd> front_end_named(std::string_view name);  // "azure", "aws-alb", ... any case
std::string front_end_list(std::string_view separator = ", ", std::string_view last = " or ");

// Where a scope reads the certificate: its header and, for front ends that send the intermediates
// apart (RFC 9440's Client-Cert-Chain), the chain header. Names are C strings that outlive it.
struct HeaderSettings {
    const char* name = "X-ARR-ClientCert";
    HeaderFormat format = HeaderFormat::automatic;
    const char* chain_name = nullptr;  // null: no chain header
    HeaderFormat chain_format = HeaderFormat::automatic;
};
HeaderSettings front_end_headers(std::optional<FrontEnd> front_end) noexcept;  // none: the defaults

// What one request forwarded: the certificate header's value and the chain header's (empty when
// absent), decoded and merged as the settings say. The one entry point for the module, the
// arrcert command and the fuzz target.
DecodedHeader decode_request(std::string_view certificate, std::string_view chain, const HeaderSettings& headers,
                             std::size_t max_length = default_max_header_length,
                             XfccPick xfcc_element = XfccPick::last);

}  // namespace arrcert
