#include "arrcert/seal.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <fstream>
#include <iterator>
#include <new>

#include "arrcert/digest.h"

namespace arrcert {
namespace {

constexpr std::size_t mac_size = 32;
constexpr std::string_view document_magic = "arrcert-sealed-1\n";

}  // namespace

CacheSeal::CacheSeal(const CacheSecret& secret)
{
    const OpenSslPtr<EVP_MAC, EVP_MAC_free> hmac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
    keyed_.reset(hmac ? EVP_MAC_CTX_new(hmac.get()) : nullptr);
    char digest[] = "SHA256";
    const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                 OSSL_PARAM_construct_end()};
    if (!keyed_ || EVP_MAC_init(keyed_.get(), secret.data(), secret.size(), params) != 1) {
        throw std::bad_alloc();
    }
}

std::array<unsigned char, mac_size> CacheSeal::mac(const CacheKey& key, std::string_view body) const
{
    const OpenSslPtr<EVP_MAC_CTX, EVP_MAC_CTX_free> context(EVP_MAC_CTX_dup(keyed_.get()));
    std::array<unsigned char, mac_size> mac{};
    std::size_t length = 0;
    if (!context || EVP_MAC_update(context.get(), key.data(), key.size()) != 1 ||
        EVP_MAC_update(context.get(), reinterpret_cast<const unsigned char*>(body.data()), body.size()) != 1 ||
        EVP_MAC_final(context.get(), mac.data(), &length, mac.size()) != 1 || length != mac_size) {
        throw std::bad_alloc();
    }
    return mac;
}

CacheSecret random_cache_secret()
{
    CacheSecret secret{};
    if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
        throw std::bad_alloc();
    }
    return secret;
}

Result<CacheSecret> cache_secret_from_file(const std::string& path)
{
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        return Result<CacheSecret>::failure("cannot read cache secret file " + path);
    }
    const std::string contents((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    if (file.bad()) {
        return Result<CacheSecret>::failure("cannot read cache secret file " + path);
    }
    if (contents.size() < 32) {
        return Result<CacheSecret>::failure("cache secret file " + path + " holds " + std::to_string(contents.size()) +
                                            " bytes; it needs at least 32 (e.g. openssl rand -hex 32)");
    }
    return Result<CacheSecret>::success(Sha256Digest().add("arrcert cache secret").add(contents).finish());
}

std::string seal_bytes(std::string_view bytes, std::int64_t time, const CacheKey& key, const CacheSeal& seal)
{
    // The magic, the time as 8 bytes (big-endian), the bytes, then the seal of all of them.
    std::string sealed(document_magic);
    for (int shift = 56; shift >= 0; shift -= 8) {
        sealed.push_back(static_cast<char>((static_cast<std::uint64_t>(time) >> shift) & 0xffU));
    }
    sealed.append(bytes);
    const auto mac = seal.mac(key, sealed);
    sealed.append(reinterpret_cast<const char*>(mac.data()), mac.size());
    return sealed;
}

std::optional<OpenedBytes> open_bytes(std::string_view sealed, const CacheKey& key, const CacheSeal& seal)
{
    if (sealed.size() < document_magic.size() + 8 + mac_size) {
        return std::nullopt;
    }
    const std::string_view body = sealed.substr(0, sealed.size() - mac_size);
    const auto expected = seal.mac(key, body);
    if (CRYPTO_memcmp(expected.data(), sealed.data() + body.size(), mac_size) != 0 ||
        !body.starts_with(document_magic)) {
        return std::nullopt;
    }
    std::uint64_t time = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        time = (time << 8U) | static_cast<unsigned char>(body[document_magic.size() + i]);
    }
    return OpenedBytes{std::string(body.substr(document_magic.size() + 8)), static_cast<std::int64_t>(time)};
}

}  // namespace arrcert
