// Every log line of the module at info and above starts with a stable id, as httpd's APLOGNO:
// "ARRCERT0102: refused (rule issuer): ...". docs/operations.md lists each with its meaning and
// remedy; tests/integration/test_documentation.py checks the list against the code both ways.
// Numbers: 01xx requests, 02xx start-up, 03xx revocation, 04xx caches, 05xx status, 09xx failures.
#pragma once

// A macro, as APLOGNO: the id joins the format's string literal at compile time.
#define ARRCERT_LOGNO(n) "ARRCERT" #n ": "  // NOLINT(cppcoreguidelines-macro-usage)
