// The per-directory directives: one handler per directive, each writing the settings of its own
// scope and resolving it again. Keywords come from one table per set (directive_values.h); a bad
// value is the directive's error, so `apachectl -t` names it.
#include "directives.h"

#include <apr_strings.h>

#include <array>
#include <new>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "arrcert/certificate.h"
#include "arrcert/digest.h"
#include "arrcert/http_fetch.h"
#include "arrcert/readable.h"
#include "c_boundary.h"
#include "directive_values.h"
#include "pool_owned.h"
#include "server_config.h"

namespace arrcert::httpd {
namespace {

constexpr std::int64_t max_clock_skew = 86400;
constexpr std::int64_t max_header_length_limit = 1 << 20;

// "'WORD' is not one of a, b or c" ("is not a or b" for two).
template <class T, std::size_t N>
std::string not_one_of(const char* word, const std::array<Keyword<T>, N>& table)
{
    return "'" + std::string(word) + "' is not " + (N == 2 ? "" : "one of ") + keyword_list(table);
}

// Runs a handler's body on its own scope's settings and resolves the scope again: the scope that
// requests read is always the settings' resolution, also for a scope httpd never merges.
template <class Body>
const char* on_settings(cmd_parms* cmd, void* config, Body body) noexcept
{
    return guard_directive(cmd, [&]() -> const char* {
        auto& dir = *static_cast<DirConfig*>(config);
        const char* failure = body(dir.settings);
        dir.settle();
        return failure;
    });
}

// A repeatable directive's list in its own scope: made by its first line, appended by the next
// (a scope's list replaces the outer one at merge time, so the handler never sees another's).
template <class T>
std::vector<T>& own_list(cmd_parms* cmd, std::vector<T>*& list)
{
    if (list == nullptr) {
        list = make_pool_owned<std::vector<T>>(cmd->pool);
    }
    return *list;
}

Origin origin_of(cmd_parms* cmd, const char* what)
{
    return cmd->directive != nullptr ? Origin{cmd->directive->filename, cmd->directive->line_num, what}
                                     : Origin{nullptr, 0, what};
}

}  // namespace

extern "C" const char* set_verify_client(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        const std::optional<VerifyMode> mode = keyword_value(verify_modes, arg);
        if (!mode) {
            return directive_error(cmd, not_one_of(arg, verify_modes));
        }
        // It loosens verification (names of certificates nothing verified), which .htaccess never may.
        if (*mode == VerifyMode::optional_no_ca && ap_check_cmd_context(cmd, NOT_IN_HTACCESS) != nullptr) {
            return directive_error(cmd,
                                   "optional_no_ca cannot be chosen in .htaccess: it lets through certificates "
                                   "that nothing verified (use optional or require)");
        }
        settings.verify_client =
            VerifyClient{*mode, origin_of(cmd, apr_pstrcat(cmd->pool, "ArrCertVerifyClient ", arg, nullptr))};
        return nullptr;
    });
}

extern "C" const char* set_accept_unverified(cmd_parms* cmd, void* config, int on)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        settings.accept_unverified = on != 0;
        return nullptr;
    });
}

extern "C" const char* add_thumbprint(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        auto thumbprint = Thumbprint::parse(arg);
        if (!thumbprint) {
            return directive_error(cmd, thumbprint.error());
        }
        own_list(cmd, settings.thumbprints).push_back(std::move(thumbprint.value()));
        return nullptr;
    });
}

namespace {

const char* add_dn(cmd_parms* cmd, void* config, const char* arg, std::vector<DnPattern>* DirSettings::*list)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        auto pattern = DnPattern::parse(arg);
        if (!pattern) {
            return directive_error(cmd, pattern.error());
        }
        own_list(cmd, settings.*list).push_back(std::move(pattern.value()));
        return nullptr;
    });
}

}  // namespace

extern "C" const char* add_issuer(cmd_parms* cmd, void* config, const char* arg)
{
    return add_dn(cmd, config, arg, &DirSettings::issuers);
}

extern "C" const char* add_subject(cmd_parms* cmd, void* config, const char* arg)
{
    return add_dn(cmd, config, arg, &DirSettings::subjects);
}

