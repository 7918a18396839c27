// Per-directory configuration: what the directives of one scope say (DirSettings), merged inner
// over outer, and what that resolves to for requests (Scope). Free of httpd types, so that the
// merge and the defaults are unit-tested directly (tests/unit/dir_config_test.cpp).
#pragma once

#include <cstddef>
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "arrcert/crl_fetch.h"
#include "arrcert/decode.h"
#include "arrcert/dn_pattern.h"
#include "arrcert/front_end_check.h"
#include "arrcert/ocsp.h"
#include "arrcert/revocation.h"
#include "arrcert/rules.h"
#include "arrcert/thumbprint.h"
#include "arrcert/trust_store.h"
#include "arrcert/variables.h"
#include "directive_row.h"

namespace arrcert::httpd {

// Where a directive was written, for the messages of the start-up check.
struct Origin {
    const char* file = nullptr;
    int line = 0;
    const char* what = nullptr;  // e.g. "ArrCertVerifyClient require"
};

struct OcspEnable {
    OcspMode mode = OcspMode::off;
    bool no_ocsp_for_cert_ok = false;
    bool soft_fail = false;
};

struct VerifyClient {
    VerifyMode mode = VerifyMode::none;
    Origin at;
};

// ArrCertOCSPResponderCertificateFile: the certificates, and their SHA-256 for the rules' fingerprint.
struct ResponderCertificates {
    STACK_OF(X509) * certificates = nullptr;
    const char* identity = nullptr;
};

// ArrCertRelayHeaders: what the certificate headers of a request that this httpd relays itself
// (mod_proxy) hold: nothing, or exactly what the trusted front end sent.
enum class RelayHeaders : unsigned char { none, front_end };

enum OptionBits : unsigned { option_std_env_vars = 1U, option_export_cert_data = 2U, option_cert_bound_tokens = 4U };

// ArrCertOptions, as mod_ssl's SSLOptions: a plain option makes the set absolute; +/- adjust the
// outer scope's set.
struct OptionChanges {
    std::optional<unsigned> absolute;
    unsigned add = 0;
    unsigned remove = 0;

    void set(unsigned bit, char sign) noexcept;  // sign '+', '-' or '\0'
    [[nodiscard]] OptionChanges over(const OptionChanges& outer) const noexcept;
    [[nodiscard]] ExportOptions resolve() const noexcept;  // default: StdEnvVars
};

// ArrCertHeader, ArrCertChainHeader and ArrCertFrontEnd of one scope: they merge as one unit, and an
// explicit header line overrides the preset's in the same scope.
struct HeaderChoice {
    std::optional<FrontEnd> front_end;
    const char* name = nullptr;  // null: the preset's
    HeaderFormat format = HeaderFormat::automatic;
    const char* chain_name = nullptr;
    HeaderFormat chain_format = HeaderFormat::automatic;
    Origin front_end_at;  // the ArrCertFrontEnd line, for the start-up check's messages

