#include "directive_values.h"

#include <algorithm>
#include <charconv>

namespace arrcert::httpd {

Result<std::int64_t> bounded_number(std::string_view text, std::int64_t low, std::int64_t high, const char* unit)
{
    std::int64_t value = 0;
    const auto [end, status] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (status != std::errc() || end != text.data() + text.size() || value < low || value > high) {
        return Failure{"'" + std::string(text) + "' is not a number of " + unit + " from " + std::to_string(low) +
                       " to " + std::to_string(high)};
    }
    return value;
}

Result<std::string> server_path(cmd_parms* cmd, const char* arg)
{
    const char* path = ap_server_root_relative(cmd->temp_pool, arg);
    if (path == nullptr) {
        return Failure{"invalid path '" + std::string(arg) + "'"};
    }
    return std::string(path);
}

bool is_token(std::string_view text)
{
    constexpr std::string_view separators = "()<>@,;:\\\"/[]?={} \t";
    return !text.empty() && std::ranges::all_of(text, [&](char c) {
        const auto byte = static_cast<unsigned char>(c);
        return byte > 32 && byte < 127 && separators.find(c) == std::string_view::npos;
    });
}

}  // namespace arrcert::httpd
