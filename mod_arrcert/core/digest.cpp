#include "arrcert/digest.h"

#include <new>

namespace arrcert {

FetchedSha256::FetchedSha256() : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr))
{
    if (!md_) {
        throw std::bad_alloc();
    }
}

Sha256Digest::Sha256Digest(const EVP_MD* sha256) : context_(EVP_MD_CTX_new())
{
    if (!context_ || EVP_DigestInit_ex(context_.get(), sha256 != nullptr ? sha256 : EVP_sha256(), nullptr) != 1) {
        throw std::bad_alloc();
    }
}

Sha256Digest& Sha256Digest::add(std::string_view piece)
{
    const std::string length = std::to_string(piece.size()) + ":";
    if (EVP_DigestUpdate(context_.get(), length.data(), length.size()) != 1 ||
        EVP_DigestUpdate(context_.get(), piece.data(), piece.size()) != 1) {
        throw std::bad_alloc();
    }
    return *this;
}

Sha256 Sha256Digest::finish()
{
    Sha256 digest{};
    if (EVP_DigestFinal_ex(context_.get(), digest.data(), nullptr) != 1) {
        throw std::bad_alloc();
    }
    return digest;
}

}  // namespace arrcert
