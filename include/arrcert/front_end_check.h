// What a front end says of its own check of a certificate, and whether it holds: its verdict
// (ArrCertVerdictHeader) and the fingerprint it sends (ArrCertFingerprintHeader, Envoy's XFCC
// Hash), compared with the decoded certificate's. Free of httpd: the glue passes header values.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "arrcert/certificate.h"
#include "arrcert/decode.h"

namespace arrcert {

// The fixed reasons of these checks' refusals (FAILED:<reason>, the log).
inline constexpr std::string_view front_end_unverified = "front end did not verify the certificate";
inline constexpr std::string_view fingerprint_mismatch = "certificate does not match the front end's fingerprint";
inline constexpr std::string_view fingerprint_absent = "front end sent no fingerprint of the certificate";
inline constexpr std::string_view fingerprint_malformed = "front end's fingerprint of the certificate is malformed";

// ArrCertVerdictHeader NAME VALUE...: the header and the values that mean "verified". An empty
// accepted value stands for an empty header or none at all (Google's X-Client-Cert-Error).
struct VerdictLine {
    std::string_view header;
    std::span<const std::string_view> accepted;
};

// Whether `value` (nullopt: the header is absent) is one of `accepted`: whitespace around it
// ignored, ASCII case ignored, nothing else (two lines joined by ", " match nothing).
bool verdict_holds(std::optional<std::string_view> value, std::span<const std::string_view> accepted) noexcept;

// Whether a certificate header's value carries a certificate at all: the verdict is about one.
bool carries_certificate(std::optional<std::string_view> value) noexcept;

enum class DigestAlgorithm { sha1, sha256 };
std::optional<DigestAlgorithm> digest_algorithm_named(std::string_view name) noexcept;  // sha1|sha256, any case

// ArrCertFingerprintHeader NAME sha1|sha256. `header` empty: the XFCC element's Hash field.
struct FingerprintSource {
    std::string_view header;
    DigestAlgorithm algorithm = DigestAlgorithm::sha256;
};

// The bytes of a fingerprint as front ends write it: hex (any case, ':' between bytes or not),
// base64 or base64url (padded or not); refused unless it is exactly `size` bytes.
Result<std::string> parse_fingerprint(std::string_view text, std::size_t size);

enum class FingerprintCheck { match, mismatch, absent, malformed };
// The front end's fingerprint (nullopt or empty: absent) against the certificate's digests.
FingerprintCheck check_fingerprint(std::optional<std::string_view> sent, DigestAlgorithm algorithm, const Sha1& sha1,
                                   const Sha256& sha256);
// The reason of a failed check (empty for match).
std::string_view fingerprint_reason(FingerprintCheck check) noexcept;

// The Hash field of the XFCC element that `pick` chooses; nullopt where there is none or the
// header does not parse (the decoder refuses it then).
std::optional<std::string> xfcc_hash(std::string_view value, XfccPick pick);

// What a preset (ArrCertFrontEnd) says of the front end's own checks.
struct FrontEndChecks {
    std::span<const VerdictLine> verdicts;  // all must hold; empty: it sends no verdict
    std::optional<FingerprintSource> fingerprint;
    // It has a mode that forwards certificates it did not verify: ArrCertAcceptUnverified there
    // needs a verdict header.
    bool passthrough = false;
};
FrontEndChecks front_end_checks(std::optional<FrontEnd> front_end) noexcept;

}  // namespace arrcert
