// The SSL_CLIENT_* variables in mod_ssl's exact formats, for CGI, PHP and expressions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "arrcert/certificate.h"

namespace arrcert {

// What a certificate exports regardless of the request: everything but SSL_CLIENT_VERIFY and
// SSL_CLIENT_V_REMAIN, which depend on the rules' outcome and on the request time.
struct CertificateVariables {
    std::vector<std::pair<std::string, std::string>> standard;  // StdEnvVars
    std::string pem;                                            // SSL_CLIENT_CERT (ExportCertData)
};

// At most this many of each numbered name (SSL_CLIENT_SAN_DNS_n, SSL_CLIENT_S_DN_OU_n, ...): a
// certificate with thousands of SANs costs no more than one with a hundred.
inline constexpr std::size_t max_indexed_variables = 100;

CertificateVariables certificate_variables(const Certificate& certificate);

// SSL_CLIENT_S_DN: RFC 2253, UTF-8 kept, as mod_ssl prints it.
std::string subject_dn(const Certificate& certificate);

// The names of a client certificate's variables, in any case (as mod_ssl reads its names): mod_ssl's
// SSL_CLIENT_* and the module's own ARRCERT_*.
bool is_ssl_client_name(std::string_view name) noexcept;
bool is_arrcert_name(std::string_view name) noexcept;

// Whether the module can export a variable of this name (ArrCertExport, ArrCertUserName): the
// names of export_variables(), the numbered ones with n below max_indexed_variables.
bool is_exported_name(std::string_view name);

// SSL_CLIENT_V_REMAIN as mod_ssl computes it: whole days, "0" once expired.
std::string days_remaining(std::int64_t not_after, std::int64_t now);

struct ExportOptions {
    bool standard = true;      // StdEnvVars
    bool certificate = false;  // ExportCertData
};

}  // namespace arrcert
