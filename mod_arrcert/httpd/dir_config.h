// Per-directory configuration: what the directives of one scope say (DirSettings), merged inner
// over outer, and what that resolves to for requests (Scope). Free of httpd types, so that the
// merge and the defaults are unit-tested directly (tests/unit/dir_config_test.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "arrcert/crl_fetch.h"
#include "arrcert/decode.h"
#include "arrcert/dn_pattern.h"
#include "arrcert/ocsp.h"
#include "arrcert/revocation.h"
#include "arrcert/rules.h"
#include "arrcert/thumbprint.h"
#include "arrcert/trust_store.h"
#include "arrcert/variables.h"

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

// ArrCertRelayHeaders: what the certificate headers of a request that this httpd relays itself
// (mod_proxy) hold: nothing, or exactly what the trusted front end sent.
enum class RelayHeaders : unsigned char { none, front_end };

enum OptionBits : unsigned { option_std_env_vars = 1U, option_export_cert_data = 2U };

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

    [[nodiscard]] HeaderSettings resolve() const noexcept;
};

// What one scope's directives say. Not set means "inherit", written one way per kind: scalars are
// std::optional; what lives in a configuration pool (lists, stores, strings) is a pointer, null
// when not set. An inner scope's value, list included, replaces the outer one. The directives of a
// scope build its own lists and stores; requests read them only through the resolved Scope.
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
    // The ArrCertOCSP* directives, each inherited on its own (a section that tunes one keeps the
    // others, ArrCertOCSPEnable included).
    std::optional<OcspEnable> ocsp_enable;
    const char* ocsp_default_responder = nullptr;
    std::optional<bool> ocsp_override_responder;
    std::optional<int> ocsp_timeout;
    std::optional<std::int64_t> ocsp_max_age;
    std::optional<std::int64_t> ocsp_time_skew;
    std::optional<bool> ocsp_use_nonce;
    STACK_OF(X509) * ocsp_responder_certs = nullptr;  // with its identity
    const char* ocsp_responder_certs_identity = nullptr;
};

DirSettings merge(const DirSettings& outer, const DirSettings& inner);

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
    OcspPolicy ocsp;  // mode off: no OCSP

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
