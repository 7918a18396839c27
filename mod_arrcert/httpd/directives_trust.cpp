// The per-directory directives of trust and revocation: CA certificates, CRL files, whose CRLs are
// checked, and OCSP. Files are read when the directive is, so a bad one stops `apachectl -t`.
#include "directives.h"

#include <apr_strings.h>

#include <new>
#include <string>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "arrcert/digest.h"
#include "arrcert/http_fetch.h"
#include "arrcert/readable.h"
#include "directive_handlers.h"

namespace arrcert::httpd {

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

extern "C" const char* add_ca_certificate_file(cmd_parms* cmd, void* config, const char* arg)
{
    return load_into(cmd, config, arg, &DirSettings::trust, false,
                     [](TrustStore& trust, const std::string& path) { return trust.add_file(path); });
}

extern "C" const char* add_ca_certificate_path(cmd_parms* cmd, void* config, const char* arg)
{
    return load_into(cmd, config, arg, &DirSettings::trust, true,
                     [](TrustStore& trust, const std::string& path) { return trust.add_directory(path); });
}

extern "C" const char* add_ca_revocation_file(cmd_parms* cmd, void* config, const char* arg)
{
    return load_into(cmd, config, arg, &DirSettings::crls, false,
                     [](CrlSource& crls, const std::string& path) { return crls.add_file(path); });
}

extern "C" const char* add_ca_revocation_path(cmd_parms* cmd, void* config, const char* arg)
{
    return load_into(cmd, config, arg, &DirSettings::crls, true,
                     [](CrlSource& crls, const std::string& path) { return crls.add_directory(path); });
}

extern "C" const char* set_ca_revocation_check(cmd_parms* cmd, void* config, const char* mode, const char* flag)
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

extern "C" const char* set_ocsp_responder_certificate_file(cmd_parms* cmd, void* config, const char* arg)
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
        settings.ocsp_responder_certs =
            ResponderCertificates{certificates, apr_pstrdup(cmd->pool, to_hex(identity.finish()).c_str())};
        return nullptr;
    });
}

}  // namespace arrcert::httpd
