// The values directives take: bounded numbers, paths relative to ServerRoot, header names (the
// keyword tables are in dir_config.h, beside the settings they set).
#pragma once

#include <httpd.h>
#include <http_config.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "arrcert/ocsp.h"
#include "arrcert/keywords.h"
#include "arrcert/result.h"
#include "arrcert/revocation.h"
#include "arrcert/rules.h"
#include "dir_config.h"
#include "c_boundary.h"

namespace arrcert::httpd {

// A whole number from `low` to `high`; the failure says so ("'x' is not a number of UNIT from ...").
Result<std::int64_t> bounded_number(std::string_view text, std::int64_t low, std::int64_t high, const char* unit);

// A handler's whole body for a bounded number: `target` (any integer or optional of one) is set,
// or the directive's error is returned.
template <class Target>
const char* set_number(cmd_parms* cmd, const char* arg, std::int64_t low, std::int64_t high, const char* unit,
                       Target& target)
{
    const Result<std::int64_t> number = bounded_number(arg, low, high, unit);
    if (!number) {
        return directive_error(cmd, number.error());
    }
    using Value = std::remove_cvref_t<decltype(*&target)>;
    if constexpr (requires { typename Value::value_type; }) {
        target = static_cast<typename Value::value_type>(number.value());
    } else {
        target = static_cast<Value>(number.value());
    }
    return nullptr;
}

// A path as mod_ssl's file directives take it: relative to ServerRoot.
Result<std::string> server_path(cmd_parms* cmd, const char* arg);

// An HTTP header field name (RFC 9110 token).
bool is_token(std::string_view text);

}  // namespace arrcert::httpd
