// Hands a verdict's variables, as mod_ssl would set them, to a sink(name, value).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "arrcert/rules.h"
#include "arrcert/variables.h"

namespace arrcert {

// NONE, SUCCESS or FAILED:<reason>, as mod_ssl's SSL_CLIENT_VERIFY.
std::string verify_value(const Decision& decision);

template <class Sink>
void export_variables(const Verdict& verdict, const Decision& decision, std::int64_t now, ExportOptions options,
                      Sink&& sink)
{
    const bool has_certificate = verdict.kind == Verdict::Kind::judged;
    if (options.standard) {
        sink(std::string_view("SSL_CLIENT_VERIFY"), std::string_view(verify_value(decision)));
        if (has_certificate) {
            for (const auto& [name, value] : verdict.variables.standard) {
                sink(std::string_view(name), std::string_view(value));
            }
            sink(std::string_view("SSL_CLIENT_V_REMAIN"), std::string_view(days_remaining(verdict.not_after, now)));
            if (!verdict.warning.empty()) {
                sink(std::string_view("ARRCERT_OCSP_SOFT_FAIL"), std::string_view(verdict.warning));
            }
        }
    }
    if (options.certificate) {
        // Empty without a certificate, as mod_ssl sets it.
        sink(std::string_view("SSL_CLIENT_CERT"), std::string_view(verdict.variables.pem));
        for (std::size_t i = 0; i < verdict.variables.chain.size(); ++i) {
            sink(std::string_view("SSL_CLIENT_CERT_CHAIN_" + std::to_string(i)),
                 std::string_view(verdict.variables.chain[i]));
        }
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
