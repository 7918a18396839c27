// A pinned certificate thumbprint: SHA-1 (the Azure portal's) or SHA-256 of the DER.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "arrcert/certificate.h"
#include "arrcert/result.h"

namespace arrcert {

class Thumbprint {
public:
    enum class Algorithm { sha1, sha256 };

    // 40 or 64 hex digits; case, colons and spaces are ignored.
    static Result<Thumbprint> parse(std::string_view text);

    [[nodiscard]] Algorithm algorithm() const noexcept { return algorithm_; }
    [[nodiscard]] bool matches(const Sha1& sha1, const Sha256& sha256) const noexcept;
    [[nodiscard]] bool matches(const Certificate& certificate) const noexcept
    {
        return matches(certificate.sha1(), certificate.sha256());
    }
    // Canonical form: uppercase hex, no separators.
    [[nodiscard]] std::string hex() const { return to_hex(bytes_.data(), bytes_.size()); }
    [[nodiscard]] std::string_view bytes() const noexcept
    {
        return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
    }

private:
    Thumbprint(Algorithm algorithm, std::vector<unsigned char> bytes) : algorithm_(algorithm), bytes_(std::move(bytes))
    {
    }

    Algorithm algorithm_;
    std::vector<unsigned char> bytes_;
};

}  // namespace arrcert
