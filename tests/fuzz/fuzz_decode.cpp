// Fuzz target: the header decoder in every format, and the chain header decoder.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "arrcert/decode.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) {
        return 0;
    }
    using namespace arrcert;
    // The first byte picks the format, so that one corpus reaches every parser.
    constexpr HeaderFormat formats[] = {
        HeaderFormat::automatic, HeaderFormat::der_base64, HeaderFormat::pem,     HeaderFormat::url_pem,
        HeaderFormat::xfcc,      HeaderFormat::rfc9440,    HeaderFormat::traefik, HeaderFormat::der_concat_base64};
    const HeaderFormat format = formats[data[0] % std::size(formats)];
    const XfccPick pick = (data[0] & 0x80U) != 0 ? XfccPick::first : XfccPick::last;
    const std::string_view value(reinterpret_cast<const char*>(data + 1), size - 1);
    const DecodedHeader decoded = decode_header(value, DecodeOptions{format, 65536, pick});
    if (decoded.status == DecodedHeader::Status::ok && decoded.chain.empty()) {
        __builtin_trap();  // ok always carries a leaf
    }
    const DecodedHeader chain = decode_chain_header(value, format, 65536);
    if (chain.status == DecodedHeader::Status::malformed && chain.reason.empty()) {
        __builtin_trap();  // a refusal always says why
    }
    return 0;
}
