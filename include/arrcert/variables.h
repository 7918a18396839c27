// The SSL_CLIENT_* variables in mod_ssl's exact formats, for CGI, PHP and expressions.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "arrcert/alt_names.h"
#include "arrcert/certificate.h"

namespace arrcert {

// What a certificate exports regardless of the request: everything but SSL_CLIENT_VERIFY and
// SSL_CLIENT_V_REMAIN, which depend on the rules' outcome and on the request time.
struct CertificateVariables {
    using Variables = std::vector<std::pair<std::string, std::string>>;
    Variables standard;              // StdEnvVars
    std::string pem;                 // SSL_CLIENT_CERT (ExportCertData)
    std::vector<std::string> chain;  // SSL_CLIENT_CERT_CHAIN_n (ExportCertData): intermediates as sent
    Variables lookup_only;           // what mod_ssl answers to a lookup but never exports (_RAW, dnsSRV)

    // `standard` laid out once as "name\0value\0..." with each pair's offsets: an export copies
    // the block in one move rather than each string. Made by seal(), after `standard` is complete.
    struct Block {
        std::string bytes;
        std::vector<std::pair<std::uint32_t, std::uint32_t>> offsets;  // of each name and its value
    };
    Block block;
    void seal();
    // Whether the block is that of `standard` (seal() ran since it last grew).
    [[nodiscard]] bool sealed() const noexcept { return block.offsets.size() == standard.size(); }
};

// At most this many of each numbered name (SSL_CLIENT_SAN_DNS_n, SSL_CLIENT_S_DN_OU_n, ...): a
// certificate with thousands of SANs costs no more than one with a hundred.
inline constexpr std::size_t max_indexed_variables = 100;

// `intermediates`: the DER certificates that came with the leaf, in the order they came.
CertificateVariables certificate_variables(const Certificate& certificate, std::span<const Der> intermediates = {});

// SSL_CLIENT_S_DN: RFC 2253, UTF-8 kept, as mod_ssl prints it.
std::string subject_dn(const Certificate& certificate);
std::string issuer_dn(const Certificate& certificate);

// The names of a client certificate's variables, in any case (as mod_ssl reads its names): mod_ssl's
// SSL_CLIENT_* and the module's own ARRCERT_*.
bool is_ssl_client_name(std::string_view name) noexcept;
bool is_arrcert_name(std::string_view name) noexcept;

// Whether the module can export a variable of this name (ArrCertExport, ArrCertUserName): the
// names of export_variables(), the numbered ones with n below max_indexed_variables.
bool is_exported_name(std::string_view name);

// The name under which a lookup finds a value, as mod_ssl's ssl_var_lookup reads names:
// SSL_CLIENT_ in any case, S_DN_/I_DN_ attributes case-sensitive with their alias SP, an _n index
// (n=0 is the unsuffixed name, leading zeros allowed), _RAW; SAN_Email_n, SAN_DNS_n,
// SAN_OTHER_msUPN_n and SAN_OTHER_dnsSRV_n; every fixed name in any case. The canonical name is the
// exported one (or a lookup_only one); nullopt for a name mod_ssl would not answer.
struct LookupName {
    std::string name;
    bool raw = false;  // _RAW: the lookup_only value when there is one, else the exported one
};
std::optional<LookupName> lookup_name(std::string_view name);

// SSL_CLIENT_V_REMAIN as mod_ssl computes it: whole days, "0" once expired.
std::string days_remaining(std::int64_t not_after, std::int64_t now);

struct ExportOptions {
    bool standard = true;      // StdEnvVars
    bool certificate = false;  // ExportCertData
    bool bound_token = false;  // CertBoundTokens: TB_SSL_CLIENT_CERT_FINGERPRINT, verified certificates only
};

}  // namespace arrcert
