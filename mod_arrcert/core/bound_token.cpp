#include "arrcert/bound_token.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace arrcert {

bool is_bound_token_name(std::string_view name) noexcept
{
    return name.size() == bound_token_variable.size() &&
           std::equal(name.begin(), name.end(), bound_token_variable.begin(), [](char a, char b) {
               return std::toupper(static_cast<unsigned char>(a)) == static_cast<unsigned char>(b);
           });
}

std::string bound_token_fingerprint(const Sha256& sha256)
{
    std::string text(4 * ((sha256.size() + 2) / 3) + 1, '\0');
    const int length =
        EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), sha256.data(), static_cast<int>(sha256.size()));
    text.resize(static_cast<std::size_t>(length));
    while (!text.empty() && text.back() == '=') {
        text.pop_back();
    }
    std::ranges::replace(text, '+', '-');
    std::ranges::replace(text, '/', '_');
    return text;
}

}  // namespace arrcert
