#include "authz.h"

#include <httpd.h>
#include <apr_strings.h>
#include <http_config.h>
#include <http_log.h>
#include <http_request.h>
#include <mod_auth.h>

#include <string>
#include <vector>

#include "arrcert/rules.h"
#include "c_boundary.h"
#include "directives.h"
#include "kernel.h"
#include "pool_owned.h"
#include "request_verdict.h"

APLOG_USE_MODULE(arrcert);

namespace arrcert::httpd {
namespace {

// The inline rules of one Require line, parsed once when the configuration is read.
struct InlineRules {
    std::vector<Thumbprint> thumbprints;
    std::vector<DnPattern> issuers;
    std::vector<DnPattern> subjects;
    std::vector<AltNamePattern> alt_names;

    [[nodiscard]] RuleSet rules() const { return {thumbprints, issuers, subjects, alt_names, {}, false, false}; }
};

enum class InlineKind { none, thumbprint, issuer, subject, san };

constexpr const char* provider_name(InlineKind kind) noexcept
{
    switch (kind) {
        case InlineKind::none: return "arrcert";
        case InlineKind::thumbprint: return "arrcert-thumbprint";
        case InlineKind::issuer: return "arrcert-issuer";
        case InlineKind::subject: return "arrcert-subject";
        case InlineKind::san: return "arrcert-san";
    }
    return "arrcert";
}

std::vector<std::string> words(cmd_parms* cmd, const char* require_line)
{
    std::vector<std::string> result;
    const char* cursor = require_line;
    while (*cursor != '\0') {
        const char* word = ap_getword_conf(cmd->temp_pool, &cursor);
        if (*word != '\0') {
            result.emplace_back(word);
        }
    }
    return result;
}

// Without pins of its own a Require line relies on its scope's trust: the start-up check looks at
// it (cmd->context is the section the line is in; its config is made here when no ArrCert
// directive of the section made it first).
void record_require_line(cmd_parms* cmd)
{
    if (cmd->context == nullptr || cmd->directive == nullptr) {
        return;
    }
    auto* section = static_cast<DirConfig*>(
        ap_set_config_vectors(cmd->server, cmd->context, cmd->path, &arrcert_module, cmd->pool));
    if (section != nullptr && !section->settings.require_at) {
        section->settings.require_at = Origin{cmd->directive->filename, cmd->directive->line_num,
                                              apr_pstrcat(cmd->pool, "Require ", cmd->directive->args, nullptr)};
        section->settle();
    }
}

// The values of one arrcert-thumbprint, -issuer or -subject line into `rules`.
template <InlineKind Kind>
Result<void> add_inline_rules(const std::vector<std::string>& args, InlineRules& rules)
{
    if (args.empty()) {
        return Failure("need at least one value");
    }
    for (const std::string& arg : args) {
        if constexpr (Kind == InlineKind::thumbprint) {
            auto thumbprint = Thumbprint::parse(arg);
            if (!thumbprint) {
                return thumbprint.why();
            }
            rules.thumbprints.push_back(std::move(thumbprint.value()));
        } else if constexpr (Kind == InlineKind::san) {
            auto pattern = AltNamePattern::parse(arg);
            if (!pattern) {
                return pattern.why();
            }
            rules.alt_names.push_back(std::move(pattern.value()));
        } else {
            auto pattern = DnPattern::parse(arg);
            if (!pattern) {
                return pattern.why();
            }
            (Kind == InlineKind::issuer ? rules.issuers : rules.subjects).push_back(std::move(pattern.value()));
        }
    }
    return {};
}

template <InlineKind Kind>
const char* parse_require_line(cmd_parms* cmd, const char* require_line, const void** parsed) noexcept
{
    return guard_directive(cmd, [&]() -> const char* {
        const std::vector<std::string> args = words(cmd, require_line);
        auto* rules = make_pool_owned<InlineRules>(cmd->pool);
        *parsed = rules;
        if constexpr (Kind == InlineKind::none) {
            record_require_line(cmd);
            return args.empty() ? nullptr : "Require arrcert takes no arguments";
        } else {
            if constexpr (Kind != InlineKind::thumbprint) {
                record_require_line(cmd);
            }
            const Result<void> added = add_inline_rules<Kind>(args, *rules);
            return added
                       ? nullptr
                       : apr_pstrcat(cmd->pool, "Require ", provider_name(Kind), ": ", added.error().c_str(), nullptr);
        }
    });
}

// Granted when the certificate passes this scope's rules (trust, validity, ArrCert* rules) and
// the Require line's own rules.
authz_status check_authorization(request_rec* r, const void* parsed) noexcept
{
    return guard_request(r, "checking Require arrcert", AUTHZ_GENERAL_ERROR, [&] {
        keep_out_of_shared_caches(r);
        const auto* inline_rules = static_cast<const InlineRules*>(parsed);
        const auto [verdict, decision] = request_certificate(r);
        // The line's own pins are trust enough where the scope has none.
        const bool pinned_here = decision.outcome == Decision::Outcome::failed && decision.rule == Rule::trust &&
                                 !inline_rules->thumbprints.empty();
        if (decision.outcome != Decision::Outcome::success && !pinned_here) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "Require arrcert: %s",
                          decision.outcome == Decision::Outcome::none ? "no client certificate"
                                                                      : std::string(decision.reason).c_str());
            return AUTHZ_DENIED;
        }
        const IdentityCheck identity = check_identity(verdict, inline_rules->rules());
        if (identity.failed != Rule::none) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, "Require arrcert: %s", std::string(identity.reason).c_str());
            return AUTHZ_DENIED;
        }
        return AUTHZ_GRANTED;
    });
}

extern "C" authz_status check_c(request_rec* r, const char* /*line*/, const void* parsed)
{
    return check_authorization(r, parsed);
}

template <InlineKind Kind>
const char* parse_c(cmd_parms* cmd, const char* line, const void** parsed)
{
    return parse_require_line<Kind>(cmd, line, parsed);
}

const authz_provider certificate_provider = {check_c, parse_c<InlineKind::none>};
const authz_provider thumbprint_provider = {check_c, parse_c<InlineKind::thumbprint>};
const authz_provider issuer_provider = {check_c, parse_c<InlineKind::issuer>};
const authz_provider subject_provider = {check_c, parse_c<InlineKind::subject>};
const authz_provider san_provider = {check_c, parse_c<InlineKind::san>};

}  // namespace

void register_authz_providers(apr_pool_t* pool)
{
    // AP_AUTH_INTERNAL_PER_CONF, as every hook of the module.
    ap_register_auth_provider(pool, AUTHZ_PROVIDER_GROUP, "arrcert", AUTHZ_PROVIDER_VERSION, &certificate_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(pool, AUTHZ_PROVIDER_GROUP, "arrcert-thumbprint", AUTHZ_PROVIDER_VERSION,
                              &thumbprint_provider, AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(pool, AUTHZ_PROVIDER_GROUP, "arrcert-issuer", AUTHZ_PROVIDER_VERSION, &issuer_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(pool, AUTHZ_PROVIDER_GROUP, "arrcert-subject", AUTHZ_PROVIDER_VERSION, &subject_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(pool, AUTHZ_PROVIDER_GROUP, "arrcert-san", AUTHZ_PROVIDER_VERSION, &san_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}

}  // namespace arrcert::httpd
