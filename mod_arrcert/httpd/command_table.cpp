// The command table: every directive, the scopes it is allowed in, and its help text (made from
// the keyword tables). What each directive does is in directives.cpp (per directory),
// server_config.cpp (caches) and trusted_proxy.cpp.
#include <httpd.h>
#include <http_config.h>

#include <string>

#include "directive_values.h"
#include "directives.h"
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

// Help texts made from the keyword tables, once, when the module is loaded.
const std::string verify_client_help =
    keyword_list(verify_modes, "|", "|") + ": whether a forwarded client certificate is needed";
const std::string header_help = "NAME [FORMAT]: the request header that carries the certificate (FORMAT " +
                                header_format_list("|", "|") + "; default X-ARR-ClientCert auto)";
const std::string chain_header_help = "NAME [FORMAT]: a separate request header that carries the intermediates";
const std::string front_end_help = front_end_list("|", "|") + ": the header names and formats that front end uses";
const std::string xfcc_help =
    keyword_list(xfcc_picks, "|", "|") + ": which X-Forwarded-Client-Cert element to use (default last)";
const std::string options_help = "[+|-]" + keyword_list(option_names, " [+|-]", " [+|-]");
const std::string revocation_help =
    keyword_list(revocation_checks, "|", "|") + " [no_crl_for_cert_ok] (default chain once CRLs are configured)";

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
                 "on|off: accept certificates that no CA or pin verifies, because the front end verifies them "
                 "(default off)"),
    AP_INIT_ITERATE("ArrCertThumbprint", as_cmd_func(add_thumbprint), nullptr, admin_only,
                    "SHA-1 or SHA-256 thumbprints (hex) of the certificates allowed; any may match"),
    AP_INIT_TAKE1("ArrCertIssuer", as_cmd_func(add_issuer), nullptr, htaccess_too,
                  "a DN whose attributes must all be in the certificate's issuer; repeatable, any may match"),
    AP_INIT_TAKE1("ArrCertSubject", as_cmd_func(add_subject), nullptr, htaccess_too,
                  "a DN whose attributes must all be in the certificate's subject; repeatable, any may match"),
    AP_INIT_FLAG("ArrCertCARevocationFetch", as_cmd_func(set_fetch_crls), nullptr, admin_only,
                 "on|off: fetch CRLs from the http:// CRL Distribution Points of the certificates verified"),
    AP_INIT_FLAG("ArrCertVerifyPartialChain", as_cmd_func(set_partial_chain), nullptr, admin_only,
                 "on|off: an intermediate of ArrCertCACertificateFile/Path may be the trust anchor"),
    AP_INIT_TAKE_ARGV("ArrCertOCSPEnable", as_cmd_func(set_ocsp_enable), nullptr, admin_only,
                      "on|leaf|off [no_ocsp_for_cert_ok] [soft_fail]: check certificates with their OCSP responder"),
    AP_INIT_TAKE1("ArrCertOCSPDefaultResponder", as_cmd_func(set_ocsp_default_responder), nullptr, admin_only,
                  "http:// URL of the responder for certificates that name none (or all, with the override)"),
    AP_INIT_FLAG("ArrCertOCSPOverrideResponder", as_cmd_func(set_ocsp_override_responder), nullptr, admin_only,
                 "on|off: ask the default responder even where a certificate names one"),
    AP_INIT_TAKE1("ArrCertOCSPResponderTimeout", as_cmd_func(set_ocsp_timeout), nullptr, admin_only,
                  "seconds a request waits for the responder (default 10)"),
    AP_INIT_TAKE1("ArrCertOCSPResponseMaxAge", as_cmd_func(set_ocsp_max_age), nullptr, admin_only,
                  "the oldest response (seconds since thisUpdate) taken; -1: no limit (default)"),
    AP_INIT_TAKE1("ArrCertOCSPResponseTimeSkew", as_cmd_func(set_ocsp_time_skew), nullptr, admin_only,
                  "seconds of clock difference allowed with the responder (default 300)"),
    AP_INIT_FLAG("ArrCertOCSPUseRequestNonce", as_cmd_func(set_ocsp_nonce), nullptr, admin_only,
                 "on|off: send a nonce and require it back (default on)"),
    AP_INIT_TAKE1("ArrCertOCSPResponderCertificateFile", as_cmd_func(set_ocsp_responder_certificates), nullptr,
                  admin_only, "PEM file of responder certificates trusted to sign responses"),
    AP_INIT_ITERATE("ArrCertSubjectAltName", as_cmd_func(add_alt_name), nullptr, htaccess_too,
                    "TYPE:VALUE ... (TYPE dns|email|uri|ip|upn): a subject alternative name the certificate "
                    "must hold; repeatable, any may match"),
    AP_INIT_TAKE1("ArrCertClockSkew", as_cmd_func(set_clock_skew), nullptr, admin_only,
                  "seconds by which both ends of the validity window are widened (default 0)"),
    AP_INIT_TAKE12("ArrCertHeader", as_cmd_func(set_header), nullptr, admin_only, header_help.c_str()),
    AP_INIT_TAKE12("ArrCertChainHeader", as_cmd_func(set_chain_header), nullptr, admin_only, chain_header_help.c_str()),
    AP_INIT_TAKE1("ArrCertFrontEnd", as_cmd_func(set_front_end), nullptr, admin_only, front_end_help.c_str()),
    AP_INIT_TAKE1("ArrCertXfccElement", as_cmd_func(set_xfcc_element), nullptr, admin_only, xfcc_help.c_str()),
    AP_INIT_TAKE1("ArrCertMaxHeaderLength", as_cmd_func(set_max_header_length), nullptr, admin_only,
                  "the largest header value accepted, in bytes (default 16384)"),
    AP_INIT_ITERATE("ArrCertOptions", as_cmd_func(add_option), nullptr, htaccess_too, options_help.c_str()),
    AP_INIT_ITERATE("ArrCertExport", as_cmd_func(add_export), nullptr, htaccess_too,
                    "the only variables to export (default: all that ArrCertOptions exports)"),
    AP_INIT_TAKE1("ArrCertUserName", as_cmd_func(set_user_name), nullptr, htaccess_too,
                  "the variable (e.g. SSL_CLIENT_S_DN_CN) whose value becomes the request's user"),
    AP_INIT_TAKE1("ArrCertCACertificateFile", as_cmd_func(add_ca_file), nullptr, admin_only,
                  "PEM file of trusted CA certificates (and intermediates) the certificate must chain to"),
    AP_INIT_TAKE1("ArrCertCACertificatePath", as_cmd_func(add_ca_path), nullptr, admin_only,
                  "directory of CA certificates named by hash (openssl rehash)"),
    AP_INIT_TAKE1("ArrCertVerifyDepth", as_cmd_func(set_verify_depth), nullptr, admin_only,
                  "how many certificates may stand above the leaf, the root included (default 3)"),
    AP_INIT_TAKE1("ArrCertCARevocationFile", as_cmd_func(add_crl_file), nullptr, admin_only,
                  "PEM file of CRLs, re-read when it changes"),
    AP_INIT_TAKE1("ArrCertCARevocationPath", as_cmd_func(add_crl_path), nullptr, admin_only,
                  "directory of CRL files (.pem, .crl, or hashed .rN), re-read when they change"),
    AP_INIT_TAKE12("ArrCertCARevocationCheck", as_cmd_func(set_revocation_check), nullptr, admin_only,
                   revocation_help.c_str()),
    AP_INIT_TAKE1("ArrCertCARevocationRefresh", as_cmd_func(set_crl_refresh), nullptr, admin_only,
                  "seconds between looks at the CRL files (default 60)"),
    AP_INIT_TAKE12("ArrCertCache", as_cmd_func(set_cache), nullptr, RSRC_CONF,
                   "none | memory[:ENTRIES] | PROVIDER:ARGUMENT [none|memory[:ENTRIES]]: where verdicts are kept "
                   "between requests, e.g. shmcb:PATH(BYTES), memcache:HOST:PORT, redis:HOST:PORT "
                   "(default memory:1000)"),
    AP_INIT_TAKE1("ArrCertCacheBackendTimeout", as_cmd_func(set_backend_timeout), nullptr, RSRC_CONF,
                  "milliseconds a request waits at most for a memcache or redis cache (default 250)"),
    AP_INIT_TAKE1("ArrCertCacheSecret", as_cmd_func(set_cache_secret), nullptr, RSRC_CONF,
                  "file of at least 32 secret bytes shared by the servers that share an ArrCertCache"),
    AP_INIT_TAKE1("ArrCertCacheTimeout", as_cmd_func(set_cache_timeout), nullptr, RSRC_CONF,
                  "seconds a verdict is kept at most (default 300)"),
    AP_INIT_TAKE1("ArrCertStatusInventory", as_cmd_func(set_status_inventory), nullptr, RSRC_CONF,
                  "how many client certificates the status page lists at most, the least recently seen dropped "
                  "(default 1000; 0: none)"),
    AP_INIT_TAKE1("ArrCertStatusExpiryWarning", as_cmd_func(set_status_expiry_warning), nullptr, RSRC_CONF,
                  "days before notAfter from which the status page marks a certificate as expiring (default 30)"),
    AP_INIT_ITERATE("ArrCertTrustedProxy", as_cmd_func(add_trusted_proxy), nullptr, RSRC_CONF,
                    "addresses or CIDR ranges of the front ends allowed to send the certificate header"),
    {nullptr, nullptr, nullptr, 0, RAW_ARGS, nullptr},
};

}  // namespace arrcert::httpd
