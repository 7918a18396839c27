#include "arrcert/decode.h"

#include <openssl/asn1.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

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
std::optional<Der> decode_base64(std::string_view text, std::string& reason)
{
    std::string compact;
    compact.reserve(text.size());
    for (char c : text) {
        if (!is_space(c)) {
            compact.push_back(c);
        }
    }
    if (compact.empty()) {
        reason = "empty base64";
        return std::nullopt;
    }
    std::size_t padding = 0;
    for (std::size_t i = 0; i < compact.size(); ++i) {
        const char c = compact[i];
        if (c == '=') {
            ++padding;
            continue;
        }
        if (padding > 0 || !is_base64_alphabet(c)) {
            reason = "invalid base64 character at position " + std::to_string(i);
            return std::nullopt;
        }
    }
    if (padding > 2 || compact.size() % 4 != 0) {
        reason = "invalid base64 length or padding";
        return std::nullopt;
    }
    Der der(compact.size() / 4 * 3);
    const int written = EVP_DecodeBlock(der.data(), reinterpret_cast<const unsigned char*>(compact.data()),
                                        static_cast<int>(compact.size()));
    if (written < 0 || static_cast<std::size_t>(written) != der.size()) {
        ERR_clear_error();
        reason = "invalid base64";
        return std::nullopt;
    }
    der.resize(der.size() - padding);
    return der;
}

// The DER must be exactly one definite-length SEQUENCE: no truncation, nothing after it.
bool check_der_envelope(const Der& der, std::string& reason)
{
    const unsigned char* cursor = der.data();
    long length = 0;
    int tag = 0;
    int xclass = 0;
    const int info = ASN1_get_object(&cursor, &length, &tag, &xclass, static_cast<long>(der.size()));
    ERR_clear_error();
    if ((info & 0x80) != 0) {
        reason = "truncated or invalid DER";
        return false;
    }
    if (tag != V_ASN1_SEQUENCE || xclass != V_ASN1_UNIVERSAL || (info & V_ASN1_CONSTRUCTED) == 0 ||
        info == (V_ASN1_CONSTRUCTED | 1)) {
        reason = "DER does not start with a definite-length SEQUENCE";
        return false;
    }
    const auto used = static_cast<std::size_t>(cursor - der.data()) + static_cast<std::size_t>(length);
    if (used < der.size()) {
        reason = std::to_string(der.size() - used) + " trailing bytes after the DER certificate";
        return false;
    }
    return true;
}

std::optional<std::string> percent_decode(std::string_view text, std::string& reason)
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
            reason = "invalid percent-encoding at position " + std::to_string(i);
            return std::nullopt;
        }
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
    }
    return out;
}

// One or more PEM CERTIFICATE blocks with only whitespace around and between them.
// `detail` gets client text worth logging (escaped) but never exporting.
bool decode_pem_blocks(std::string_view text, std::vector<Der>& chain, std::string& reason, std::string& detail)
{
    if (only_space(text)) {
        reason = "no PEM block";  // e.g. URL-encoded whitespace
        return false;
    }
    while (!only_space(text)) {
        const std::size_t begin = text.find(pem_begin);
        if (begin == std::string_view::npos || !only_space(text.substr(0, begin))) {
            reason = "unexpected text outside PEM blocks";
            return false;
        }
        text.remove_prefix(begin + pem_begin.size());
        const std::size_t label_end = text.find(pem_dashes);
        if (label_end == std::string_view::npos) {
            reason = "PEM BEGIN line is not terminated";
            return false;
        }
        const std::string_view label = text.substr(0, label_end);
        if (label != pem_certificate_label) {
            reason = "PEM block is not a CERTIFICATE";
            detail = "PEM label '" + std::string(label.substr(0, 40)) + "'";
            return false;
        }
        text.remove_prefix(label_end + pem_dashes.size());
        const std::string end_line = "-----END " + std::string(label) + "-----";
        const std::size_t end = text.find(end_line);
        if (end == std::string_view::npos) {
            reason = "PEM block has no END CERTIFICATE line";
            return false;
        }
        auto der = decode_base64(text.substr(0, end), reason);
        if (!der) {
            reason.insert(0, "PEM body: ");
            return false;
        }
        chain.push_back(std::move(*der));
        text.remove_prefix(end + end_line.size());
    }
    return true;
}

DecodedHeader malformed(std::string reason, std::string detail = {})
{
    DecodedHeader result;
    result.status = DecodedHeader::Status::malformed;
    result.reason = std::move(reason);
    result.detail = std::move(detail);
    return result;
}