    [[nodiscard]] HeaderSettings resolve() const noexcept;
};

// ArrCertFingerprintHeader: a header and its digest, or none (off, the preset's dropped).
struct FingerprintChoice {
    bool off = false;
    FingerprintSource source;
};

// What one scope's directives say. Not set means "inherit", written one way per kind (the same
// in ServerConfig): scalars are std::optional; what lives in a configuration pool (lists, stores,
// strings) is a pointer, null when not set. An inner scope's value, list included, replaces the outer one. The
// directives of a scope build its own lists and stores; requests read them only through the resolved Scope.
struct DirSettings {
    std::optional<VerifyClient> verify_client;
    std::optional<Origin> require_at;  // a Require arrcert line that relies on the scope's trust
    std::optional<bool> accept_unverified;
    std::vector<Thumbprint>* thumbprints = nullptr;
    std::vector<DnPattern>* issuers = nullptr;
    std::vector<DnPattern>* subjects = nullptr;
    std::vector<AltNamePattern>* alt_names = nullptr;
    std::optional<std::int64_t> clock_skew;
    std::optional<HeaderChoice> headers;
    std::optional<XfccPick> xfcc_element;
    std::optional<std::size_t> max_header_length;
    OptionChanges options;
    const char* user_name = nullptr;
    std::vector<std::string>* export_names = nullptr;
    TrustStore* trust = nullptr;
    CrlSource* crls = nullptr;
    std::optional<RevocationPolicy> revocation;
    std::optional<int> verify_depth;
    std::optional<std::int64_t> crl_refresh;
    std::optional<bool> fetch_crls;     // ArrCertCARevocationFetch
    std::optional<bool> partial_chain;  // ArrCertVerifyPartialChain
    std::optional<RelayHeaders> relay_headers;
    // ArrCertVerdictHeader lines (all must hold), replacing the preset's; empty: "none".
    std::vector<VerdictLine>* verdicts = nullptr;
    std::optional<FingerprintChoice> fingerprint;  // ArrCertFingerprintHeader, replacing the preset's
    // The ArrCertOCSP* directives, each inherited on its own (a section that tunes one keeps the
    // others, ArrCertOCSPEnable included).
    std::optional<OcspEnable> ocsp_enable;
    const char* ocsp_default_responder = nullptr;
    std::optional<bool> ocsp_override_responder;
    std::optional<int> ocsp_timeout;
    std::optional<std::int64_t> ocsp_max_age;
    std::optional<std::int64_t> ocsp_time_skew;
    std::optional<bool> ocsp_use_nonce;
    std::optional<ResponderCertificates> ocsp_responder_certs;
};

// Every field of DirSettings, for merge(): the inner scope's value where it has one, else the
// outer's (options merge as mod_ssl's SSLOptions do). dir_config_test.cpp checks none is missing.
inline constexpr auto merged_fields = std::tuple{
    &DirSettings::verify_client,
    &DirSettings::require_at,
    &DirSettings::accept_unverified,
    &DirSettings::thumbprints,
    &DirSettings::issuers,
    &DirSettings::subjects,
    &DirSettings::alt_names,
    &DirSettings::clock_skew,
    &DirSettings::headers,
    &DirSettings::xfcc_element,
    &DirSettings::max_header_length,
    &DirSettings::user_name,
    &DirSettings::export_names,
    &DirSettings::trust,
    &DirSettings::crls,
    &DirSettings::revocation,
    &DirSettings::verify_depth,
    &DirSettings::crl_refresh,
    &DirSettings::fetch_crls,
    &DirSettings::partial_chain,
    &DirSettings::relay_headers,
    &DirSettings::verdicts,
    &DirSettings::fingerprint,
    &DirSettings::ocsp_enable,
    &DirSettings::ocsp_default_responder,
    &DirSettings::ocsp_override_responder,
    &DirSettings::ocsp_timeout,
    &DirSettings::ocsp_max_age,
    &DirSettings::ocsp_time_skew,
    &DirSettings::ocsp_use_nonce,
    &DirSettings::ocsp_responder_certs,
};

DirSettings merge(const DirSettings& outer, const DirSettings& inner);

// The keyword sets of the per-directory directives: parsing, messages and help texts.
inline constexpr std::array<Keyword<VerifyMode>, 4> verify_modes{{
    {"none", VerifyMode::none},
    {"optional", VerifyMode::optional},
    {"require", VerifyMode::require},
    {"optional_no_ca", VerifyMode::optional_no_ca},
}};
inline constexpr std::array<Keyword<XfccPick>, 2> xfcc_picks{{{"first", XfccPick::first}, {"last", XfccPick::last}}};
inline constexpr std::array<Keyword<RevocationCheck>, 3> revocation_checks{{
    {"chain", RevocationCheck::chain},
    {"leaf", RevocationCheck::leaf},
    {"none", RevocationCheck::none},
}};
inline constexpr std::array<Keyword<OcspMode>, 3> ocsp_modes{{
    {"on", OcspMode::on},
    {"leaf", OcspMode::leaf},
    {"off", OcspMode::off},
}};
inline constexpr std::array<Keyword<RelayHeaders>, 2> relay_modes{{
    {"none", RelayHeaders::none},
    {"front-end", RelayHeaders::front_end},
}};
inline constexpr std::array<Keyword<unsigned>, 3> option_names{{
    {"StdEnvVars", option_std_env_vars},
    {"ExportCertData", option_export_cert_data},
    {"CertBoundTokens", option_cert_bound_tokens},
}};

// The per-directory directives that take on|off, a bounded number or a keyword: their rows. The
// command table lists them (command_table.cpp); resolve() takes their defaults from here.
namespace dir_rows {
using Settings = DirSettings;
inline constexpr FlagRow<Settings> accept_unverified{
    "ArrCertAcceptUnverified", &Settings::accept_unverified, false, Where::admin_only,
    "accept certificates that no CA or pin verifies, because the front end verifies them"};
inline constexpr FlagRow<Settings> fetch_crls{
    "ArrCertCARevocationFetch", &Settings::fetch_crls, false, Where::admin_only,
    "fetch CRLs from the http:// CRL Distribution Points of the certificates verified"};
inline constexpr FlagRow<Settings> partial_chain{
    "ArrCertVerifyPartialChain", &Settings::partial_chain, false, Where::admin_only,
    "an intermediate of ArrCertCACertificateFile/Path may be the trust anchor"};
inline constexpr FlagRow<Settings> ocsp_override_responder{
    "ArrCertOCSPOverrideResponder", &Settings::ocsp_override_responder, false, Where::admin_only,
    "ask the default responder even where a certificate names one"};
inline constexpr FlagRow<Settings> ocsp_use_nonce{"ArrCertOCSPUseRequestNonce", &Settings::ocsp_use_nonce, true,
                                                  Where::admin_only, "send a nonce and require it back"};
inline constexpr NumberRow<Settings, int> ocsp_timeout{"ArrCertOCSPResponderTimeout",
                                                       &Settings::ocsp_timeout,
                                                       1,
                                                       300,
                                                       "seconds",
                                                       OcspPolicy{}.timeout_seconds,
                                                       Where::admin_only,
                                                       "SECONDS",
                                                       "how long a request waits for the responder"};
inline constexpr NumberRow<Settings, std::int64_t> ocsp_max_age{
    "ArrCertOCSPResponseMaxAge",
    &Settings::ocsp_max_age,
    -1,
    31536000,
    "seconds",
    OcspPolicy{}.max_age,
    Where::admin_only,
    "SECONDS|-1",
    "the oldest response taken, in seconds since its thisUpdate; -1: no limit"};
inline constexpr NumberRow<Settings, std::int64_t> ocsp_time_skew{"ArrCertOCSPResponseTimeSkew",
                                                                  &Settings::ocsp_time_skew,
                                                                  0,
                                                                  86400,
                                                                  "seconds",
                                                                  OcspPolicy{}.time_skew,
                                                                  Where::admin_only,
                                                                  "SECONDS",
                                                                  "the clock difference allowed with the responder"};
inline constexpr NumberRow<Settings, std::int64_t> clock_skew{"ArrCertClockSkew",
                                                              &Settings::clock_skew,
                                                              0,
                                                              86400,
                                                              "seconds",
                                                              0,
                                                              Where::admin_only,
                                                              "SECONDS",
                                                              "how far both ends of the validity window are widened"};
inline constexpr KeywordRow<Settings, XfccPick, 2> xfcc_element{
    "ArrCertXfccElement", &Settings::xfcc_element, &xfcc_picks,
    XfccPick::last,       Where::admin_only,       "which X-Forwarded-Client-Cert element to use"};
inline constexpr NumberRow<Settings, std::size_t> max_header_length{"ArrCertMaxHeaderLength",
                                                                    &Settings::max_header_length,
                                                                    1,
                                                                    std::int64_t{1} << 20,
                                                                    "bytes",
                                                                    default_max_header_length,
                                                                    Where::admin_only,
                                                                    "BYTES",
                                                                    "the largest header value accepted"};
inline constexpr NumberRow<Settings, int> verify_depth{
    "ArrCertVerifyDepth",
    &Settings::verify_depth,
    1,
    100,
    "certificates",
    default_verify_depth,
    Where::admin_only,
    "N",
    "how many certificates may stand above the leaf, the root included"};
inline constexpr NumberRow<Settings, std::int64_t> crl_refresh{"ArrCertCARevocationRefresh",
                                                               &Settings::crl_refresh,
                                                               1,
                                                               86400,
                                                               "seconds",
                                                               default_crl_refresh_seconds,
                                                               Where::admin_only,
                                                               "SECONDS",
                                                               "the time between looks at the CRL files"};
inline constexpr KeywordRow<Settings, RelayHeaders, 2> relay_headers{
    "ArrCertRelayHeaders",
    &Settings::relay_headers,
    &relay_modes,
    RelayHeaders::none,
    Where::admin_only,
    "what the certificate headers of a request that this httpd relays (mod_proxy to an HTTP backend) hold: "
    "nothing, or exactly what the trusted front end sent"};
// Every row above (tests/unit/directive_rows_test.cpp checks each against the module and the reference).
inline constexpr auto all = std::tie(accept_unverified, fetch_crls, partial_chain, ocsp_override_responder,
                                     ocsp_use_nonce, ocsp_timeout, ocsp_max_age, ocsp_time_skew, clock_skew,
                                     xfcc_element, max_header_length, verify_depth, crl_refresh, relay_headers);
}  // namespace dir_rows

// The process's online revocation sources, for the scopes that use them.
struct OnlineSources {
    CrlFetcher* crl_fetcher = nullptr;
    OcspClient* ocsp_client = nullptr;
};

// What requests read: the settings with every default applied, resolved once per merged
// configuration and never changed.
struct Scope {
    VerifyMode mode = VerifyMode::none;
    Origin mode_at;
    std::optional<Origin> require_at;
    HeaderSettings headers;
    XfccPick xfcc_element = XfccPick::last;
    std::size_t max_header_length = default_max_header_length;
    std::int64_t clock_skew = 0;
    ExportOptions exports;
    const char* user_name = nullptr;                         // null: none
    const std::vector<std::string>* export_names = nullptr;  // null: all
    bool accept_unverified = false;
    std::span<const Thumbprint> thumbprints;
    std::span<const DnPattern> issuers;
    std::span<const DnPattern> subjects;
    std::span<const AltNamePattern> alt_names;
    const TrustStore* trust = nullptr;
    CrlSource* crls = nullptr;    // reloads its files when a request finds them changed
    RevocationPolicy revocation;  // chain once CRLs are configured, else none
    int verify_depth = default_verify_depth;
    std::int64_t crl_refresh = default_crl_refresh_seconds;
    bool fetch_crls = false;
    bool partial_chain = false;
    RelayHeaders relay_headers = RelayHeaders::none;
    bool passthrough = false;  // the preset's front end can forward what it did not verify
    // What the front end says of its own check: its verdict lines (all must hold, before anything
    // else is checked) and the fingerprint it sends.
    std::span<const VerdictLine> verdicts;
    std::optional<FingerprintSource> fingerprint;
    Origin front_end_at;  // its ArrCertFrontEnd line
    OcspPolicy ocsp;      // mode off: no OCSP
    // Unique to this resolution in the process. What outlives a request (a connection's memo)
    // compares this, never the address: a scope merged for one request lives in its pool, and the
    // next request's merge may be placed at the same address with other rules.
    std::uint64_t identity = 0;

