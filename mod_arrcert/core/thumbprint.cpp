#include "arrcert/thumbprint.h"

#include <openssl/crypto.h>

#include <algorithm>

namespace arrcert {

Result<Thumbprint> Thumbprint::parse(std::string_view text)
{
    std::string digits;
    for (char c : text) {
        if (c == ':' || c == ' ') {
            continue;
        }
        if (OPENSSL_hexchar2int(static_cast<unsigned char>(c)) < 0) {
            return Result<Thumbprint>::failure("thumbprint '" + std::string(text) +
                                               "' has a character that is not a hex digit");
        }
        digits.push_back(c);
    }
    Algorithm algorithm{};
    if (digits.size() == 2 * Sha1{}.size()) {
        algorithm = Algorithm::sha1;
    } else if (digits.size() == 2 * Sha256{}.size()) {
        algorithm = Algorithm::sha256;
    } else {
        return Result<Thumbprint>::failure("thumbprint '" + std::string(text) + "' has " +
                                           std::to_string(digits.size()) +
                                           " hex digits; expected 40 (SHA-1) or 64 (SHA-256)");
    }
    std::vector<unsigned char> bytes(digits.size() / 2);
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        const int high = OPENSSL_hexchar2int(static_cast<unsigned char>(digits[2 * i]));
        const int low = OPENSSL_hexchar2int(static_cast<unsigned char>(digits[2 * i + 1]));
        bytes[i] = static_cast<unsigned char>(high * 16 + low);
    }
    return Result<Thumbprint>::success(Thumbprint(algorithm, std::move(bytes)));
}

bool Thumbprint::matches(const Sha1& sha1, const Sha256& sha256) const noexcept
{
    if (algorithm_ == Algorithm::sha1) {
        return std::equal(bytes_.begin(), bytes_.end(), sha1.begin(), sha1.end());
    }
    return std::equal(bytes_.begin(), bytes_.end(), sha256.begin(), sha256.end());
}

}  // namespace arrcert