// Base64 DER items joined by ',' (Traefik), each trimmed; empty items are refused.
bool decode_base64_list(std::string_view text, std::vector<Der>& chain, std::string& reason)
{
    while (true) {
        const std::size_t comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
        if (item.empty()) {
            reason = "empty item in the list";
            return false;
        }
        auto der = decode_base64(item, reason);
        if (!der) {
            return false;
        }
        chain.push_back(std::move(*der));
        if (comma == std::string_view::npos) {
            return true;
        }
        text.remove_prefix(comma + 1);
    }
}

// RFC 9440 / RFC 8941 byte sequences: ":base64:" items, one or a ','-separated list.
bool decode_sf_binary_list(std::string_view text, bool list, std::vector<Der>& chain, std::string& reason)
{
    while (true) {
        const std::size_t comma = text.find(',');
        const std::string_view item = trim(text.substr(0, comma));
        if (item.size() < 2 || item.front() != ':' || item.back() != ':') {
            reason = "expected a byte sequence (:base64:)";
            return false;
        }
        auto der = decode_base64(item.substr(1, item.size() - 2), reason);
        if (!der) {
            return false;
        }
        chain.push_back(std::move(*der));
        if (comma == std::string_view::npos) {
            return true;
        }
        if (!list) {
            reason = "several values in one header (repeated header line?)";
            return false;
        }
        text.remove_prefix(comma + 1);
    }
}

bool decode_url_pem(std::string_view text, std::vector<Der>& chain, std::string& reason, std::string& detail)
{
    const auto unescaped = percent_decode(text, reason);
    return unescaped && decode_pem_blocks(trim(*unescaped), chain, reason, detail);
}

// The chosen XFCC element's Cert (the leaf) and Chain (which may repeat the leaf).
DecodedHeader decode_xfcc(std::string_view text, XfccPick pick)
{
    auto elements = parse_xfcc(text);
    if (!elements) {
        return malformed(elements.error());
    }
    const XfccElement& element = pick == XfccPick::first ? elements->front() : elements->back();
    auto cert = element.field("cert");
    auto chain_field = element.field("chain");
    if (!cert || !chain_field) {
        return malformed(!cert ? cert.error() : chain_field.error());
    }
    DecodedHeader result;
    result.format = "xfcc";
    if (!cert.value() || cert.value()->empty()) {
        return result;  // an element without Cert: no certificate
    }
    std::string reason;
    std::string detail;
    if (!decode_url_pem(*cert.value(), result.chain, reason, detail)) {
        return malformed("XFCC Cert: " + reason, std::move(detail));
    }
    if (result.chain.size() != 1) {
        return malformed("XFCC Cert holds " + std::to_string(result.chain.size()) + " certificates");
    }
    if (chain_field.value()) {
        DecodedHeader chain;
        if (!decode_url_pem(*chain_field.value(), chain.chain, reason, detail)) {
            return malformed("XFCC Chain: " + reason, std::move(detail));
        }
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
    DecodedHeader result;
    std::string reason;
    std::optional<std::string> unescaped;
    bool url_encoded = false;
    if (text.find('%') != std::string_view::npos) {
        unescaped = percent_decode(text, reason);
        if (!unescaped) {
            return malformed(std::move(reason));
        }
        text = trim(*unescaped);
        url_encoded = true;
    }
    if (text.find(pem_begin) != std::string_view::npos) {
        result.format = url_encoded ? "url-pem" : "pem";
        std::string detail;
        if (!decode_pem_blocks(text, result.chain, reason, detail)) {
            return malformed(std::move(reason), std::move(detail));
        }
    } else {
        result.format = url_encoded ? "url-der-base64" : "der-base64";
        auto der = decode_base64(text, reason);
        if (!der) {
            return malformed(std::move(reason));
        }
        result.chain.push_back(std::move(*der));
    }
    result.status = DecodedHeader::Status::ok;
    return result;
}

DecodedHeader decode_in_format(std::string_view text, const DecodeOptions& options)
{
    DecodedHeader result;
    result.format = header_format_name(options.format);
    std::string reason;
    std::string detail;
    bool decoded = false;
    switch (options.format) {
        case HeaderFormat::automatic: return decode_automatic(text);
        case HeaderFormat::xfcc: return decode_xfcc(text, options.xfcc_element);
        case HeaderFormat::der_base64: {
            auto der = decode_base64(text, reason);
            decoded = der.has_value();
            if (der) {
                result.chain.push_back(std::move(*der));
            }
            break;
        }
        case HeaderFormat::pem: decoded = decode_pem_blocks(text, result.chain, reason, detail); break;
        case HeaderFormat::url_pem: decoded = decode_url_pem(text, result.chain, reason, detail); break;
        case HeaderFormat::rfc9440: decoded = decode_sf_binary_list(text, false, result.chain, reason); break;
        case HeaderFormat::traefik: decoded = decode_base64_list(text, result.chain, reason); break;
    }
    if (!decoded) {
        return malformed(std::move(reason), std::move(detail));
    }
    result.status = DecodedHeader::Status::ok;
    return result;
}

DecodedHeader with_checked_envelopes(DecodedHeader result)
{
    std::string reason;
    for (const Der& der : result.chain) {
        if (!check_der_envelope(der, reason)) {
            return malformed(std::move(reason));
        }
    }
    return result;
}

struct Format {
    std::string_view name;
    HeaderFormat format;
};
// What ArrCertHeader accepts.
constexpr std::array<Format, 7> formats{{
    {"auto", HeaderFormat::automatic},
    {"der-base64", HeaderFormat::der_base64},
    {"pem", HeaderFormat::pem},
    {"url-pem", HeaderFormat::url_pem},
    {"xfcc", HeaderFormat::xfcc},
    {"rfc9440", HeaderFormat::rfc9440},
    {"traefik", HeaderFormat::traefik},
}};

// What DecodedHeader::format may say: the formats of the table and the automatic ones.
constexpr std::array<std::string_view, 7> reported{"der-base64", "url-der-base64", "pem",    "url-pem",
                                                   "xfcc",       "rfc9440",        "traefik"};

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
    for (const Format& format : formats) {
        // Case-insensitive, as every keyword of the directives.
        if (format.name.size() == name.size() &&
            std::equal(name.begin(), name.end(), format.name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) == static_cast<unsigned char>(b);
            })) {
            return format.format;
        }
    }
    return std::nullopt;
}

