#include "arrcert/decode.h"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

#include "arrcert/der_concat.h"
#include "arrcert/keywords.h"
#include "arrcert/xfcc.h"

namespace arrcert {
namespace {

constexpr std::string_view pem_begin = "-----BEGIN ";
constexpr std::string_view pem_dashes = "-----";
constexpr std::string_view pem_certificate_label = "CERTIFICATE";

bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view text)
{
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

bool only_space(std::string_view text)
{
    return trim(text).empty();
}

bool is_base64_alphabet(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

// Base64 with any whitespace inside; the alphabet and padding are checked before OpenSSL decodes.
Result<Der> decode_base64(std::string_view text)
{
    std::string compact;
    compact.reserve(text.size());
    for (char c : text) {
        if (!is_space(c)) {
            compact.push_back(c);
        }
    }
    if (compact.empty()) {
        return Failure{"empty base64"};
    }
    std::size_t padding = 0;
    for (std::size_t i = 0; i < compact.size(); ++i) {
        const char c = compact[i];
        if (c == '=') {
            ++padding;
            continue;
        }
        if (padding > 0 || !is_base64_alphabet(c)) {
            return Failure{"invalid base64 character at position " + std::to_string(i)};
        }
    }
    if (padding > 2 || compact.size() % 4 != 0) {
        return Failure{"invalid base64 length or padding"};
    }
    Der der(compact.size() / 4 * 3);
    const int written = EVP_DecodeBlock(der.data(), reinterpret_cast<const unsigned char*>(compact.data()),
                                        static_cast<int>(compact.size()));
    if (written < 0 || static_cast<std::size_t>(written) != der.size()) {
        ERR_clear_error();
        return Failure{"invalid base64"};
    }
    der.resize(der.size() - padding);
    return der;
}

// The DER must be exactly one definite-length SEQUENCE: no truncation, nothing after it.
Result<void> check_der_envelope(const Der& der)
{
    const unsigned char* cursor = der.data();
    long length = 0;
    int tag = 0;
    int xclass = 0;
    const int info = ASN1_get_object(&cursor, &length, &tag, &xclass, static_cast<long>(der.size()));
    ERR_clear_error();
    if ((info & 0x80) != 0) {
        return Failure{"truncated or invalid DER"};
    }
    if (tag != V_ASN1_SEQUENCE || xclass != V_ASN1_UNIVERSAL || (info & V_ASN1_CONSTRUCTED) == 0 ||
        info == (V_ASN1_CONSTRUCTED | 1)) {
        return Failure{"DER does not start with a definite-length SEQUENCE"};
    }
    const auto used = static_cast<std::size_t>(cursor - der.data()) + static_cast<std::size_t>(length);
    if (used < der.size()) {
        return Failure{std::to_string(der.size() - used) + " trailing bytes after the DER certificate"};
    }
    return {};
}

Result<std::string> percent_decode(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);  // '+' stays '+': AWS leaves + / = literal
            continue;
        }
        const bool complete = i + 2 < text.size();
        const int high = complete ? OPENSSL_hexchar2int(static_cast<unsigned char>(text[i + 1])) : -1;
        const int low = complete ? OPENSSL_hexchar2int(static_cast<unsigned char>(text[i + 2])) : -1;
        if (high < 0 || low < 0) {
            return Failure{"invalid percent-encoding at position " + std::to_string(i)};
        }
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
    }
    return out;
}

using Chain = std::vector<Der>;

