// The module symbol, declared with C linkage before any file uses APLOG_USE_MODULE.
#pragma once

#include <httpd.h>
#include <http_config.h>

extern "C" {
// The one exported symbol: the build hides everything else.
[[gnu::visibility("default")]] extern module AP_MODULE_DECLARE_DATA arrcert_module;
}
