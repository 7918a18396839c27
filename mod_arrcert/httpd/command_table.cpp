// The command table: every directive, one row each, in the order of the reference. The rows of
// the directives that take on|off, a number or a keyword are data (dir_config.h, server_config.h)
// and share generic handlers; the others name their own handler, set_NAME or add_NAME for
// ArrCertName. Help texts ("SYNTAX[ (default VALUE[; server config only])]: purpose", shown by
// httpd -L and made into the reference by make docs) are made here from each row.
#include <httpd.h>
#include <http_config.h>

#include <deque>
#include <string>

#include "directive_handlers.h"
#include "directive_row.h"
#include "directives.h"
#include "server_config.h"
#include "trusted_proxy.h"

namespace arrcert::httpd {
namespace {

template <class Handler>
cmd_func as_cmd_func(Handler handler)
{
    // cmd_func is "const char *(*)()" in C++: go through the generic function pointer type.
    return reinterpret_cast<cmd_func>(reinterpret_cast<void (*)()>(handler));
}

// Verification (trust, pins, revocation, depth, validity, which header and element carries the
// certificate) is the administrator's, never .htaccess's: .htaccess may say whether a certificate
// is needed and what is exported, as it may with SSLVerifyClient and SSLOptions.
int contexts(Where where) noexcept
{
    switch (where) {
        case Where::htaccess_too: return RSRC_CONF | ACCESS_CONF | OR_AUTHCFG;
        case Where::admin_only: return RSRC_CONF | ACCESS_CONF;
        case Where::server:
        case Where::main_server: return RSRC_CONF;
    }
    return RSRC_CONF;
}

// The help texts live as long as the table: made once when the module is loaded.
std::deque<std::string> help_texts;

const char* kept(std::string text)
{
    return help_texts.emplace_back(std::move(text)).c_str();
}

template <class Settings>
command_rec row(const FlagRow<Settings>& row)
{
    return {row.name,
            as_cmd_func(set_flag_row<FlagRow<Settings>>),
            const_cast<FlagRow<Settings>*>(&row),
            contexts(row.where),
            FLAG,
            kept(help_text(row))};
}

template <class Settings, class Number>
command_rec row(const NumberRow<Settings, Number>& row)
{
    using Row = NumberRow<Settings, Number>;
    return {row.name,
            as_cmd_func(set_number_row<Row>),
            const_cast<Row*>(&row),
            contexts(row.where),
            TAKE1,
            kept(help_text(row))};
}

template <class Settings, class Value, std::size_t N>
command_rec row(const KeywordRow<Settings, Value, N>& row)
{
    using Row = KeywordRow<Settings, Value, N>;
    return {row.name,
            as_cmd_func(set_keyword_row<Row>),
            const_cast<Row*>(&row),
            contexts(row.where),
            TAKE1,
            kept(help_text(row))};
}

// A directive with a handler of its own. `default_text` empty: none.
template <class Handler>
command_rec row(const char* name, Handler handler, cmd_how how, Where where, const std::string& syntax,
                const std::string& default_text, const char* purpose)
{
    return {name,    as_cmd_func(handler),
            nullptr, contexts(where),
            how,     kept(help_text(syntax, default_text, where, purpose))};
}

std::string keywords(const auto& table)
{
    return keyword_list(table, "|", "|");
}

}  // namespace

const command_rec directives[] = {
    row("ArrCertVerifyClient", set_verify_client, TAKE1, Where::htaccess_too, keywords(verify_modes),
        std::string(keyword_name(verify_modes, VerifyClient{}.mode)),
        "whether a forwarded client certificate is needed"),
    row(dir_rows::accept_unverified),
    row("ArrCertThumbprint", add_thumbprint, ITERATE, Where::admin_only, "HEX ...", "",
        "SHA-1 or SHA-256 thumbprints of the certificates allowed; any may match"),
    row("ArrCertIssuer", add_issuer, TAKE1, Where::htaccess_too, "\"DN\"", "",
        "a DN whose attributes must all be in the certificate's issuer; repeatable, any may match"),
    row("ArrCertSubject", add_subject, TAKE1, Where::htaccess_too, "\"DN\"", "",
        "a DN whose attributes must all be in the certificate's subject; repeatable, any may match"),
    row(dir_rows::fetch_crls),
    row(dir_rows::partial_chain),
    row("ArrCertOCSPEnable", set_ocsp_enable, TAKE_ARGV, Where::admin_only,
        keywords(ocsp_modes) + " [no_ocsp_for_cert_ok] [soft_fail]",
        std::string(keyword_name(ocsp_modes, OcspEnable{}.mode)), "check certificates with their OCSP responder"),
    row("ArrCertOCSPDefaultResponder", set_ocsp_default_responder, TAKE1, Where::admin_only, "URL", "",
        "the http:// responder for certificates that name none (or all, with the override)"),
    row(dir_rows::ocsp_override_responder),
    row(dir_rows::ocsp_timeout),
    row(dir_rows::ocsp_max_age),
    row(dir_rows::ocsp_time_skew),
    row(dir_rows::ocsp_use_nonce),
    row("ArrCertOCSPResponderCertificateFile", set_ocsp_responder_certificate_file, TAKE1, Where::admin_only, "FILE",
        "", "PEM file of responder certificates trusted to sign responses"),
    row("ArrCertSubjectAltName", add_subject_alt_name, ITERATE, Where::htaccess_too, "TYPE:VALUE ...", "",
        "a subject alternative name the certificate must hold (TYPE dns|email|uri|ip|upn); repeatable, any may "
        "match"),
    row(dir_rows::clock_skew),
    row("ArrCertHeader", set_header, TAKE12, Where::admin_only, "NAME [FORMAT]",
        std::string(front_end_headers(std::nullopt).name) + " auto",
        kept("the request header that carries the certificate, and its FORMAT (" + header_format_list("|", "|") + ")")),
    row("ArrCertChainHeader", set_chain_header, TAKE12, Where::admin_only, "NAME [FORMAT]", "",
        "a separate request header that carries the intermediates (FORMAT as for ArrCertHeader)"),
    row("ArrCertFrontEnd", set_front_end, TAKE1, Where::admin_only, front_end_list("|", "|"), "",
        "the header names and formats that front end uses, and its verdict and fingerprint headers"),
    row("ArrCertVerdictHeader", add_verdict_header, RAW_ARGS, Where::admin_only, "NAME VALUE ...|none",
        "the ArrCertFrontEnd preset's",
        "a header in which the front end says it verified the certificate, and the values that say so (\"\": "
        "empty or absent); repeatable, all must hold"),
    row("ArrCertFingerprintHeader", set_fingerprint_header, TAKE12, Where::admin_only, "none|NAME [sha1|sha256]",
        "the ArrCertFrontEnd preset's",
        "a header with the front end's fingerprint of the certificate, which must be the certificate's"),
    row(dir_rows::xfcc_element),
    row(dir_rows::max_header_length),
    row("ArrCertOptions", add_options, ITERATE, Where::htaccess_too, "[+|-]OPTION ...", "+StdEnvVars",
        kept("what is exported, as SSLOptions (OPTION " + keywords(option_names) + ")")),
    row("ArrCertExport", add_export, ITERATE, Where::htaccess_too, "VARIABLE ...", "all that ArrCertOptions exports",
        "the only variables to export"),
    row("ArrCertUserName", set_user_name, TAKE1, Where::htaccess_too, "VARIABLE", "",
        "the variable (e.g. SSL_CLIENT_S_DN_CN) whose value becomes the request's user"),
    row("ArrCertCACertificateFile", add_ca_certificate_file, TAKE1, Where::admin_only, "FILE", "",
        "PEM file of trusted CA certificates (and intermediates) the certificate must chain to"),
    row("ArrCertCACertificatePath", add_ca_certificate_path, TAKE1, Where::admin_only, "DIRECTORY", "",
        "directory of CA certificates named by hash (openssl rehash)"),
    row(dir_rows::verify_depth),
    row("ArrCertCARevocationFile", add_ca_revocation_file, TAKE1, Where::admin_only, "FILE", "",
        "PEM file of CRLs, re-read when it changes"),
    row("ArrCertCARevocationPath", add_ca_revocation_path, TAKE1, Where::admin_only, "DIRECTORY", "",
        "directory of CRL files (.pem, .crl, or hashed .rN), re-read when they change"),
    row("ArrCertCARevocationCheck", set_ca_revocation_check, TAKE12, Where::admin_only,
        keywords(revocation_checks) + " [no_crl_for_cert_ok]", "chain once CRLs are configured, else none",
        "whose CRLs are checked"),
    row(dir_rows::crl_refresh),
    row(server_rows::revocation_refresh_at),
    row("ArrCertCache", set_cache, TAKE12, Where::main_server,
        "none|memory[:ENTRIES]|PROVIDER:ARGUMENT [none|memory[:ENTRIES]]",
        "memory:" + std::to_string(default_cache_entries),
        "where verdicts are kept between requests, e.g. shmcb:PATH(BYTES), memcache:HOST:PORT, redis:HOST:PORT"),
    row(server_rows::cache_backend_timeout),
    row("ArrCertCacheSecret", set_cache_secret, TAKE1, Where::main_server, "FILE", "a random secret per start",
        "file of at least 32 secret bytes shared by the servers that share an ArrCertCache"),
    row(server_rows::cache_timeout),
    row(server_rows::status_inventory),
    row(server_rows::status_expiry_warning),
    row("ArrCertTrustedProxy", add_trusted_proxy, ITERATE, Where::server, "none|ADDRESS|CIDR ...",
        "any peer where no server lists one, else none", "the front ends allowed to send the certificate header"),
    row(dir_rows::relay_headers),
    {nullptr, nullptr, nullptr, 0, RAW_ARGS, nullptr},
};

}  // namespace arrcert::httpd
