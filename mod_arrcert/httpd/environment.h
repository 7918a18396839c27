// The certificate variables in a request's environment (an APR table): removed, exported, and
// checked for what changed since. Free of httpd types: tested over real APR pools and tables
// (tests/unit/environment_test.cpp).
#pragma once

#include <apr_pools.h>
#include <apr_tables.h>

#include <cstdint>
#include <string>
#include <vector>

#include "arrcert/rules.h"
#include "arrcert/variables.h"

namespace arrcert::httpd {

// SSL_CLIENT_* and ARRCERT_*, also as an internal redirect renames them (REDIRECT_..., repeated).
bool is_certificate_name(const char* name) noexcept;

// `env` without any certificate variable (mod_ssl's, SetEnv's, a parent request's): `env` itself
// when it holds none, else a copy made once (unsetting names one by one is quadratic).
apr_table_t* without_certificate(apr_pool_t* pool, apr_table_t* env);

// What one export put into an environment, so that a later hook can tell whether anything
// (mod_env's SetEnv, RewriteRule [E=...], an authn or authz module, mod_dir) changed it since.
class ExportRecord {
public:
    // Whether the certificate names of `env` are exactly what the export left there, for the
    // scope `scope`: the same entries (pointers), in the same order, and no other.
    [[nodiscard]] bool stands(const apr_table_t* env, const void* scope) const noexcept;
    // `env` without what this export added (where the module is off in the scope a request ended in).
    [[nodiscard]] apr_table_t* without_own(apr_pool_t* pool, apr_table_t* env) const;

private:
    friend const ExportRecord& export_certificate(apr_pool_t* pool, apr_table_t*& env, const void* scope,
                                                  const Verdict& verdict, const Decision& decision, std::int64_t now,
                                                  ExportOptions options, const std::vector<std::string>* only);
    const apr_table_t* table_ = nullptr;
    const void* scope_ = nullptr;
    int size_ = 0;   // the table's entries then
    int first_ = 0;  // where the exported ones start
    int count_ = 0;
    apr_table_entry_t* entries_ = nullptr;  // what was exported, in order
};

// The verdict's variables (those of `only`, when set) replacing every certificate name of `env`,
// which may become another table. Names and values are copies in `pool`: the environment never
// points into a verdict that other requests share. The record lives in `pool` too.
const ExportRecord& export_certificate(apr_pool_t* pool, apr_table_t*& env, const void* scope, const Verdict& verdict,
                                       const Decision& decision, std::int64_t now, ExportOptions options,
                                       const std::vector<std::string>* only);

}  // namespace arrcert::httpd
