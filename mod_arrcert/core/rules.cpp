#include "arrcert/rules.h"

#include <openssl/x509_vfy.h>

#include <algorithm>
#include <span>
#include <vector>

#include "arrcert/certificate.h"
#include "arrcert/chain_guard.h"

namespace arrcert {
namespace {

Verdict refuse(Verdict verdict, Rule rule, std::string reason)
{
    verdict.failed_rule = rule;
    verdict.reason = std::move(reason);
    return verdict;
}

template <class Range, class Predicate>
bool any_or_empty(const Range& range, Predicate predicate)
{
    return range.empty() || std::any_of(range.begin(), range.end(), predicate);
}

struct ChainCheckResult {
    Rule failed = Rule::none;  // chain
    std::string reason;
    std::int64_t valid_until = Verdict::no_end;
    std::string warning;
};

// The leaf with the intermediates sent after it, verified by OpenSSL at `at`.
ChainCheckResult check_chain(const ChainCheck& check, const Certificate& leaf,
                             const std::vector<Certificate>& intermediates, std::int64_t at, std::int64_t now)
{
    std::vector<X509*> untrusted;
    untrusted.reserve(intermediates.size());
    for (const Certificate& intermediate : intermediates) {
        untrusted.push_back(intermediate.x509());
    }
    ChainVerdict chain = verify_chain(check, leaf.x509(), untrusted, at, now);
    if (!chain.error.empty()) {
        return {Rule::chain, std::move(chain.error), chain.valid_until, {}};
    }
    return {Rule::none, {}, chain.valid_until, std::move(chain.warning)};
}

}  // namespace

std::string_view rule_name(Rule rule) noexcept
{
    switch (rule) {
        case Rule::none: return "none";
        case Rule::header: return "header";
        case Rule::certificate: return "certificate";
        case Rule::validity: return "validity";
        case Rule::chain: return "chain";
        case Rule::thumbprint: return "thumbprint";
        case Rule::issuer: return "issuer";
        case Rule::subject: return "subject";
        case Rule::san: return "san";
        case Rule::trust: return "trust";
    }
    return "unknown";
}

Verdict judge(const DecodedHeader& decoded, const RuleSet& rules, std::int64_t now)
{
    Verdict verdict;
    verdict.format = decoded.format;
    if (decoded.status == DecodedHeader::Status::absent) {
        return verdict;
    }
    if (decoded.status == DecodedHeader::Status::malformed || decoded.chain.empty()) {
        verdict.kind = Verdict::Kind::malformed;
        verdict.detail = decoded.detail;
        return refuse(std::move(verdict), Rule::header,
                      "malformed certificate header: " + (decoded.chain.empty() && decoded.reason.empty()
                                                              ? std::string("no certificate in it")
                                                              : decoded.reason));
    }
    // A chain longer than the depth allows could never verify: refused before any is parsed.
    if (rules.chain.trust != nullptr && decoded.chain.size() - 1 > static_cast<std::size_t>(rules.chain.depth)) {
        verdict.kind = Verdict::Kind::malformed;
        return refuse(std::move(verdict), Rule::chain, X509_verify_cert_error_string(X509_V_ERR_CERT_CHAIN_TOO_LONG));
    }
    auto certificate = Certificate::parse(decoded.chain.front());
    if (!certificate) {
        verdict.kind = Verdict::Kind::malformed;
        return refuse(std::move(verdict), Rule::certificate, "malformed certificate: " + certificate.error());
    }

    // What every rule and the log line need; the variables come last, once the rules passed.
    verdict.kind = Verdict::Kind::judged;
    verdict.not_before = certificate->not_before();
    verdict.not_after = certificate->not_after();
    verdict.sha1 = certificate->sha1();
    verdict.sha256 = certificate->sha256();
    verdict.sha1_hex = to_hex(verdict.sha1);
    verdict.subject_dn = subject_dn(certificate.value());
    verdict.issuer_dn = issuer_dn(certificate.value());
    verdict.subject_name = distinguished_name(X509_get_subject_name(certificate->x509()));
    verdict.issuer_name = distinguished_name(X509_get_issuer_name(certificate->x509()));
    verdict.alt_names = alt_names(certificate->x509());
    const std::span<const Der> intermediates = std::span(decoded.chain).subspan(1);
    const auto refuse_judged = [&](Rule rule, std::string reason) {
        // A refused certificate's names are unverified: reported only where the administrator
        // accepted that (optional_no_ca with ArrCertAcceptUnverified), whatever the scope merge.
        if (rules.report_refusals && rules.accept_unverified) {
            verdict.variables = certificate_variables(certificate.value(), intermediates);
        }
        return refuse(std::move(verdict), rule, std::move(reason));
    };

    if (rules.chain.trust == nullptr && rules.thumbprints.empty() && !rules.accept_unverified) {
        return refuse_judged(Rule::trust, "no CA or pinned thumbprint is configured to verify the certificate with");
    }
    if (rules.chain.trust == nullptr && rules.chain.ocsp != nullptr && rules.chain.ocsp->mode != OcspMode::off) {
        return refuse_judged(Rule::chain, "OCSP checking needs ArrCertCACertificateFile or ArrCertCACertificatePath");
    }
    if (rules.chain.trust == nullptr && rules.chain.revocation.check != RevocationCheck::none) {
        return refuse_judged(Rule::chain,
                             "revocation checking needs ArrCertCACertificateFile or ArrCertCACertificatePath");
    }
    // Before the intermediates are parsed: a chain carrying a key that would be refused anyway
    // costs no more than an ordinary refusal.
    if (rules.chain.trust != nullptr && !std::all_of(intermediates.begin(), intermediates.end(), [](const Der& der) {
            return key_within_limits(std::span<const unsigned char>(der));
        })) {
        return refuse_judged(Rule::chain, std::string(oversized_key_reason));
    }
    // Parsed once, verified or not: unverified, the intermediates still become
    // SSL_CLIENT_CERT_CHAIN_n, so each must be a certificate or the numbering would not be what was sent.
    std::vector<Certificate> parsed_intermediates;
    parsed_intermediates.reserve(intermediates.size());
    for (std::size_t i = 0; i < intermediates.size(); ++i) {
        auto parsed = Certificate::parse(intermediates[i]);
        if (!parsed) {
            return refuse_judged(Rule::certificate,
                                 "malformed chain certificate " + std::to_string(i + 1) + ": " + parsed.error());
        }
        parsed_intermediates.push_back(std::move(parsed.value()));
    }
    if (rules.chain.trust != nullptr) {
        const std::int64_t at = std::clamp(now, verdict.not_before, verdict.not_after);
        ChainCheckResult chain = check_chain(rules.chain, certificate.value(), parsed_intermediates, at, now);
        if (chain.failed != Rule::none) {
            verdict.valid_until = chain.valid_until;
            return refuse_judged(chain.failed, std::move(chain.reason));
        }
        verdict.valid_until = chain.valid_until;
        verdict.warning = std::move(chain.warning);
    }
    const IdentityCheck identity = check_identity(verdict, rules);
    if (identity.failed != Rule::none) {
        return refuse_judged(identity.failed, std::string(identity.reason));
    }
    verdict.variables = certificate_variables(certificate.value(), intermediates);
    return verdict;
}

IdentityCheck check_identity(const Verdict& verdict, const RuleSet& rules)
{
    if (verdict.kind != Verdict::Kind::judged) {
        return {Rule::certificate, "no certificate"};
    }
    if (!any_or_empty(rules.thumbprints,
                      [&](const Thumbprint& t) { return t.matches(verdict.sha1, verdict.sha256); })) {
        return {Rule::thumbprint, "certificate thumbprint is not pinned"};
    }
    if (!any_or_empty(rules.issuers, [&](const DnPattern& p) { return p.matches(verdict.issuer_name); })) {
        return {Rule::issuer, "issuer does not match"};
    }
    if (!any_or_empty(rules.subjects, [&](const DnPattern& p) { return p.matches(verdict.subject_name); })) {
        return {Rule::subject, "subject does not match"};
    }
    if (!any_or_empty(rules.alt_names, [&](const AltNamePattern& p) { return p.matches(verdict.alt_names); })) {
        return {Rule::san, "subject alternative name does not match"};
    }
    return {};
}

Decision decide(const Verdict& verdict, std::int64_t now, std::int64_t clock_skew)
{
    if (verdict.kind == Verdict::Kind::absent) {
        return {Decision::Outcome::none, Rule::none, {}};
    }
    if (verdict.kind == Verdict::Kind::judged) {
        if (now + clock_skew < verdict.not_before) {
            return {Decision::Outcome::failed, Rule::validity,
                    X509_verify_cert_error_string(X509_V_ERR_CERT_NOT_YET_VALID)};
        }
        if (now - clock_skew > verdict.not_after) {
            return {Decision::Outcome::failed, Rule::validity,
                    X509_verify_cert_error_string(X509_V_ERR_CERT_HAS_EXPIRED)};
        }
    }
    if (verdict.failed_rule != Rule::none) {
        return {Decision::Outcome::failed, verdict.failed_rule, verdict.reason};
    }
    return {Decision::Outcome::success, Rule::none, {}};
}

bool permits(VerifyMode mode, Decision::Outcome outcome) noexcept
{
    switch (mode) {
        case VerifyMode::none:
        case VerifyMode::optional_no_ca: return true;
        case VerifyMode::optional: return outcome != Decision::Outcome::failed;
        case VerifyMode::require: return outcome == Decision::Outcome::success;
    }
    return false;
}

}  // namespace arrcert
