// Fuzz target: the thumbprint parser of ArrCertThumbprint.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "arrcert/thumbprint.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace arrcert;
    const auto thumbprint = Thumbprint::parse(std::string_view(reinterpret_cast<const char*>(data), size));
    if (thumbprint) {
        const std::string hex = thumbprint->hex();
        if (hex.size() != 40 && hex.size() != 64) {
            __builtin_trap();
        }
        // The canonical form parses back to the same value.
        if (Thumbprint::parse(hex)->hex() != hex) {
            __builtin_trap();
        }
    }
    return 0;
}
