#include "arrcert/certificate.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <ctime>

namespace arrcert {
namespace {

std::string openssl_error()
{
    const unsigned long code = ERR_peek_last_error();
    std::string text =
        code != 0 ? ERR_reason_error_string(code) != nullptr ? ERR_reason_error_string(code) : "unknown" : "unknown";
    ERR_clear_error();
    return text;
}

bool encodes_back_to(X509* certificate, const Der& der)
{
    if (i2d_X509(certificate, nullptr) != static_cast<int>(der.size())) {
        return false;
    }
    Der encoded(der.size());
    unsigned char* out = encoded.data();
    return i2d_X509(certificate, &out) == static_cast<int>(der.size()) && encoded == der;
}

}  // namespace

Result<std::int64_t> epoch_seconds(const ASN1_TIME* time)
{
    std::tm parts{};
    if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) {
        ERR_clear_error();
        return Failure("not a valid time");
    }
    return static_cast<std::int64_t>(timegm(&parts));
}

std::int64_t epoch_seconds_or(const ASN1_TIME* time, std::int64_t otherwise)
{
    if (time == nullptr) {
        return otherwise;
    }
    const Result<std::int64_t> seconds = epoch_seconds(time);
    return seconds ? seconds.value() : otherwise;
}

Result<Certificate> Certificate::parse(const Der& der)
{
    const unsigned char* cursor = der.data();
    Certificate certificate;
    certificate.x509_.reset(d2i_X509(nullptr, &cursor, static_cast<long>(der.size())));
    if (!certificate.x509_) {
        return Result<Certificate>::failure("DER is not an X.509 certificate (" + openssl_error() + ")");
    }
    if (cursor != der.data() + der.size()) {
        ERR_clear_error();
        return Result<Certificate>::failure("trailing bytes after the certificate");
    }
    // OpenSSL also decodes BER forms of the outer structure (long or indefinite lengths), which
    // the signature does not cover: only the DER encoding is one certificate with one thumbprint.
    if (!encodes_back_to(certificate.x509(), der)) {
        ERR_clear_error();
        return Result<Certificate>::failure("the certificate is not DER-encoded");
    }
    const Result<std::int64_t> not_before = epoch_seconds(X509_get0_notBefore(certificate.x509()));
    const Result<std::int64_t> not_after = epoch_seconds(X509_get0_notAfter(certificate.x509()));
    if (!not_before || !not_after) {
        return Result<Certificate>::failure("certificate has an invalid validity time");
    }
    certificate.not_before_ = not_before.value();
    certificate.not_after_ = not_after.value();
    if (EVP_Digest(der.data(), der.size(), certificate.sha1_.data(), nullptr, EVP_sha1(), nullptr) != 1 ||
        EVP_Digest(der.data(), der.size(), certificate.sha256_.data(), nullptr, EVP_sha256(), nullptr) != 1) {
        return Result<Certificate>::failure("digest failed (" + openssl_error() + ")");
    }
    ERR_clear_error();
    return Result<Certificate>::success(std::move(certificate));
}

std::string to_hex(const unsigned char* bytes, std::size_t size)
{
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string hex(size * 2, '0');
    for (std::size_t i = 0; i < size; ++i) {
        hex[2 * i] = digits[bytes[i] >> 4U];
        hex[2 * i + 1] = digits[bytes[i] & 0x0FU];
    }
    return hex;
}

}  // namespace arrcert
