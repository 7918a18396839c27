// HAProxy's %[ssl_c_chain_der]: DER certificates written one after another with nothing between
// them. Finds where each ends (OpenSSL's ASN.1 header reader); it never parses X.509.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "arrcert/result.h"

namespace arrcert {

// Each element is one definite-length SEQUENCE, in order. Refused: no bytes, a truncated last
// element, anything but a SEQUENCE where one should start, more than `max_elements`.
Result<std::vector<std::vector<unsigned char>>> split_concatenated_der(std::span<const unsigned char> bytes,
                                                                       std::size_t max_elements);

}  // namespace arrcert