extern "C" const char* add_alt_name(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        auto pattern = AltNamePattern::parse(arg);
        if (!pattern) {
            return directive_error(cmd, pattern.error());
        }
        own_list(cmd, settings.alt_names).push_back(std::move(pattern.value()));
        return nullptr;
    });
}

namespace {

// NAME [FORMAT] of ArrCertHeader and ArrCertChainHeader, into the scope's header choice.
const char* set_header_and_format(cmd_parms* cmd, void* config, const char* name, const char* format_name, bool chain)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        if (!is_token(name)) {
            return directive_error(cmd, "'" + std::string(name) + "' is not a valid HTTP header name");
        }
        HeaderFormat format = HeaderFormat::automatic;
        if (format_name != nullptr) {
            const auto named = header_format_named(format_name);
            if (!named) {
                return directive_error(
                    cmd, "'" + std::string(format_name) + "' is not a format (" + header_format_list(", ", ", ") + ")");
            }
            format = *named;
        }
        if (chain && format == HeaderFormat::xfcc) {
            return directive_error(cmd, "xfcc carries its chain in its own Chain field, not in a separate header");
        }
        HeaderChoice& choice = settings.headers.emplace(settings.headers.value_or(HeaderChoice{}));
        const char* copy = apr_pstrdup(cmd->pool, name);
        (chain ? choice.chain_name : choice.name) = copy;
        (chain ? choice.chain_format : choice.format) = format;
        remember_header(cmd, copy);
        return nullptr;
    });
}

}  // namespace

extern "C" const char* set_header(cmd_parms* cmd, void* config, const char* name, const char* format)
{
    return set_header_and_format(cmd, config, name, format, false);
}

extern "C" const char* set_chain_header(cmd_parms* cmd, void* config, const char* name, const char* format)
{
    return set_header_and_format(cmd, config, name, format, true);
}

extern "C" const char* set_front_end(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        const std::optional<FrontEnd> front_end = front_end_named(arg);
        if (!front_end) {
            return directive_error(cmd, "'" + std::string(arg) + "' is not one of " + front_end_list());
        }
        settings.headers.emplace(settings.headers.value_or(HeaderChoice{})).front_end = *front_end;
        const HeaderSettings headers = front_end_headers(*front_end);
        remember_header(cmd, headers.name);
        remember_header(cmd, headers.chain_name);
        return nullptr;
    });
}

extern "C" const char* set_xfcc_element(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        const std::optional<XfccPick> pick = keyword_value(xfcc_picks, arg);
        if (!pick) {
            return directive_error(cmd, not_one_of(arg, xfcc_picks));
        }
        settings.xfcc_element = *pick;
        return nullptr;
    });
}

extern "C" const char* set_clock_skew(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) {
        return set_number(cmd, arg, 0, max_clock_skew, "seconds", settings.clock_skew);
    });
}

extern "C" const char* set_max_header_length(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) {
        return set_number(cmd, arg, 1, max_header_length_limit, "bytes", settings.max_header_length);
    });
}

extern "C" const char* set_verify_depth(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) {
        return set_number(cmd, arg, 1, 100, "certificates", settings.verify_depth);
    });
}

extern "C" const char* set_crl_refresh(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) {
        return set_number(cmd, arg, 1, 86400, "seconds", settings.crl_refresh);
    });
}

extern "C" const char* add_option(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        std::string_view word(arg);
        const char sign = (word.front() == '+' || word.front() == '-') ? word.front() : '\0';
        if (sign != '\0') {
            word.remove_prefix(1);
        }
        const std::optional<unsigned> bit = keyword_value(option_names, word);
        if (!bit) {
            return directive_error(
                cmd, "unknown option '" + std::string(arg) + "' (" + keyword_list(option_names, ", ", ", ") + ")");
        }
        settings.options.set(*bit, sign);
        return nullptr;
    });
}

extern "C" const char* add_export(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        if (!is_exported_name(arg)) {
            return directive_error(cmd, "'" + std::string(arg) +
                                            "' is not a variable mod_arrcert exports (SSL_CLIENT_..., "
                                            "ARRCERT_THUMBPRINT...; names are case-sensitive)");
        }
        own_list(cmd, settings.export_names).emplace_back(arg);
        return nullptr;
    });
}

