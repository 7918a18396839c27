#include "dir_config.h"

#include <atomic>

#include "arrcert/verdict_cache.h"

namespace arrcert::httpd {
namespace {

// The inner scope's value when it has one, else the outer scope's (mod_ssl's cfgMerge).
template <class T>
std::optional<T> either(const std::optional<T>& outer, const std::optional<T>& inner)
{
    return inner.has_value() ? inner : outer;
}

template <class T>
T* either(T* outer, T* inner)
{
    return inner != nullptr ? inner : outer;
}

template <class T>
std::span<const T> all_of(const std::vector<T>* list)
{
    return list != nullptr ? std::span<const T>(*list) : std::span<const T>();
}

}  // namespace

void OptionChanges::set(unsigned bit, char sign) noexcept
{
    if (sign == '\0') {
        absolute = absolute.value_or(0) | bit;  // the first plain option drops what +/- said
        add = 0;
        remove = 0;
    } else if (sign == '+') {
        add |= bit;
        remove &= ~bit;
        if (absolute) {
            *absolute |= bit;
        }
    } else {
        remove |= bit;
        add &= ~bit;
        if (absolute) {
            *absolute &= ~bit;
        }
    }
}

OptionChanges OptionChanges::over(const OptionChanges& outer) const noexcept
{
    if (absolute) {
        return *this;
    }
    if (outer.absolute) {
        return {(*outer.absolute & ~remove) | add, 0, 0};
    }
    return {std::nullopt, (outer.add & ~remove) | add, (outer.remove & ~add) | remove};
}

ExportOptions OptionChanges::resolve() const noexcept
{
    const unsigned bits = absolute.value_or((option_std_env_vars & ~remove) | add);
    return {(bits & option_std_env_vars) != 0, (bits & option_export_cert_data) != 0,
            (bits & option_cert_bound_tokens) != 0};
}

HeaderSettings HeaderChoice::resolve() const noexcept
{
    HeaderSettings settings = front_end_headers(front_end);
    if (name != nullptr) {
        settings.name = name;
        settings.format = format;
    }
    if (chain_name != nullptr) {
        settings.chain_name = chain_name;
        settings.chain_format = chain_format;
    }
    return settings;
}

DirSettings merge(const DirSettings& outer, const DirSettings& inner)
{
    DirSettings merged;
    std::apply([&](auto... field) { ((merged.*field = either(outer.*field, inner.*field)), ...); }, merged_fields);
    merged.options = inner.options.over(outer.options);
    return merged;
}

Scope resolve(const DirSettings& settings)
{
    // Counts resolutions, not configurations: only ever compared for equality, never kept
    // across processes.
    static std::atomic<std::uint64_t> resolutions{0};
    Scope scope;
    scope.identity = resolutions.fetch_add(1, std::memory_order_relaxed) + 1;
    if (settings.verify_client) {
        scope.mode = settings.verify_client->mode;
        scope.mode_at = settings.verify_client->at;
    }
    scope.require_at = settings.require_at;
    const HeaderChoice headers = settings.headers.value_or(HeaderChoice{});
    scope.headers = headers.resolve();
    // Explicit lines replace the preset's, wherever they are inherited from.
    const FrontEndChecks preset = front_end_checks(headers.front_end);
    scope.verdicts = settings.verdicts != nullptr ? all_of(settings.verdicts) : preset.verdicts;
    scope.fingerprint = settings.fingerprint
                            ? (settings.fingerprint->off ? std::nullopt : std::optional(settings.fingerprint->source))
                            : preset.fingerprint;
    if (scope.fingerprint && scope.fingerprint->header.empty() && scope.headers.format != HeaderFormat::xfcc) {
        scope.fingerprint.reset();  // XFCC's Hash, where an explicit header of another format replaced XFCC
    }
    scope.passthrough = preset.passthrough;
    scope.front_end_at = headers.front_end_at;
    scope.xfcc_element = dir_rows::xfcc_element.value(settings);
    scope.max_header_length = dir_rows::max_header_length.value(settings);
    scope.clock_skew = dir_rows::clock_skew.value(settings);
    scope.exports = settings.options.resolve();
    scope.user_name = settings.user_name;
    scope.export_names = settings.export_names;
    scope.accept_unverified = dir_rows::accept_unverified.value(settings);
    scope.thumbprints = all_of(settings.thumbprints);
    scope.issuers = all_of(settings.issuers);
    scope.subjects = all_of(settings.subjects);
    scope.alt_names = all_of(settings.alt_names);
    scope.trust = settings.trust;
    scope.crls = settings.crls;
    scope.fetch_crls = dir_rows::fetch_crls.value(settings);
    scope.partial_chain = dir_rows::partial_chain.value(settings);
    scope.relay_headers = dir_rows::relay_headers.value(settings);
    const OcspEnable enable = settings.ocsp_enable.value_or(OcspEnable{});
    scope.ocsp.mode = enable.mode;
    scope.ocsp.no_ocsp_for_cert_ok = enable.no_ocsp_for_cert_ok;
    scope.ocsp.soft_fail = enable.soft_fail;
    scope.ocsp.default_responder = settings.ocsp_default_responder;
    scope.ocsp.override_responder = dir_rows::ocsp_override_responder.value(settings);
    scope.ocsp.timeout_seconds = dir_rows::ocsp_timeout.value(settings);
    scope.ocsp.max_age = dir_rows::ocsp_max_age.value(settings);
    scope.ocsp.time_skew = dir_rows::ocsp_time_skew.value(settings);
    scope.ocsp.use_nonce = dir_rows::ocsp_use_nonce.value(settings);
    const ResponderCertificates responders = settings.ocsp_responder_certs.value_or(ResponderCertificates{});
    scope.ocsp.responder_certs = responders.certificates;
    scope.ocsp.responder_certs_identity = responders.identity != nullptr ? responders.identity : "";
    // Once CRLs are configured or fetched, the whole chain is checked unless told otherwise.
    scope.revocation = settings.revocation.value_or(RevocationPolicy{
        settings.crls != nullptr || scope.fetch_crls ? RevocationCheck::chain : RevocationCheck::none, false});
    scope.verify_depth = dir_rows::verify_depth.value(settings);
    scope.crl_refresh = dir_rows::crl_refresh.value(settings);
    return scope;
}

RuleSet Scope::rules(const CrlSnapshot* crl_snapshot, OnlineSources online) const noexcept
{
    RuleSet rules;
    rules.thumbprints = thumbprints;
    rules.issuers = issuers;
    rules.subjects = subjects;
    rules.alt_names = alt_names;
    rules.chain.trust = trust;
    rules.chain.crls = crl_snapshot;
    rules.chain.revocation = revocation;
    rules.chain.depth = verify_depth;
    rules.chain.partial_chain = partial_chain;
    rules.chain.fetch_refresh = crl_refresh;
    rules.chain.ocsp = ocsp.mode != OcspMode::off ? &ocsp : nullptr;
    rules.chain.fetcher = fetch_crls ? online.crl_fetcher : nullptr;
    rules.chain.ocsp_client = ocsp.mode != OcspMode::off ? online.ocsp_client : nullptr;
    rules.accept_unverified = accept_unverified;
    rules.report_refusals = mode == VerifyMode::optional_no_ca;
    return rules;
}

std::string Scope::verdict_fingerprint(const RuleSet& rules) const
{
    return rules_fingerprint(rules, {headers.format, max_header_length, xfcc_element}, headers.chain_format);
}

std::string_view Scope::verdict_fingerprint(const RuleSet& rules, std::span<char> buffer, std::string& spill) const
{
    return rules_fingerprint(rules, {headers.format, max_header_length, xfcc_element}, headers.chain_format, buffer,
                             spill);
}

}  // namespace arrcert::httpd