    // The rules of this scope, with the CRLs in force for the request and the process's online
    // sources (used where the scope fetches CRLs or asks OCSP).
    [[nodiscard]] RuleSet rules(const CrlSnapshot* crl_snapshot, OnlineSources online = {}) const noexcept;
    // What a verdict under `rules` (this scope's) depends on besides the header values: its key.
    [[nodiscard]] std::string verdict_fingerprint(const RuleSet& rules) const;
    // The same in `buffer` when it fits, else in `spill`.
    [[nodiscard]] std::string_view verdict_fingerprint(const RuleSet& rules, std::span<char> buffer,
                                                       std::string& spill) const;
    // Whether the scope can grant access by a certificate, and whether anything proves one genuine.
    [[nodiscard]] bool checks_certificates() const noexcept { return mode != VerifyMode::none || require_at; }
    [[nodiscard]] bool has_trust() const noexcept
    {
        // optional_no_ca lets through what no CA verified, whatever is configured: every name
        // there is unverified unless the administrator says the front end verified it.
        return accept_unverified || (mode != VerifyMode::optional_no_ca && (trust != nullptr || !thumbprints.empty()));
    }
};

Scope resolve(const DirSettings& settings);

// What httpd keeps per scope: placed in a pool, which runs no destructor.
struct DirConfig {
    DirSettings settings;
    Scope scope;
    // Whether anything wrote its settings (else they are the defaults, which merge to the other
    // side unchanged): every writer goes through settle().
    bool written = false;

    void settle()
    {
        scope = resolve(settings);
        written = true;
    }
};
static_assert(std::is_trivially_destructible_v<DirConfig>);

}  // namespace arrcert::httpd
