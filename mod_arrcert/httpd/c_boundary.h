// The guards every C callback of the module runs its body in: no exception crosses into httpd,
// and every failure is logged with what was being done.
#pragma once

#include <apr_strings.h>
#include <httpd.h>
#include <http_config.h>

#include <exception>
#include <string>
#include <type_traits>

#include "module.h"

namespace arrcert::httpd {

// What the guards log (c_boundary.cpp): `what` null when the exception was not a std::exception.
void log_request_failure(const request_rec* r, const char* doing, const char* what) noexcept;
void log_server_failure(const server_rec* s, const char* doing, const char* what) noexcept;

// "Directive: message", as httpd prints a directive's error with its file and line.
inline const char* directive_error(cmd_parms* cmd, const std::string& message)
{
    return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", message.c_str(), nullptr);
}

// Directive handlers and Require parsers: an exception becomes the directive's error message.
template <class Body>
const char* guard_directive(cmd_parms* cmd, Body body) noexcept
{
    try {
        return body();
    } catch (const std::exception& e) {
        return directive_error(cmd, e.what());
    } catch (...) {
        return directive_error(cmd, "unexpected failure");
    }
}

// Request hooks: an exception is logged and answered with `on_failure` (a refusal or 500).
template <class Body>
auto guard_request(request_rec* r, const char* doing, std::invoke_result_t<Body&> on_failure, Body body) noexcept
{
    try {
        return body();
    } catch (const std::exception& e) {
        log_request_failure(r, doing, e.what());
    } catch (...) {
        log_request_failure(r, doing, nullptr);
    }
    return on_failure;
}

// Start-up and per-process hooks: an exception is logged and answered with `on_failure`.
template <class Body>
auto guard_server(server_rec* s, const char* doing, std::invoke_result_t<Body&> on_failure, Body body) noexcept
{
    try {
        return body();
    } catch (const std::exception& e) {
        log_server_failure(s, doing, e.what());
    } catch (...) {
        log_server_failure(s, doing, nullptr);
    }
    return on_failure;
}

}  // namespace arrcert::httpd
