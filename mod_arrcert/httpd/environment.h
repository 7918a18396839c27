// The certificate variables in a request's environment (an APR table): removed, exported, and
// checked for what changed since. Free of httpd types: tested over real APR pools and tables
// (tests/unit/environment_test.cpp).
#pragma once

#include <apr_pools.h>
#include <apr_tables.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "arrcert/rules.h"
#include "arrcert/variables.h"

namespace arrcert::httpd {

// SSL_CLIENT_* and ARRCERT_*, also as an internal redirect renames them (REDIRECT_..., repeated).
bool is_certificate_name(const char* name) noexcept;

// `env` without any certificate variable (mod_ssl's, SetEnv's, a parent request's): `env` itself
// when it holds none, else a copy made once (unsetting names one by one is quadratic).
apr_table_t* without_certificate(apr_pool_t* pool, apr_table_t* env);

class StandardTable;

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
                                                  ExportOptions options, const std::vector<std::string>* only,
                                                  StandardTable* standard);
    const apr_table_t* table_ = nullptr;
    const void* scope_ = nullptr;
    int size_ = 0;   // the table's entries then
    int first_ = 0;  // where the exported ones start
    int count_ = 0;
    apr_table_entry_t* entries_ = nullptr;  // what was exported, in order
};

// The names an export adds into an empty environment, as an APR table kept by a connection (a front
// end's keep-alive connection mostly carries one client's certificate): SSL_CLIENT_VERIFY,
// SSL_CLIENT_V_REMAIN, the chain's names, then the verdict's StdEnvVars. An export copies it
// (entries and index in one move) rather than adding each entry, then points every entry at this
// request's own copies. Used only for a block equal byte for byte to the one kept.
class StandardTable {
public:
    explicit StandardTable(apr_pool_t* pool) noexcept : pool_(pool) {}
    // The table of `block` after `chain_count` chain names (its entries point into a copy of the
    // block), or null: it is made on the second export in a row of the same block, so that a
    // connection whose certificate changes at every request pays nothing for it.
    [[nodiscard]] const apr_table_t* of(const CertificateVariables::Block& block, std::size_t chain_count);
    // Where the kept table's strings start: an entry's offset from it is its offset in the block.
    [[nodiscard]] const char* base() const noexcept { return bytes_; }

private:
    [[nodiscard]] bool holds(const CertificateVariables::Block& block, std::size_t chain_count) const noexcept;
    apr_pool_t* pool_;             // cleared for each block kept
    const void* asked_ = nullptr;  // the block last asked for, when not kept (only compared)
    const char* bytes_ = nullptr;  // the kept block's copy, then its offsets
    std::size_t size_ = 0;         // of the bytes
    const std::pair<std::uint32_t, std::uint32_t>* offsets_ = nullptr;
    std::size_t count_ = 0;        // of the offsets
    std::size_t chain_count_ = 0;  // SSL_CLIENT_CERT_CHAIN_n entries before the block's
    apr_table_t* table_ = nullptr;
};

// The verdict's variables (those of `only`, when set) replacing every certificate name of `env`,
// which may become another table. Names and values are copies in `pool`: the environment never
// points into a verdict that other requests share. The record lives in `pool` too.
// `standard`, when set, is the connection's StdEnvVars table (see StandardTable).
const ExportRecord& export_certificate(apr_pool_t* pool, apr_table_t*& env, const void* scope, const Verdict& verdict,
                                       const Decision& decision, std::int64_t now, ExportOptions options,
                                       const std::vector<std::string>* only, StandardTable* standard = nullptr);

}  // namespace arrcert::httpd