// One or more PEM CERTIFICATE blocks with only whitespace around and between them.
Result<Chain> decode_pem_blocks(std::string_view text)
{
    if (only_space(text)) {
        return Failure{"no PEM block"};  // e.g. URL-encoded whitespace
    }
    Chain chain;
    while (!only_space(text)) {
        const std::size_t begin = text.find(pem_begin);
        if (begin == std::string_view::npos || !only_space(text.substr(0, begin))) {
            return Failure{"unexpected text outside PEM blocks"};
        }
        text.remove_prefix(begin + pem_begin.size());
        const std::size_t label_end = text.find(pem_dashes);
        if (label_end == std::string_view::npos) {
            return Failure{"PEM BEGIN line is not terminated"};
        }
        const std::string_view label = text.substr(0, label_end);
        if (label != pem_certificate_label) {
            // The label is the client's text: for the log only.
            return Failure{"PEM block is not a CERTIFICATE", "PEM label '" + std::string(label.substr(0, 40)) + "'"};
        }
        text.remove_prefix(label_end + pem_dashes.size());
        const std::string end_line = "-----END " + std::string(label) + "-----";
        const std::size_t end = text.find(end_line);
        if (end == std::string_view::npos) {
            return Failure{"PEM block has no END CERTIFICATE line"};
        }
        auto der = decode_base64(text.substr(0, end));
        if (!der) {
            return Failure{"PEM body: " + der.error()};
        }
        chain.push_back(std::move(der.value()));
        text.remove_prefix(end + end_line.size());
    }
    return chain;
}

DecodedHeader malformed(Failure failure)
{
    DecodedHeader result;
    result.status = DecodedHeader::Status::malformed;
    result.reason = std::move(failure.reason);
    result.detail = std::move(failure.detail);
    return result;
}

// `prefix` before the reason, the detail kept.
Failure within(std::string_view prefix, Failure failure)
{
    failure.reason.insert(0, prefix);
    return failure;
}

// Base64 DER items joined by ',' (Traefik), each trimmed; empty items are refused.
Result<Chain> decode_base64_list(std::string_view text)
{
    Chain chain;
    while (true) {
        const std::size_t comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
        if (item.empty()) {
            return Failure{"empty item in the list"};
        }
        auto der = decode_base64(item);
        if (!der) {
            return der.why();
        }
        chain.push_back(std::move(der.value()));
        if (comma == std::string_view::npos) {
            return chain;
        }
        text.remove_prefix(comma + 1);
    }
}

// RFC 9440 / RFC 8941 byte sequences: ":base64:" items, one or a ','-separated list.
Result<Chain> decode_sf_binary_list(std::string_view text, bool list)
{
    Chain chain;
    while (true) {
        const std::size_t comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
        if (item.size() < 2 || item.front() != ':' || item.back() != ':') {
            return Failure{"expected a byte sequence (:base64:)"};
        }
        auto der = decode_base64(item.substr(1, item.size() - 2));
        if (!der) {
            return der.why();
        }
        chain.push_back(std::move(der.value()));
        if (comma == std::string_view::npos) {
            return chain;
        }
        if (!list) {
            return Failure{"several values in one header (repeated header line?)"};
        }
        text.remove_prefix(comma + 1);
    }
}

// Traefik's X-Forwarded-Tls-Client-Cert. Up to 2.9.1 each item was url.QueryEscape'd (%2B %2F %3D,
// items still joined by a literal ','); decoding the whole value first reads that, a list escaped as
// a whole (%2C), and today's plain items alike. No item holds a literal '%'.
Result<Chain> decode_traefik(std::string_view text)
{
    if (text.find('%') == std::string_view::npos) {
        return decode_base64_list(text);
    }
    const auto unescaped = percent_decode(text);
    if (!unescaped) {
        return unescaped.why();
    }
    return decode_base64_list(unescaped.value());
}

// HAProxy's %[ssl_c_chain_der,base64]: one base64 value, DER certificates back to back.
Result<Chain> decode_der_concat(std::string_view text)
{
    const auto der = decode_base64(text);
    if (!der) {
        return der.why();
    }
    return split_concatenated_der(der.value(), max_concatenated_certificates);
}

Result<Chain> decode_url_pem(std::string_view text)
{
    const auto unescaped = percent_decode(text);
    if (!unescaped) {
        return unescaped.why();
    }
    return decode_pem_blocks(trim(unescaped.value()));
}

// A certificate list as decoded, or the header that says why not.
DecodedHeader decoded_as(std::string_view format, Result<Chain> chain)
{
    if (!chain) {
        return malformed(chain.why());
    }
    DecodedHeader result;
    result.status = DecodedHeader::Status::ok;
    result.format = format;
    result.chain = std::move(chain.value());
    return result;
}

