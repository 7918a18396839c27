#include "arrcert/front_end_check.h"

#include <algorithm>
#include <array>
#include <cstddef>

#include "arrcert/keywords.h"
#include "arrcert/xfcc.h"

namespace arrcert {
namespace {

bool is_space(char c) noexcept
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view text) noexcept
{
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        text.remove_suffix(1);
    }
    return text;
}

int hex_digit(char c) noexcept
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// Hex digits in pairs, each pair optionally followed by ':' (never at the end).
std::optional<std::string> from_hex(std::string_view text)
{
    std::string bytes;
    std::size_t i = 0;
    while (i < text.size()) {
        if (i + 1 >= text.size()) {
            return std::nullopt;
        }
        const int high = hex_digit(text[i]);
        const int low = hex_digit(text[i + 1]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        bytes.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        if (i < text.size() && text[i] == ':') {
            if (i + 1 == text.size()) {
                return std::nullopt;
            }
            ++i;
        }
    }
    return bytes;
}

int base64_value(char c) noexcept
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+' || c == '-') {
        return 62;
    }
    if (c == '/' || c == '_') {
        return 63;
    }
    return -1;
}

// Base64 or base64url, padded or not; the bits a short last group leaves over must be zero.
std::optional<std::string> from_base64(std::string_view text)
{
    while (!text.empty() && text.back() == '=') {
        text.remove_suffix(1);
    }
    if (text.size() % 4 == 1) {
        return std::nullopt;
    }
    std::string bytes;
    unsigned buffer = 0;
    int bits = 0;
    for (const char c : text) {
        const int value = base64_value(c);
        if (value < 0) {
            return std::nullopt;
        }
        buffer = (buffer << 6U) | static_cast<unsigned>(value);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes.push_back(static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU));
        }
    }
    if ((buffer & ((1U << static_cast<unsigned>(bits)) - 1U)) != 0) {
        return std::nullopt;
    }
    return bytes;
}

constexpr std::array<Keyword<DigestAlgorithm>, 2> algorithms{{
    {"sha1", DigestAlgorithm::sha1},
    {"sha256", DigestAlgorithm::sha256},
}};

// The verdicts the presets read, as their vendors document them.
constexpr std::array<std::string_view, 1> one{"1"};
constexpr std::array<std::string_view, 1> true_value{"true"};
constexpr std::array<std::string_view, 1> false_value{"false"};
constexpr std::array<std::string_view, 1> empty_value{""};
constexpr std::array<std::string_view, 1> success{"SUCCESS"};

constexpr std::array<VerdictLine, 1> cloudfront_verdict{{{"CloudFront-Viewer-Cert-Present", one}}};
constexpr std::array<VerdictLine, 3> gcp_verdict{{
    {"X-Client-Cert-Present", true_value},
    {"X-Client-Cert-Chain-Verified", true_value},
    {"X-Client-Cert-Error", empty_value},
}};
constexpr std::array<VerdictLine, 2> cloudflare_verdict{{
    {"cf-cert-verified", true_value},
    {"cf-cert-revoked", false_value},
}};
constexpr std::array<VerdictLine, 1> ingress_nginx_verdict{{{"ssl-client-verify", success}}};

}  // namespace

bool verdict_holds(std::optional<std::string_view> value, std::span<const std::string_view> accepted) noexcept
{
    const std::string_view sent = value ? trim(*value) : std::string_view();
    return std::ranges::any_of(accepted, [&](std::string_view wanted) { return equal_ignoring_case(sent, wanted); });
}

bool carries_certificate(std::optional<std::string_view> value) noexcept
{
    if (!value) {
        return false;
    }
    const std::string_view text = trim(*value);
    return !text.empty() && text != "(null)";
}

std::optional<DigestAlgorithm> digest_algorithm_named(std::string_view name) noexcept
{
    return keyword_value(algorithms, name);
}

Result<std::string> parse_fingerprint(std::string_view text, std::size_t size)
{
    text = trim(text);
    std::optional<std::string> bytes = from_hex(text);
    if (!bytes || bytes->size() != size) {
        bytes = from_base64(text);
    }
    if (!bytes) {
        return Failure{"neither hex nor base64"};
    }
    if (bytes->size() != size) {
        return Failure{std::to_string(bytes->size()) + " bytes where " + std::to_string(size) + " were expected"};
    }
    return std::move(*bytes);
}

