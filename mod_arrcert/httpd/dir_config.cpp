#include "dir_config.h"

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
    return {(bits & option_std_env_vars) != 0, (bits & option_export_cert_data) != 0};
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
    merged.verify_client = either(outer.verify_client, inner.verify_client);
    merged.require_at = either(outer.require_at, inner.require_at);
    merged.accept_unverified = either(outer.accept_unverified, inner.accept_unverified);
    merged.thumbprints = either(outer.thumbprints, inner.thumbprints);
    merged.issuers = either(outer.issuers, inner.issuers);
    merged.subjects = either(outer.subjects, inner.subjects);
    merged.alt_names = either(outer.alt_names, inner.alt_names);
    merged.clock_skew = either(outer.clock_skew, inner.clock_skew);
    merged.headers = either(outer.headers, inner.headers);
    merged.xfcc_element = either(outer.xfcc_element, inner.xfcc_element);
    merged.max_header_length = either(outer.max_header_length, inner.max_header_length);
    merged.options = inner.options.over(outer.options);
    merged.user_name = either(outer.user_name, inner.user_name);
    merged.export_names = either(outer.export_names, inner.export_names);
    merged.trust = either(outer.trust, inner.trust);
    merged.crls = either(outer.crls, inner.crls);
    merged.revocation = either(outer.revocation, inner.revocation);
    merged.verify_depth = either(outer.verify_depth, inner.verify_depth);
    merged.crl_refresh = either(outer.crl_refresh, inner.crl_refresh);
    merged.fetch_crls = either(outer.fetch_crls, inner.fetch_crls);
    merged.partial_chain = either(outer.partial_chain, inner.partial_chain);
    merged.relay_headers = either(outer.relay_headers, inner.relay_headers);
    merged.ocsp_enable = either(outer.ocsp_enable, inner.ocsp_enable);
    merged.ocsp_default_responder = either(outer.ocsp_default_responder, inner.ocsp_default_responder);
    merged.ocsp_override_responder = either(outer.ocsp_override_responder, inner.ocsp_override_responder);
    merged.ocsp_timeout = either(outer.ocsp_timeout, inner.ocsp_timeout);
    merged.ocsp_max_age = either(outer.ocsp_max_age, inner.ocsp_max_age);
    merged.ocsp_time_skew = either(outer.ocsp_time_skew, inner.ocsp_time_skew);
    merged.ocsp_use_nonce = either(outer.ocsp_use_nonce, inner.ocsp_use_nonce);
    if (inner.ocsp_responder_certs != nullptr) {
        merged.ocsp_responder_certs = inner.ocsp_responder_certs;
        merged.ocsp_responder_certs_identity = inner.ocsp_responder_certs_identity;
    } else {
        merged.ocsp_responder_certs = outer.ocsp_responder_certs;
        merged.ocsp_responder_certs_identity = outer.ocsp_responder_certs_identity;
    }
    return merged;
}

Scope resolve(const DirSettings& settings)
{
    Scope scope;
    if (settings.verify_client) {
        scope.mode = settings.verify_client->mode;
        scope.mode_at = settings.verify_client->at;
    }
    scope.require_at = settings.require_at;
    scope.headers = settings.headers.value_or(HeaderChoice{}).resolve();
    scope.xfcc_element = settings.xfcc_element.value_or(XfccPick::last);
    scope.max_header_length = settings.max_header_length.value_or(default_max_header_length);
    scope.clock_skew = settings.clock_skew.value_or(0);
    scope.exports = settings.options.resolve();
    scope.user_name = settings.user_name;
    scope.export_names = settings.export_names;
    scope.accept_unverified = settings.accept_unverified.value_or(false);
    scope.thumbprints = all_of(settings.thumbprints);
    scope.issuers = all_of(settings.issuers);
    scope.subjects = all_of(settings.subjects);
    scope.alt_names = all_of(settings.alt_names);
    scope.trust = settings.trust;
    scope.crls = settings.crls;
    scope.fetch_crls = settings.fetch_crls.value_or(false);
    scope.partial_chain = settings.partial_chain.value_or(false);
    scope.relay_headers = settings.relay_headers.value_or(RelayHeaders::none);
    const OcspEnable enable = settings.ocsp_enable.value_or(OcspEnable{});
    scope.ocsp.mode = enable.mode;
    scope.ocsp.no_ocsp_for_cert_ok = enable.no_ocsp_for_cert_ok;
    scope.ocsp.soft_fail = enable.soft_fail;
    scope.ocsp.default_responder = settings.ocsp_default_responder;
    scope.ocsp.override_responder = settings.ocsp_override_responder.value_or(false);
    scope.ocsp.timeout_seconds = settings.ocsp_timeout.value_or(OcspPolicy{}.timeout_seconds);
    scope.ocsp.max_age = settings.ocsp_max_age.value_or(OcspPolicy{}.max_age);
    scope.ocsp.time_skew = settings.ocsp_time_skew.value_or(OcspPolicy{}.time_skew);
    scope.ocsp.use_nonce = settings.ocsp_use_nonce.value_or(true);
    scope.ocsp.responder_certs = settings.ocsp_responder_certs;
    scope.ocsp.responder_certs_identity =
        settings.ocsp_responder_certs_identity != nullptr ? settings.ocsp_responder_certs_identity : "";
    // Once CRLs are configured or fetched, the whole chain is checked unless told otherwise.
    scope.revocation = settings.revocation.value_or(RevocationPolicy{
        settings.crls != nullptr || scope.fetch_crls ? RevocationCheck::chain : RevocationCheck::none, false});
    scope.verify_depth = settings.verify_depth.value_or(default_verify_depth);
    scope.crl_refresh = settings.crl_refresh.value_or(default_crl_refresh_seconds);
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