// The chosen XFCC element's Cert (the leaf) and Chain (which may repeat the leaf).
DecodedHeader decode_xfcc(std::string_view text, XfccPick pick)
{
    auto elements = parse_xfcc(text);
    if (!elements) {
        return malformed(elements.why());
    }
    const XfccElement& element = pick == XfccPick::first ? elements->front() : elements->back();
    auto cert = element.field("cert");
    auto chain_field = element.field("chain");
    if (!cert || !chain_field) {
        return malformed(!cert ? cert.why() : chain_field.why());
    }
    DecodedHeader result;
    result.format = "xfcc";
    if (cert.value().empty()) {
        // Envoy saw a client certificate but was told not to forward it (Istio's default): never
        // "no certificate", which ArrCertVerifyClient optional would let through.
        return malformed(
            Failure{"XFCC element carries no Cert: set Envoy's set_current_client_cert_details cert: "
                    "true (forward_client_cert_details SANITIZE_SET or APPEND_FORWARD)"});
    }
    auto leaf = decode_url_pem(cert.value());
    if (!leaf) {
        return malformed(within("XFCC Cert: ", leaf.why()));
    }
    if (leaf->size() != 1) {
        return malformed(Failure{"XFCC Cert holds " + std::to_string(leaf->size()) + " certificates"});
    }
    result.chain = std::move(leaf.value());
    if (!chain_field.value().empty()) {
        auto intermediates = decode_url_pem(chain_field.value());
        if (!intermediates) {
            return malformed(within("XFCC Chain: ", intermediates.why()));
        }
        DecodedHeader chain;
        chain.chain = std::move(intermediates.value());
        append_chain(result, chain);
    }
    result.status = DecodedHeader::Status::ok;
    return result;
}

// Everything but XFCC and Traefik has no list syntax: a comma means two header lines.
bool has_list_syntax(HeaderFormat format)
{
    return format == HeaderFormat::xfcc || format == HeaderFormat::traefik;
}

DecodedHeader decode_automatic(std::string_view text)
{
    std::string unescaped;
    bool url_encoded = false;
    if (text.find('%') != std::string_view::npos) {
        auto decoded = percent_decode(text);
        if (!decoded) {
            return malformed(decoded.why());
        }
        unescaped = std::move(decoded.value());
        text = trim(unescaped);
        url_encoded = true;
    }
    if (text.find(pem_begin) != std::string_view::npos) {
        return decoded_as(url_encoded ? "url-pem" : "pem", decode_pem_blocks(text));
    }
    auto der = decode_base64(text);
    if (!der) {
        return malformed(der.why());
    }
    return decoded_as(url_encoded ? "url-der-base64" : "der-base64", Chain{std::move(der.value())});
}

DecodedHeader decode_in_format(std::string_view text, const DecodeOptions& options)
{
    const std::string_view format = header_format_name(options.format);
    switch (options.format) {
        case HeaderFormat::automatic: return decode_automatic(text);
        case HeaderFormat::xfcc: return decode_xfcc(text, options.xfcc_element);
        case HeaderFormat::der_base64: {
            auto der = decode_base64(text);
            if (!der) {
                return malformed(der.why());
            }
            return decoded_as(format, Chain{std::move(der.value())});
        }
        case HeaderFormat::pem: return decoded_as(format, decode_pem_blocks(text));
        case HeaderFormat::url_pem: return decoded_as(format, decode_url_pem(text));
        case HeaderFormat::rfc9440: return decoded_as(format, decode_sf_binary_list(text, false));
        case HeaderFormat::traefik: return decoded_as(format, decode_traefik(text));
        case HeaderFormat::der_concat_base64: return decoded_as(format, decode_der_concat(text));
    }
    return malformed(Failure{"unknown format"});
}

DecodedHeader with_checked_envelopes(DecodedHeader result)
{
    for (const Der& der : result.chain) {
        if (auto envelope = check_der_envelope(der); !envelope) {
            return malformed(envelope.why());
        }
    }
    return result;
}

