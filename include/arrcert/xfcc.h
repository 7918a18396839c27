// Envoy's X-Forwarded-Client-Cert: elements separated by ',' and key=value pairs by ';', both only
// outside double quotes, so that a quoted Subject holding ";Cert=..." stays a Subject.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "arrcert/result.h"

namespace arrcert {

struct XfccElement {
    std::vector<std::pair<std::string, std::string>> fields;  // keys lowercased, values unquoted

    // The value of `key` (lowercase), empty when absent; an error when it appears twice.
    [[nodiscard]] Result<std::string> field(std::string_view key) const;
};

Result<std::vector<XfccElement>> parse_xfcc(std::string_view text);

}  // namespace arrcert
