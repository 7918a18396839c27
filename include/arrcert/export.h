// Hands a verdict's variables, as mod_ssl would set them, to a sink(name, value).
#pragma once

#include <algorithm>
#include <cctype>
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
        }
    }
    if (options.certificate) {
        // Empty without a certificate, as mod_ssl sets it.
        sink(std::string_view("SSL_CLIENT_CERT"), std::string_view(verdict.variables.pem));
    }
}

// One variable by name (any case), as export_variables would set it (both options on); nullopt
// when unset.
inline std::optional<std::string> find_variable(const Verdict& verdict, const Decision& decision, std::int64_t now,
                                                std::string_view wanted)
{
    std::optional<std::string> found;
    export_variables(
        verdict, decision, now, ExportOptions{true, true}, [&](std::string_view name, std::string_view value) {
            // Case-insensitive, as mod_ssl looks its names up.
            if (!found && name.size() == wanted.size() &&
                std::equal(name.begin(), name.end(), wanted.begin(), [](char a, char b) {
                    return std::toupper(static_cast<unsigned char>(a)) == std::toupper(static_cast<unsigned char>(b));
                })) {
                found = std::string(value);
            }
        });
    return found;
}

}  // namespace arrcert
