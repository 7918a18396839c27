// The command table: every directive, the scopes it is allowed in, and its help text (made from
// the keyword tables). What each directive does is in directives.cpp (per directory),
// server_config.cpp (caches) and trusted_proxy.cpp.
#include <httpd.h>
#include <http_config.h>

#include <string>

#include "directive_values.h"
#include "directives.h"
#include "relay.h"
#include "server_config.h"
#include "status.h"
#include "trusted_proxy.h"

namespace arrcert::httpd {
namespace {

template <class Handler>
cmd_func as_cmd_func(Handler handler)
{
    // cmd_func is "const char *(*)()" in C++: go through the generic function pointer type.
    return reinterpret_cast<cmd_func>(reinterpret_cast<void (*)()>(handler));
}

// Help texts, shown by httpd -L and in httpd's arity errors, and the source of the directive
// reference (make docs): "SYNTAX[ (default VALUE[; server config only])]: what it does". The
// keyword lists come from the tables the handlers parse with.
const std::string verify_client_help =
    keyword_list(verify_modes, "|", "|") + " (default none): whether a forwarded client certificate is needed";
const std::string header_help =
    "NAME [FORMAT] (default X-ARR-ClientCert auto): the request header that carries the "
    "certificate, and its FORMAT (" +
    header_format_list("|", "|") + ")";
const std::string chain_header_help =
    "NAME [FORMAT]: a separate request header that carries the intermediates (FORMAT as for ArrCertHeader)";
const std::string front_end_help = front_end_list("|", "|") + ": the header names and formats that front end uses";
const std::string xfcc_help =
    keyword_list(xfcc_picks, "|", "|") + " (default last): which X-Forwarded-Client-Cert element to use";
const std::string options_help = "[+|-]OPTION ... (default +StdEnvVars): what is exported, as SSLOptions (OPTION " +
                                 keyword_list(option_names, "|", "|") + ")";
const std::string revocation_help = keyword_list(revocation_checks, "|", "|") +
                                    " [no_crl_for_cert_ok] (default chain once CRLs are configured, else none): "
                                    "whose CRLs are checked";
const std::string relay_help =
    keyword_list(relay_modes, "|", "|") +
    " (default none): what the certificate headers of a request that this httpd relays (mod_proxy to an HTTP "
    "backend) hold: nothing, or exactly what the trusted front end sent";
const std::string ocsp_help = keyword_list(ocsp_modes, "|", "|") +
                              " [no_ocsp_for_cert_ok] [soft_fail] (default off): check certificates with their OCSP "
                              "responder";

// Verification (trust, pins, revocation, depth, validity, which header and element carries the
// certificate) is the administrator's, never .htaccess's: .htaccess may say whether a certificate
// is needed and what is exported, as it may with SSLVerifyClient and SSLOptions.
constexpr int htaccess_too = RSRC_CONF | ACCESS_CONF | OR_AUTHCFG;
constexpr int admin_only = RSRC_CONF | ACCESS_CONF;

}  // namespace

const command_rec directives[] = {
    AP_INIT_TAKE1("ArrCertVerifyClient", as_cmd_func(set_verify_client), nullptr, htaccess_too,
                  verify_client_help.c_str()),
    AP_INIT_FLAG("ArrCertAcceptUnverified", as_cmd_func(set_accept_unverified), nullptr, admin_only,
                 "on|off (default off): accept certificates that no CA or pin verifies, because the front end "
                 "verifies them"),
    AP_INIT_ITERATE("ArrCertThumbprint", as_cmd_func(add_thumbprint), nullptr, admin_only,
                    "HEX ...: SHA-1 or SHA-256 thumbprints of the certificates allowed; any may match"),
    AP_INIT_TAKE1("ArrCertIssuer", as_cmd_func(add_issuer), nullptr, htaccess_too,
                  "\"DN\": a DN whose attributes must all be in the certificate's issuer; repeatable, any may match"),
    AP_INIT_TAKE1("ArrCertSubject", as_cmd_func(add_subject), nullptr, htaccess_too,
                  "\"DN\": a DN whose attributes must all be in the certificate's subject; repeatable, any may match"),
    AP_INIT_FLAG("ArrCertCARevocationFetch", as_cmd_func(set_fetch_crls), nullptr, admin_only,
                 "on|off (default off): fetch CRLs from the http:// CRL Distribution Points of the certificates "
                 "verified"),
    AP_INIT_FLAG("ArrCertVerifyPartialChain", as_cmd_func(set_partial_chain), nullptr, admin_only,
                 "on|off (default off): an intermediate of ArrCertCACertificateFile/Path may be the trust anchor"),
    AP_INIT_TAKE_ARGV("ArrCertOCSPEnable", as_cmd_func(set_ocsp_enable), nullptr, admin_only, ocsp_help.c_str()),
    AP_INIT_TAKE1("ArrCertOCSPDefaultResponder", as_cmd_func(set_ocsp_default_responder), nullptr, admin_only,
                  "URL: the http:// responder for certificates that name none (or all, with the override)"),
    AP_INIT_FLAG("ArrCertOCSPOverrideResponder", as_cmd_func(set_ocsp_override_responder), nullptr, admin_only,
                 "on|off (default off): ask the default responder even where a certificate names one"),
    AP_INIT_TAKE1("ArrCertOCSPResponderTimeout", as_cmd_func(set_ocsp_timeout), nullptr, admin_only,
                  "SECONDS (default 10): how long a request waits for the responder"),
    AP_INIT_TAKE1("ArrCertOCSPResponseMaxAge", as_cmd_func(set_ocsp_max_age), nullptr, admin_only,
                  "SECONDS|-1 (default -1): the oldest response taken, in seconds since its thisUpdate; -1: no limit"),
    AP_INIT_TAKE1("ArrCertOCSPResponseTimeSkew", as_cmd_func(set_ocsp_time_skew), nullptr, admin_only,
                  "SECONDS (default 300): the clock difference allowed with the responder"),
    AP_INIT_FLAG("ArrCertOCSPUseRequestNonce", as_cmd_func(set_ocsp_nonce), nullptr, admin_only,
                 "on|off (default on): send a nonce and require it back"),
    AP_INIT_TAKE1("ArrCertOCSPResponderCertificateFile", as_cmd_func(set_ocsp_responder_certificates), nullptr,
                  admin_only, "FILE: PEM file of responder certificates trusted to sign responses"),
    AP_INIT_ITERATE("ArrCertSubjectAltName", as_cmd_func(add_alt_name), nullptr, htaccess_too,
                    "TYPE:VALUE ...: a subject alternative name the certificate must hold (TYPE "
                    "dns|email|uri|ip|upn); repeatable, any may match"),
    AP_INIT_TAKE1("ArrCertClockSkew", as_cmd_func(set_clock_skew), nullptr, admin_only,
                  "SECONDS (default 0): how far both ends of the validity window are widened"),
    AP_INIT_TAKE12("ArrCertHeader", as_cmd_func(set_header), nullptr, admin_only, header_help.c_str()),
    AP_INIT_TAKE12("ArrCertChainHeader", as_cmd_func(set_chain_header), nullptr, admin_only, chain_header_help.c_str()),
    AP_INIT_TAKE1("ArrCertFrontEnd", as_cmd_func(set_front_end), nullptr, admin_only, front_end_help.c_str()),
    AP_INIT_TAKE1("ArrCertXfccElement", as_cmd_func(set_xfcc_element), nullptr, admin_only, xfcc_help.c_str()),
    AP_INIT_TAKE1("ArrCertMaxHeaderLength", as_cmd_func(set_max_header_length), nullptr, admin_only,
                  "BYTES (default 16384): the largest header value accepted"),
    AP_INIT_ITERATE("ArrCertOptions", as_cmd_func(add_option), nullptr, htaccess_too, options_help.c_str()),
    AP_INIT_ITERATE("ArrCertExport", as_cmd_func(add_export), nullptr, htaccess_too,
                    "VARIABLE ... (default all that ArrCertOptions exports): the only variables to export"),
    AP_INIT_TAKE1("ArrCertUserName", as_cmd_func(set_user_name), nullptr, htaccess_too,
                  "VARIABLE: the variable (e.g. SSL_CLIENT_S_DN_CN) whose value becomes the request's user"),
    AP_INIT_TAKE1("ArrCertCACertificateFile", as_cmd_func(add_ca_file), nullptr, admin_only,
                  "FILE: PEM file of trusted CA certificates (and intermediates) the certificate must chain to"),
    AP_INIT_TAKE1("ArrCertCACertificatePath", as_cmd_func(add_ca_path), nullptr, admin_only,
                  "DIRECTORY: directory of CA certificates named by hash (openssl rehash)"),
    AP_INIT_TAKE1("ArrCertVerifyDepth", as_cmd_func(set_verify_depth), nullptr, admin_only,
                  "N (default 3): how many certificates may stand above the leaf, the root included"),
    AP_INIT_TAKE1("ArrCertCARevocationFile", as_cmd_func(add_crl_file), nullptr, admin_only,
                  "FILE: PEM file of CRLs, re-read when it changes"),
    AP_INIT_TAKE1("ArrCertCARevocationPath", as_cmd_func(add_crl_path), nullptr, admin_only,
                  "DIRECTORY: directory of CRL files (.pem, .crl, or hashed .rN), re-read when they change"),
    AP_INIT_TAKE12("ArrCertCARevocationCheck", as_cmd_func(set_revocation_check), nullptr, admin_only,
                   revocation_help.c_str()),
    AP_INIT_TAKE1("ArrCertCARevocationRefresh", as_cmd_func(set_crl_refresh), nullptr, admin_only,
                  "SECONDS (default 60): the time between looks at the CRL files"),
    AP_INIT_TAKE12(
        "ArrCertCache", as_cmd_func(set_cache), nullptr, RSRC_CONF,
        "none|memory[:ENTRIES]|PROVIDER:ARGUMENT [none|memory[:ENTRIES]] (default memory:1000; server config "
        "only): where verdicts are kept between requests, e.g. shmcb:PATH(BYTES), memcache:HOST:PORT, "
        "redis:HOST:PORT"),
    AP_INIT_TAKE1("ArrCertCacheBackendTimeout", as_cmd_func(set_backend_timeout), nullptr, RSRC_CONF,
                  "MILLISECONDS (default 250; server config only): the longest a request waits for a memcache or "
                  "redis cache"),
    AP_INIT_TAKE1("ArrCertCacheSecret", as_cmd_func(set_cache_secret), nullptr, RSRC_CONF,
                  "FILE (default a random secret per start; server config only): file of at least 32 secret bytes "
                  "shared by the servers that share an ArrCertCache"),
    AP_INIT_TAKE1("ArrCertCacheTimeout", as_cmd_func(set_cache_timeout), nullptr, RSRC_CONF,
                  "SECONDS (default 300; server config only): the longest a verdict is kept"),
    AP_INIT_TAKE1("ArrCertStatusInventory", as_cmd_func(set_status_inventory), nullptr, RSRC_CONF,
                  "N (default 1000; server config only): how many client certificates the status page lists at "
                  "most, the least recently seen dropped (0: none)"),
    AP_INIT_TAKE1("ArrCertStatusExpiryWarning", as_cmd_func(set_status_expiry_warning), nullptr, RSRC_CONF,
                  "DAYS (default 30; server config only): how close to notAfter a certificate is marked as "
                  "expiring on the status page"),
    AP_INIT_ITERATE("ArrCertTrustedProxy", as_cmd_func(add_trusted_proxy), nullptr, RSRC_CONF,
                    "none|ADDRESS|CIDR ... (default any peer where no server lists one, else none): the front "
                    "ends allowed to send the certificate header"),
    AP_INIT_TAKE1("ArrCertRelayHeaders", as_cmd_func(set_relay_headers), nullptr, admin_only, relay_help.c_str()),
    {nullptr, nullptr, nullptr, 0, RAW_ARGS, nullptr},
};

}  // namespace arrcert::httpd
