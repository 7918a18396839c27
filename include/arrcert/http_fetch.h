// Plain-HTTP transfers for revocation (OCSP responders, CRL distribution points), through
// OpenSSL's HTTP client: bounded in time and in size, no proxy from the environment.
#pragma once

#include <cstddef>
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

}  // namespace arrcert
