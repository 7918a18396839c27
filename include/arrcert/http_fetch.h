// Plain-HTTP transfers for revocation (OCSP responders, CRL distribution points), through
// OpenSSL's HTTP client: bounded in time and in size, no proxy from the environment.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "arrcert/result.h"

namespace arrcert {

struct HttpLimits {
    int timeout_seconds = 10;                          // the whole transfer, connect included
    std::size_t max_bytes = std::size_t{1024} * 1024;  // of the response body
};

// Only http:// URLs (as mod_ssl's OCSP client): a failure says why, without the body.
Result<std::string> http_get(const std::string& url, const HttpLimits& limits);
Result<std::string> http_post(const std::string& url, std::string_view content_type, std::string_view body,
                              std::string_view expected_type, const HttpLimits& limits);

bool is_http_url(std::string_view url) noexcept;
// An http:// URL made only of RFC 3986's characters (percent-escapes well formed): the only URLs a
// certificate may have the module fetch. Any other byte (a CR LF, a space, a NUL) could reshape
// the request line, so such a URL is never asked.
bool is_fetchable_url(std::string_view url) noexcept;
// A URL from a certificate, for a log line: every byte outside RFC 3986's characters, '%' included,
// percent-encoded (so the line is plain ASCII and unambiguous), at most 256 bytes of it.
std::string url_for_log(std::string_view url);

// Where a part that fetches reports what it will not fetch (a line for the error log).
using NoticeLog = std::function<void(const std::string& text)>;

}  // namespace arrcert
