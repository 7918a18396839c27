// Fuzz target: the rule parsers of ArrCertIssuer/ArrCertSubject (DNs) and ArrCertSubjectAltName,
// and matching.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "arrcert/alt_names.h"
#include "arrcert/dn_pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace arrcert;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (const auto alt_name = AltNamePattern::parse(text); alt_name) {
        const AltNames names{{"a.example.com"}, {"a@example.com"}, {"spiffe://x/y"}, {std::string(4, '\x0a')}, {"u"}};
        (void)alt_name->matches(names);
    } else if (alt_name.error().empty()) {
        __builtin_trap();
    }
    const auto pattern = DnPattern::parse(text);
    if (!pattern) {
        if (pattern.error().empty()) {
            __builtin_trap();  // a refusal always says why
        }
        return 0;
    }
    const DistinguishedName name{{"\x55\x04\x03", "alice", 0}, {"\x55\x04\x0a", "Contoso", 1}};
    (void)pattern->matches(name);
    return 0;
}
