#include "arrcert/der_concat.h"

#include <openssl/asn1.h>
#include <openssl/err.h>

#include <climits>
#include <string>

namespace arrcert {

Result<std::vector<std::vector<unsigned char>>> split_concatenated_der(std::span<const unsigned char> bytes,
                                                                       std::size_t max_elements)
{
    if (bytes.empty()) {
        return Failure{"no DER certificate"};
    }
    if (bytes.size() > static_cast<std::size_t>(LONG_MAX)) {
        return Failure{"DER too long"};
    }
    std::vector<std::vector<unsigned char>> elements;
    std::size_t offset = 0;
    while (offset < bytes.size()) {
        const std::string which = "certificate " + std::to_string(elements.size() + 1);
        if (elements.size() == max_elements) {
            return Failure{"more than " + std::to_string(max_elements) + " certificates"};
        }
        const unsigned char* start = bytes.data() + offset;
        const unsigned char* cursor = start;
        const auto remaining = static_cast<long>(bytes.size() - offset);
        long length = 0;
        int tag = 0;
        int xclass = 0;
        const int info = ASN1_get_object(&cursor, &length, &tag, &xclass, remaining);
        ERR_clear_error();
        // 0x80: the header is bad or its length runs past the end (OpenSSL still sets both).
        if ((info & 0x80) != 0) {
            return Failure{which + " is truncated or not DER"};
        }
        if (tag != V_ASN1_SEQUENCE || xclass != V_ASN1_UNIVERSAL || (info & V_ASN1_CONSTRUCTED) == 0 ||
            info == (V_ASN1_CONSTRUCTED | 1)) {
            return Failure{which + " does not start with a definite-length SEQUENCE"};
        }
        const auto header = static_cast<std::size_t>(cursor - start);
        const auto size = header + static_cast<std::size_t>(length);
        if (size > bytes.size() - offset) {
            return Failure{which + " is truncated"};  // unreachable while OpenSSL flags it: kept for safety
        }
        elements.emplace_back(start, start + size);
        offset += size;
    }
    return elements;
}

}  // namespace arrcert