extern "C" const char* set_user_name(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        const std::string_view name(arg);
        if (!is_exported_name(name) || name == "SSL_CLIENT_CERT" || name == "SSL_CLIENT_VERIFY" ||
            name.starts_with("SSL_CLIENT_CERT_CHAIN_")) {
            return directive_error(cmd, "'" + std::string(name) +
                                            "' is not a variable of the certificate that mod_arrcert sets "
                                            "(SSL_CLIENT_S_DN_CN, ARRCERT_THUMBPRINT, ...; names are case-sensitive)");
        }
        settings.user_name = apr_pstrdup(cmd->pool, arg);
        return nullptr;
    });
}

namespace {

// A file or directory directive: the path (relative to ServerRoot) read now into the scope's store.
template <class Store, class Load>
const char* load_into(cmd_parms* cmd, void* config, const char* arg, Store* DirSettings::*store, bool directory,
                      Load load)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        const Result<std::string> path = server_path(cmd, arg);
        if (!path) {
            return directive_error(cmd, path.error());
        }
        if (const Result<void> found = readable(path.value(), directory); !found) {
            return directive_error(cmd, found.error());
        }
        if (settings.*store == nullptr) {
            settings.*store = make_pool_owned<Store>(cmd->pool);
        }
        const Result<void> loaded = load(*(settings.*store), path.value());
        return loaded ? nullptr : directive_error(cmd, loaded.error());
    });
}

}  // namespace

extern "C" const char* add_ca_file(cmd_parms* cmd, void* config, const char* arg)
{
    return load_into(cmd, config, arg, &DirSettings::trust, false,
                     [](TrustStore& trust, const std::string& path) { return trust.add_file(path); });
}

extern "C" const char* add_ca_path(cmd_parms* cmd, void* config, const char* arg)
{
    return load_into(cmd, config, arg, &DirSettings::trust, true,
                     [](TrustStore& trust, const std::string& path) { return trust.add_directory(path); });
}

extern "C" const char* add_crl_file(cmd_parms* cmd, void* config, const char* arg)
{
    return load_into(cmd, config, arg, &DirSettings::crls, false,
                     [](CrlSource& crls, const std::string& path) { return crls.add_file(path); });
}

extern "C" const char* add_crl_path(cmd_parms* cmd, void* config, const char* arg)
{
    return load_into(cmd, config, arg, &DirSettings::crls, true,
                     [](CrlSource& crls, const std::string& path) { return crls.add_directory(path); });
}

extern "C" const char* set_revocation_check(cmd_parms* cmd, void* config, const char* mode, const char* flag)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        const std::optional<RevocationCheck> check = keyword_value(revocation_checks, mode);
        if (!check) {
            return directive_error(cmd, not_one_of(mode, revocation_checks));
        }
        if (flag != nullptr && !equal_ignoring_case(flag, "no_crl_for_cert_ok")) {
            return directive_error(cmd, "'" + std::string(flag) + "' is not no_crl_for_cert_ok");
        }
        settings.revocation = RevocationPolicy{*check, flag != nullptr};
        return nullptr;
    });
}

extern "C" const char* set_fetch_crls(cmd_parms* cmd, void* config, int on)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        settings.fetch_crls = on != 0;
        return nullptr;
    });
}

extern "C" const char* set_partial_chain(cmd_parms* cmd, void* config, int on)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        settings.partial_chain = on != 0;
        return nullptr;
    });
}

namespace {

apr_status_t free_certificates(void* stack) noexcept
{
    sk_X509_pop_free(static_cast<STACK_OF(X509)*>(stack), X509_free);
    return APR_SUCCESS;
}

}  // namespace

extern "C" const char* set_ocsp_enable(cmd_parms* cmd, void* config, int argc, char* const argv[])
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        if (argc < 1) {
            return directive_error(cmd, "needs on, leaf or off");
        }
        const std::optional<OcspMode> mode = keyword_value(ocsp_modes, argv[0]);
        if (!mode) {
            return directive_error(cmd, not_one_of(argv[0], ocsp_modes));
        }
        OcspEnable enable{*mode};
        for (int i = 1; i < argc; ++i) {
            if (equal_ignoring_case(argv[i], "no_ocsp_for_cert_ok")) {
                enable.no_ocsp_for_cert_ok = true;
            } else if (equal_ignoring_case(argv[i], "soft_fail")) {
                enable.soft_fail = true;
            } else {
                return directive_error(cmd,
                                       "'" + std::string(argv[i]) + "' is neither no_ocsp_for_cert_ok nor soft_fail");
            }
        }
        settings.ocsp_enable = enable;
        return nullptr;
    });
}