FingerprintCheck check_fingerprint(std::optional<std::string_view> sent, DigestAlgorithm algorithm, const Sha1& sha1,
                                   const Sha256& sha256)
{
    if (!sent || trim(*sent).empty()) {
        return FingerprintCheck::absent;
    }
    const std::string_view expected =
        algorithm == DigestAlgorithm::sha1
            ? std::string_view(reinterpret_cast<const char*>(sha1.data()), sha1.size())
            : std::string_view(reinterpret_cast<const char*>(sha256.data()), sha256.size());
    const Result<std::string> bytes = parse_fingerprint(*sent, expected.size());
    if (!bytes) {
        return FingerprintCheck::malformed;
    }
    return bytes.value() == expected ? FingerprintCheck::match : FingerprintCheck::mismatch;
}

std::string_view fingerprint_reason(FingerprintCheck check) noexcept
{
    switch (check) {
        case FingerprintCheck::match: return {};
        case FingerprintCheck::mismatch: return fingerprint_mismatch;
        case FingerprintCheck::absent: return fingerprint_absent;
        case FingerprintCheck::malformed: return fingerprint_malformed;
    }
    return fingerprint_malformed;
}

std::optional<std::string> xfcc_hash(std::string_view value, XfccPick pick)
{
    auto elements = parse_xfcc(value);
    if (!elements || elements->empty()) {
        return std::nullopt;
    }
    const XfccElement& element = pick == XfccPick::first ? elements->front() : elements->back();
    auto hash = element.field("hash");
    if (!hash || hash.value().empty()) {
        return std::nullopt;
    }
    return std::move(hash.value());
}

FrontEndChecks front_end_checks(std::optional<FrontEnd> front_end) noexcept
{
    if (!front_end) {
        return {};
    }
    switch (*front_end) {
        // Azure App Service forwards what the client presented, unverified (Application Gateway
        // has a passthrough mode); Traefik's RequestClientCert and RequireAnyClientCert, ALB's
        // passthrough mode and Akamai's Enforce mTLS settings without "deny request" forward what
        // nothing verified. None sends a verdict with the certificate.
        case FrontEnd::azure:
        case FrontEnd::traefik:
        case FrontEnd::aws_alb:
        case FrontEnd::akamai: return {{}, std::nullopt, true};
        // ACCEPT_UNTRUSTED; Envoy always writes the element's Hash (SHA-256, hex).
        case FrontEnd::envoy: return {{}, FingerprintSource{"", DigestAlgorithm::sha256}, true};
        // RFC 9440 says nothing of verification (what sends it decides); ALB's verify mode never
        // forwards a certificate that failed.
        case FrontEnd::rfc9440:
        case FrontEnd::aws_alb_verify: return {};
        // CloudFront-Viewer-Cert-Pem is sent in required and optional modes only (passthrough
        // sends Client-Cert instead), and CloudFront verified it then.
        case FrontEnd::cloudfront:
            return {cloudfront_verdict, FingerprintSource{"CloudFront-Viewer-Cert-Sha256", DigestAlgorithm::sha256},
                    false};
        // ALLOW_INVALID_OR_MISSING_CLIENT_CERT; {client_cert_sha256_fingerprint} is base64.
        case FrontEnd::gcp:
            return {gcp_verdict, FingerprintSource{"X-Client-Cert-Hash", DigestAlgorithm::sha256}, true};
        // The RFC 9440 fields are filled valid or not; the managed transform "Add TLS client auth
        // headers" sends the verdict and the fingerprint.
        case FrontEnd::cloudflare:
            return {cloudflare_verdict, FingerprintSource{"cf-cert-fingerprint-sha256", DigestAlgorithm::sha256}, true};
        // auth-tls-verify-client optional_no_ca forwards what it did not verify.
        case FrontEnd::ingress_nginx: return {ingress_nginx_verdict, std::nullopt, true};
        // The mtls-auth plugin refuses what nginx did not verify; $ssl_client_fingerprint is SHA-1.
        case FrontEnd::kong: return {{}, FingerprintSource{"X-Client-Cert-Fingerprint", DigestAlgorithm::sha1}, false};
    }
    return {};
}

}  // namespace arrcert