std::string header_format_list()
{
    std::string list;
    for (const Format& format : formats) {
        list += list.empty() ? "" : ", ";
        list += format.name;
    }
    return list;
}

std::string_view header_format_name(HeaderFormat format) noexcept
{
    for (const Format& entry : formats) {
        if (entry.format == format) {
            return entry.name;
        }
    }
    return "unknown";
}

DecodedHeader decode_header(std::string_view value, const DecodeOptions& options)
{
    if (value.size() > options.max_length) {
        return malformed("header value is " + std::to_string(value.size()) + " bytes, over the limit of " +
                         std::to_string(options.max_length));
    }
    const std::string_view text = trim(value);
    if (text.empty() || text == "(null)") {
        return {};
    }
    // httpd joins repeated header lines with ", ": never pick one of them.
    if (!has_list_syntax(options.format) && text.find(',') != std::string_view::npos) {
        return malformed("several values in one header (repeated header line?)");
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
        return malformed("chain header value is " + std::to_string(value.size()) + " bytes, over the limit of " +
                         std::to_string(max_length));
    }
    const std::string_view text = trim(value);
    if (text.empty() || text == "(null)") {
        return {};
    }
    DecodedHeader result;
    std::string reason;
    std::string detail;
    bool decoded = false;
    const bool pem_like = text.find("BEGIN") != std::string_view::npos || text.find('%') != std::string_view::npos;
    if (format == HeaderFormat::rfc9440 || (format == HeaderFormat::automatic && text.front() == ':')) {
        result.format = "rfc9440";
        decoded = decode_sf_binary_list(text, true, result.chain, reason);
    } else if (format == HeaderFormat::pem || format == HeaderFormat::url_pem ||
               (format == HeaderFormat::automatic && pem_like)) {
        result.format = "pem";
        decoded = format == HeaderFormat::pem ? decode_pem_blocks(text, result.chain, reason, detail)
                                              : decode_url_pem(text, result.chain, reason, detail);
    } else if (format == HeaderFormat::der_base64 || format == HeaderFormat::traefik ||
               format == HeaderFormat::automatic) {
        result.format = "der-base64";
        decoded = decode_base64_list(text, result.chain, reason);
    } else {
        reason = "format " + std::string(header_format_name(format)) + " cannot carry a separate chain";
    }
    if (!decoded) {
        return malformed("chain header: " + reason, std::move(detail));
    }
    result.status = DecodedHeader::Status::ok;
    return with_checked_envelopes(std::move(result));
}

void append_chain(DecodedHeader& header, const DecodedHeader& chain)
{
    for (const Der& der : chain.chain) {
        if (header.chain.empty() || der != header.chain.front()) {
            header.chain.push_back(der);
        }
    }
}

}  // namespace arrcert