// What ArrCertHeader accepts.
constexpr std::array<Keyword<HeaderFormat>, 8> formats{{
    {"auto", HeaderFormat::automatic},
    {"der-base64", HeaderFormat::der_base64},
    {"pem", HeaderFormat::pem},
    {"url-pem", HeaderFormat::url_pem},
    {"xfcc", HeaderFormat::xfcc},
    {"rfc9440", HeaderFormat::rfc9440},
    {"traefik", HeaderFormat::traefik},
    {"der-concat-base64", HeaderFormat::der_concat_base64},
}};

// What ArrCertFrontEnd accepts; front_end_headers() says what each sends.
constexpr std::array<Keyword<FrontEnd>, 12> front_ends{{
    {"azure", FrontEnd::azure},
    {"envoy", FrontEnd::envoy},
    {"traefik", FrontEnd::traefik},
    {"aws-alb", FrontEnd::aws_alb},
    {"rfc9440", FrontEnd::rfc9440},
    {"aws-alb-verify", FrontEnd::aws_alb_verify},
    {"cloudfront", FrontEnd::cloudfront},
    {"gcp", FrontEnd::gcp},
    {"cloudflare", FrontEnd::cloudflare},
    {"akamai", FrontEnd::akamai},
    {"ingress-nginx", FrontEnd::ingress_nginx},
    {"kong", FrontEnd::kong},
}};

// What DecodedHeader::format may say: the formats of the table and the automatic ones.
constexpr std::array<std::string_view, 8> reported{"der-base64", "url-der-base64", "pem",     "url-pem",
                                                   "xfcc",       "rfc9440",        "traefik", "der-concat-base64"};

}  // namespace

std::span<const std::string_view> reported_formats() noexcept
{
    return reported;
}

std::optional<std::string_view> reported_format(std::string_view name) noexcept
{
    for (const std::string_view format : reported) {
        if (format == name) {
            return format;
        }
    }
    return std::nullopt;
}

std::optional<HeaderFormat> header_format_named(std::string_view name)
{
    return keyword_value(formats, name);
}

std::string header_format_list(std::string_view separator, std::string_view last)
{
    return keyword_list(formats, separator, last);
}

std::string_view header_format_name(HeaderFormat format) noexcept
{
    return keyword_name(formats, format);
}

DecodedHeader decode_header(std::string_view value, const DecodeOptions& options)
{
    if (value.size() > options.max_length) {
        return malformed(Failure{"header value is " + std::to_string(value.size()) + " bytes, over the limit of " +
                                 std::to_string(options.max_length)});
    }
    const std::string_view text = trim(value);
    if (text.empty() || text == "(null)") {
        return {};
    }
    // httpd joins repeated header lines with ", ": never pick one of them.
    if (!has_list_syntax(options.format) && text.find(',') != std::string_view::npos) {
        return malformed(Failure{"several values in one header (repeated header line?)"});
    }
    DecodedHeader result = decode_in_format(text, options);
    if (result.status != DecodedHeader::Status::ok) {
        return result;
    }
    return with_checked_envelopes(std::move(result));
}

DecodedHeader decode_chain_header(std::string_view value, HeaderFormat format, std::size_t max_length)
{
    if (value.size() > max_length) {
        return malformed(Failure{"chain header value is " + std::to_string(value.size()) +
                                 " bytes, over the limit of " + std::to_string(max_length)});
    }
    const std::string_view text = trim(value);
    if (text.empty() || text == "(null)") {
        return {};
    }
    const bool pem_like = text.find("BEGIN") != std::string_view::npos || text.find('%') != std::string_view::npos;
    std::string_view read_as;
    Result<Chain> chain =
        Failure{"format " + std::string(header_format_name(format)) + " cannot carry a separate chain"};
    if (format == HeaderFormat::der_concat_base64) {
        read_as = "der-concat-base64";
        chain = decode_der_concat(text);
    } else if (format == HeaderFormat::traefik) {
        read_as = "traefik";
        chain = decode_traefik(text);
    } else if (format == HeaderFormat::rfc9440 || (format == HeaderFormat::automatic && text.front() == ':')) {
        read_as = "rfc9440";
        chain = decode_sf_binary_list(text, true);
    } else if (format == HeaderFormat::pem || format == HeaderFormat::url_pem ||
               (format == HeaderFormat::automatic && pem_like)) {
        read_as = "pem";
        chain = format == HeaderFormat::pem ? decode_pem_blocks(text) : decode_url_pem(text);
    } else if (format == HeaderFormat::der_base64 || format == HeaderFormat::automatic) {
        read_as = "der-base64";
        chain = decode_base64_list(text);
    }
    if (!chain) {
        return malformed(within("chain header: ", chain.why()));
    }
    return with_checked_envelopes(decoded_as(read_as, std::move(chain)));
}

