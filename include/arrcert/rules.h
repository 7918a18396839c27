// The rules of one configuration scope, and the verdict they give a header value.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "arrcert/alt_names.h"
#include "arrcert/dn_pattern.h"
#include "arrcert/thumbprint.h"
#include "arrcert/trust_store.h"
#include "arrcert/variables.h"

namespace arrcert {

enum class VerifyMode { none, optional, require, optional_no_ca };

// Which check decided a refusal; named in the log line.
// `trust`: neither a CA nor a pin is configured, and ArrCertAcceptUnverified does not say that
// is wanted.
enum class Rule { none, header, certificate, validity, chain, thumbprint, issuer, subject, san, trust };
inline constexpr Rule last_rule = Rule::trust;
std::string_view rule_name(Rule rule) noexcept;

// A view of rules owned by the configuration; built once at start-up, only read per request.
struct RuleSet {
    std::span<const Thumbprint> thumbprints;  // any one may match; empty: no pin
    std::span<const DnPattern> issuers;       // any one may match; empty: no rule
    std::span<const DnPattern> subjects;
    std::span<const AltNamePattern> alt_names;  // any one may match; empty: no rule
    ChainCheck chain;                           // chain.trust null: no chain verification
    // Without a CA or pins nothing proves a certificate genuine: refused unless this says the
    // front end verifies (ArrCertAcceptUnverified).
    bool accept_unverified = false;
    // The variables of a refused certificate are made only where something reports them
    // (optional_no_ca) and accept_unverified says its unverified names may be read; elsewhere a
    // refusal costs no more than the check that refuses it.
    bool report_refusals = false;
};

// What the rules say of one header value. Pure data: it holds no OpenSSL object, so it can be
// kept and shared after the certificate is gone. The leaf's validity window is not judged here
// but by decide(), at each use; the chain is verified at the time given to judge().
struct Verdict {
    enum class Kind { absent, malformed, judged };

    Kind kind = Kind::absent;
    Rule failed_rule = Rule::none;  // the first failed rule; none when all passed
    std::string reason;             // OpenSSL-style reason for FAILED:<reason> and the log: fixed text
    std::string detail;             // the client's text behind a malformed header: the log only
    std::string warning;            // let through all the same (OCSP soft_fail): logged, and ARRCERT_OCSP_SOFT_FAIL
    std::string_view format;        // how the header was read
    std::int64_t not_before = 0;    // UTC seconds
    std::int64_t not_after = 0;
    // When what the verdict was judged on ends: the earliest notAfter of the verified path and
    // nextUpdate of the CRLs that covered it. A cached verdict never outlives it.
    std::int64_t valid_until = no_end;
    Sha1 sha1{};
    Sha256 sha256{};
    std::string sha1_hex;
    std::string subject_dn;          // RFC 2253, as SSL_CLIENT_S_DN
    std::string issuer_dn;           // as SSL_CLIENT_I_DN (for the status page's inventory)
    DistinguishedName subject_name;  // for the name rules
    DistinguishedName issuer_name;
    AltNames alt_names;              // for the SAN rules
    CertificateVariables variables;  // empty unless judged, and for refusals unless reported

    static constexpr std::int64_t no_end = std::numeric_limits<std::int64_t>::max();
};

// The chain is verified at `now` clamped into the leaf's validity window, so that the clock skew
// that decide() allows the leaf does not fail the chain.
Verdict judge(const DecodedHeader& decoded, const RuleSet& rules, std::int64_t now);
inline Verdict judge(std::string_view header_value, const RuleSet& rules, std::int64_t now,
                     std::size_t max_header_length = default_max_header_length)
{
    return judge(decode_header(header_value, max_header_length), rules, now);
}

// The first of the thumbprint, issuer and subject rules that a judged certificate fails
// (Rule::none when all pass), with its reason. judge() applies it to the scope's rules; the
// authorization providers apply it to their own inline rules.
struct IdentityCheck {
    Rule failed = Rule::none;
    std::string_view reason;
};
IdentityCheck check_identity(const Verdict& verdict, const RuleSet& rules);

// The verdict at one moment: validity is checked here, against the request time.
struct Decision {
    enum class Outcome { none, success, failed };

    Outcome outcome = Outcome::none;
    Rule rule = Rule::none;
    std::string_view reason;  // points into the verdict or to a constant
};

Decision decide(const Verdict& verdict, std::int64_t now, std::int64_t clock_skew);

// Whether a request with this outcome may proceed under the mode.
bool permits(VerifyMode mode, Decision::Outcome outcome) noexcept;

}  // namespace arrcert
