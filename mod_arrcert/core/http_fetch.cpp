#include "arrcert/http_fetch.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/http.h>

#include <cctype>

#include "arrcert/keywords.h"
#include "arrcert/openssl_ptr.h"

namespace arrcert {
namespace {

struct UrlParts {
    OpenSslString host;
    OpenSslString port;
    std::string path;  // with its query
};

Result<UrlParts> parse_http_url(const std::string& url)
{
    if (!is_http_url(url)) {
        return Failure("not an http:// URL: " + url_for_log(url));
    }
    if (!is_fetchable_url(url)) {
        return Failure("URL with characters outside RFC 3986: " + url_for_log(url));
    }
    int ssl = 0;
    char* host = nullptr;
    char* port = nullptr;
    char* path = nullptr;
    char* query = nullptr;
    if (OSSL_HTTP_parse_url(url.c_str(), &ssl, nullptr, &host, &port, nullptr, &path, &query, nullptr) != 1) {
        ERR_clear_error();
        return Failure("cannot parse URL " + url);
    }
    const OpenSslString owned_path(path);
    const OpenSslString owned_query(query);
    // The request target exactly as the URL writes it (OpenSSL reports an absent query as an empty
    // one): the path and query after the authority, without the fragment; "/" when it has none.
    const std::size_t authority = url.find("//") + 2;
    const std::size_t start = url.find_first_of("/?", authority);
    std::string target = start == std::string::npos ? "/" : url.substr(start, url.find('#', start) - start);
    if (target.front() == '?') {
        target.insert(0, "/");
    }
    return UrlParts{OpenSslString(host), OpenSslString(port), std::move(target)};
}

std::string last_error(std::string_view what)
{
    const unsigned long code = ERR_peek_last_error();
    std::string text(what);
    if (code != 0) {
        char buffer[256];
        ERR_error_string_n(code, buffer, sizeof buffer);
        text.append(": ").append(buffer);
    }
    ERR_clear_error();
    return text;
}

Result<std::string> body_of(BIO* response, const std::string& url)
{
    BioPtr owned(response);
    if (!owned) {
        return Failure(last_error("HTTP transfer from " + url + " failed"));
    }
    char* data = nullptr;
    const long length = BIO_get_mem_data(owned.get(), &data);
    ERR_clear_error();
    return std::string(data != nullptr && length > 0 ? std::string(data, static_cast<std::size_t>(length)) : "");
}

}  // namespace

bool is_http_url(std::string_view url) noexcept
{
    return url.size() > 7 && equal_ignoring_case(url.substr(0, 7), "http://");
}

namespace {

// RFC 3986's characters but '%': unreserved, gen-delims and sub-delims.
bool plain_url_character(char c) noexcept
{
    static constexpr std::string_view allowed = "-._~:/?#[]@!$&'()*+,;=";
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || allowed.find(c) != std::string_view::npos;
}

}  // namespace

bool is_fetchable_url(std::string_view url) noexcept
{
    const auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    for (std::size_t i = 0; i < url.size(); ++i) {
        if (url[i] == '%') {
            if (i + 2 >= url.size() || !hex(url[i + 1]) || !hex(url[i + 2])) {
                return false;
            }
            i += 2;
        } else if (!plain_url_character(url[i])) {
            return false;
        }
    }
    return is_http_url(url);
}

std::string url_for_log(std::string_view url)
{
    static constexpr std::size_t max_logged = 256;
    static constexpr std::string_view digits = "0123456789ABCDEF";
    std::string text;
    for (const char c : url.substr(0, max_logged)) {
        if (plain_url_character(c)) {
            text.push_back(c);
        } else {
            const auto byte = static_cast<unsigned char>(c);
            text.push_back('%');
            text.push_back(digits[byte >> 4]);
            text.push_back(digits[byte & 0xf]);
        }
    }
    if (url.size() > max_logged) {
        text.append("...");
    }
    return text;
}

Result<std::string> http_get(const std::string& url, const HttpLimits& limits)
{
    auto parts = parse_http_url(url);
    if (!parts) {
        return parts.why();
    }
    // ASN.1 (DER), as RFC 5280 has distribution points serve CRLs, read whole into memory, bounded.
    // OSSL_HTTP_transfer follows no redirect (OSSL_HTTP_get would, to any host): only the URL that
    // a verified certificate names is ever asked. "" and not null: no proxy from http_proxy.
    return body_of(OSSL_HTTP_transfer(nullptr, parts->host.get(), parts->port.get(), parts->path.c_str(), 0, "",
                                      nullptr, nullptr, nullptr, nullptr, nullptr, 0, nullptr, nullptr, nullptr,
                                      nullptr, 1, limits.max_bytes, limits.timeout_seconds, 0),
                   url);
}

Result<std::string> http_post(const std::string& url, std::string_view content_type, std::string_view body,
                              std::string_view expected_type, const HttpLimits& limits)
{
    auto parts = parse_http_url(url);
    if (!parts) {
        return parts.why();
    }
    BioPtr request(BIO_new_mem_buf(body.data(), static_cast<int>(body.size())));
    if (!request) {
        throw std::bad_alloc();
    }
    const std::string type(content_type);
    const std::string expected(expected_type);
    return body_of(OSSL_HTTP_transfer(nullptr, parts->host.get(), parts->port.get(), parts->path.c_str(), 0, "",
                                      nullptr, nullptr, nullptr, nullptr, nullptr, 0, nullptr, type.c_str(),
                                      request.get(), expected.c_str(), 1, limits.max_bytes, limits.timeout_seconds, 0),
                   url);
}

}  // namespace arrcert
