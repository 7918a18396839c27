// Hands a verdict's variables, as mod_ssl would set them, to a sink(name, value).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "arrcert/bound_token.h"
#include "arrcert/rules.h"
#include "arrcert/variables.h"

namespace arrcert {

// NONE, SUCCESS or FAILED:<reason>, as mod_ssl's SSL_CLIENT_VERIFY.
std::string verify_value(const Decision& decision);

// Which of a name and its value last as long as the verdict does (string literals, or the
// verdict's own strings), rather than only for the sink's call: a sink may keep those views to
// copy them all at once.
struct Lasting {
    bool name = false;
    bool value = false;
};

namespace detail {

// A sink takes (name, value), or (name, value, Lasting).
template <class Sink>
void emit(Sink& sink, std::string_view name, std::string_view value, Lasting lasting)
{
    if constexpr (std::is_invocable_v<Sink&, std::string_view, std::string_view, Lasting>) {
        sink(name, value, lasting);
    } else {
        sink(name, value);
    }
}

}  // namespace detail

template <class Sink>
void export_variables(const Verdict& verdict, const Decision& decision, std::int64_t now, ExportOptions options,
                      Sink&& sink)
{
    const bool has_certificate = verdict.kind == Verdict::Kind::judged;
    if (options.standard) {
        detail::emit(sink, "SSL_CLIENT_VERIFY", verify_value(decision), {true, false});
        if (has_certificate) {
            for (const auto& [name, value] : verdict.variables.standard) {
                detail::emit(sink, name, value, {true, true});
            }
            detail::emit(sink, "SSL_CLIENT_V_REMAIN", days_remaining(verdict.not_after, now), {true, false});
            if (!verdict.warning.empty()) {
                detail::emit(sink, "ARRCERT_OCSP_SOFT_FAIL", verdict.warning, {true, true});
            }
        }
    }
    if (options.certificate) {
        // Empty without a certificate, as mod_ssl sets it.
        detail::emit(sink, "SSL_CLIENT_CERT", verdict.variables.pem, {true, true});
        for (std::size_t i = 0; i < verdict.variables.chain.size(); ++i) {
            detail::emit(sink, "SSL_CLIENT_CERT_CHAIN_" + std::to_string(i), verdict.variables.chain[i], {false, true});
        }
    }
    if (options.bound_token && has_certificate && decision.outcome == Decision::Outcome::success) {
        detail::emit(sink, bound_token_variable, bound_token_fingerprint(verdict.sha256), {true, false});
    }
}

// One variable as mod_ssl's lookup reads the name (lookup_name), as export_variables would set it
// with both options on, or as only a lookup answers it; nullopt when unset.
inline std::optional<std::string> find_variable(const Verdict& verdict, const Decision& decision, std::int64_t now,
                                                std::string_view wanted)
{
    const std::optional<LookupName> lookup = lookup_name(wanted);
    if (!lookup) {
        return std::nullopt;
    }
    const auto only = [&](std::string_view name) -> std::optional<std::string> {
        for (const auto& [each, value] : verdict.variables.lookup_only) {
            if (each == name) {
                return value;
            }
        }
        return std::nullopt;
    };
    if (lookup->raw) {
        if (auto raw = only(lookup->name + "_RAW"); raw) {
            return raw;
        }
    }
    std::optional<std::string> found;
    export_variables(verdict, decision, now, ExportOptions{true, true},
                     [&](std::string_view name, std::string_view value) {
                         if (!found && name == lookup->name) {
                             found = std::string(value);
                         }
                     });
    return found ? found : only(lookup->name);
}

}  // namespace arrcert