void append_chain(DecodedHeader& header, const DecodedHeader& chain)
{
    for (const Der& der : chain.chain) {
        if (header.chain.empty() || der != header.chain.front()) {
            header.chain.push_back(der);
        }
    }
}

DecodedHeader decode_request(std::string_view certificate, std::string_view chain, const HeaderSettings& headers,
                             std::size_t max_length, XfccPick xfcc_element)
{
    DecodedHeader decoded = decode_header(certificate, {headers.format, max_length, xfcc_element});
    if (decoded.status != DecodedHeader::Status::ok || headers.chain_name == nullptr) {
        return decoded;
    }
    DecodedHeader intermediates = decode_chain_header(chain, headers.chain_format, max_length);
    if (intermediates.status == DecodedHeader::Status::malformed) {
        return intermediates;
    }
    append_chain(decoded, intermediates);
    return decoded;
}

HeaderSettings front_end_headers(std::optional<FrontEnd> front_end) noexcept
{
    if (!front_end) {
        return {};
    }
    switch (*front_end) {
        case FrontEnd::azure: return {"X-ARR-ClientCert", HeaderFormat::der_base64, nullptr, HeaderFormat::automatic};
        case FrontEnd::envoy: return {"X-Forwarded-Client-Cert", HeaderFormat::xfcc, nullptr, HeaderFormat::automatic};
        case FrontEnd::traefik:
            return {"X-Forwarded-Tls-Client-Cert", HeaderFormat::traefik, nullptr, HeaderFormat::automatic};
        case FrontEnd::aws_alb:
            return {"X-Amzn-Mtls-Clientcert", HeaderFormat::url_pem, nullptr, HeaderFormat::automatic};
        case FrontEnd::rfc9440:
            return {"Client-Cert", HeaderFormat::rfc9440, "Client-Cert-Chain", HeaderFormat::rfc9440};
        case FrontEnd::aws_alb_verify:
            return {"X-Amzn-Mtls-Clientcert-Leaf", HeaderFormat::url_pem, nullptr, HeaderFormat::automatic};
        case FrontEnd::cloudfront:
            return {"CloudFront-Viewer-Cert-Pem", HeaderFormat::url_pem, nullptr, HeaderFormat::automatic};
        // Google names no header: these are the names of its documentation's examples.
        case FrontEnd::gcp:
            return {"X-Client-Cert-Leaf", HeaderFormat::rfc9440, "X-Client-Cert-Chain", HeaderFormat::rfc9440};
        // Transform rules of cf.tls_client_auth.cert_rfc9440 and cert_chain_rfc9440; never
        // Cf-Client-Cert-Der-Base64, which only a connection's first request carries.
        case FrontEnd::cloudflare:
            return {"Client-Cert", HeaderFormat::rfc9440, "Client-Cert-Chain", HeaderFormat::rfc9440};
        case FrontEnd::akamai: return {"Akamai-CC-DER", HeaderFormat::rfc9440, nullptr, HeaderFormat::automatic};
        case FrontEnd::ingress_nginx:
            return {"ssl-client-cert", HeaderFormat::url_pem, nullptr, HeaderFormat::automatic};
        case FrontEnd::kong: return {"X-Client-Cert", HeaderFormat::url_pem, nullptr, HeaderFormat::automatic};
    }
    return {};
}

std::optional<FrontEnd> front_end_named(std::string_view name)
{
    return keyword_value(front_ends, name);
}

std::string front_end_list(std::string_view separator, std::string_view last)
{
    return keyword_list(front_ends, separator, last);
}

}  // namespace arrcert