extern "C" const char* set_ocsp_default_responder(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        if (!is_http_url(arg)) {
            return directive_error(
                cmd, "'" + std::string(arg) +
                         "' is not an http:// URL (responders are asked over HTTP, as mod_ssl asks them)");
        }
        settings.ocsp_default_responder = apr_pstrdup(cmd->pool, arg);
        return nullptr;
    });
}

extern "C" const char* set_ocsp_override_responder(cmd_parms* cmd, void* config, int on)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        settings.ocsp_override_responder = on != 0;
        return nullptr;
    });
}

extern "C" const char* set_ocsp_timeout(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) {
        return set_number(cmd, arg, 1, 300, "seconds", settings.ocsp_timeout);
    });
}

extern "C" const char* set_ocsp_max_age(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) {
        return set_number(cmd, arg, -1, 31536000, "seconds", settings.ocsp_max_age);
    });
}

extern "C" const char* set_ocsp_time_skew(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) {
        return set_number(cmd, arg, 0, 86400, "seconds", settings.ocsp_time_skew);
    });
}

extern "C" const char* set_ocsp_nonce(cmd_parms* cmd, void* config, int on)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        settings.ocsp_use_nonce = on != 0;
        return nullptr;
    });
}

extern "C" const char* set_ocsp_responder_certificates(cmd_parms* cmd, void* config, const char* arg)
{
    return on_settings(cmd, config, [&](DirSettings& settings) -> const char* {
        const Result<std::string> path = server_path(cmd, arg);
        if (!path) {
            return directive_error(cmd, path.error());
        }
        BioPtr file(BIO_new_file(path.value().c_str(), "r"));
        STACK_OF(X509)* certificates = sk_X509_new_null();
        if (certificates == nullptr) {
            throw std::bad_alloc();
        }
        apr_pool_cleanup_register(cmd->pool, certificates, free_certificates, apr_pool_cleanup_null);
        Sha256Digest identity;
        while (file) {
            X509* certificate = PEM_read_bio_X509(file.get(), nullptr, nullptr, nullptr);
            if (certificate == nullptr || sk_X509_push(certificates, certificate) == 0) {
                X509_free(certificate);
                break;
            }
            unsigned char* der = nullptr;
            const int length = i2d_X509(certificate, &der);
            identity.add(std::string_view(reinterpret_cast<const char*>(der), length > 0 ? length : 0));
            OPENSSL_free(der);
        }
        ERR_clear_error();
        if (sk_X509_num(certificates) == 0) {
            return directive_error(cmd, "no PEM certificate could be read from " + path.value());
        }
        settings.ocsp_responder_certs = certificates;
        settings.ocsp_responder_certs_identity = apr_pstrdup(cmd->pool, to_hex(identity.finish()).c_str());
        return nullptr;
    });
}

extern "C" void* create_dir_config(apr_pool_t* pool, char* /*directory*/)
{
    auto* config = new (apr_pcalloc(pool, sizeof(DirConfig))) DirConfig();
    config->scope = resolve(config->settings);
    return config;
}

extern "C" void* merge_dir_config(apr_pool_t* pool, void* base, void* add)
{
    const auto* outer = static_cast<const DirConfig*>(base);
    const auto* inner = static_cast<const DirConfig*>(add);
    // httpd merges on every request, for each section it walks: a section without any ArrCert
    // directive (most <Directory> sections) changes nothing, and neither does an unwritten outer
    // one. Configurations are never changed once made, so the other one is the merge as it is.
    if (!inner->written) {
        return const_cast<DirConfig*>(outer);
    }
    if (!outer->written) {
        return const_cast<DirConfig*>(inner);
    }
    auto* merged = new (apr_pcalloc(pool, sizeof(DirConfig))) DirConfig();
    merged->settings = merge(outer->settings, inner->settings);
    merged->settle();
    return merged;
}

}  // namespace arrcert::httpd
