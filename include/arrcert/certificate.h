// One parsed X.509 certificate, with the facts every rule needs computed once.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "arrcert/decode.h"
#include "arrcert/openssl_ptr.h"
#include "arrcert/result.h"

namespace arrcert {

using Sha1 = std::array<unsigned char, 20>;
using Sha256 = std::array<unsigned char, 32>;

class Certificate {
public:
    // Refuses anything that is not exactly one X.509 certificate (a key, a CRL, trailing bytes).
    static Result<Certificate> parse(const Der& der);

    [[nodiscard]] X509* x509() const noexcept { return x509_.get(); }
    [[nodiscard]] const Sha1& sha1() const noexcept { return sha1_; }
    [[nodiscard]] const Sha256& sha256() const noexcept { return sha256_; }
    // Seconds since the epoch, UTC.
    [[nodiscard]] std::int64_t not_before() const noexcept { return not_before_; }
    [[nodiscard]] std::int64_t not_after() const noexcept { return not_after_; }

private:
    Certificate() = default;

    X509Ptr x509_;
    Sha1 sha1_{};
    Sha256 sha256_{};
    std::int64_t not_before_ = 0;
    std::int64_t not_after_ = 0;
};

// Seconds since the epoch (UTC) of an ASN.1 time.
Result<std::int64_t> epoch_seconds(const ASN1_TIME* time);
// The same for an optional time (a CRL's nextUpdate, an OCSP answer's): `otherwise` when absent or unreadable.
std::int64_t epoch_seconds_or(const ASN1_TIME* time, std::int64_t otherwise);

// Uppercase hex, two digits a byte, no separators (the Azure portal's form).
std::string to_hex(const unsigned char* bytes, std::size_t size);

template <std::size_t N>
std::string to_hex(const std::array<unsigned char, N>& bytes)
{
    return to_hex(bytes.data(), N);
}

}  // namespace arrcert
