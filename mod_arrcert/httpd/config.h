// Per-directory configuration: what the directives of one scope say, merged inner over outer.
#pragma once

#include <httpd.h>
#include <http_config.h>

#include <cstdint>
#include <vector>

#include "arrcert/dn_pattern.h"
#include "arrcert/rules.h"
#include "arrcert/thumbprint.h"
#include "arrcert/variables.h"
#include "module.h"

namespace arrcert::httpd {

inline constexpr const char* default_header_name = "X-ARR-ClientCert";

enum OptionBits : unsigned { option_std_env_vars = 1U, option_export_cert_data = 2U };

// Plain data, so that a merge (done per request for some scopes) is a copy of a few words.
// The lists belong to the pool of the scope that declared them and are never written after
// the configuration is read.
struct DirConfig {
    bool mode_set = false;
    VerifyMode mode = VerifyMode::none;
    const std::vector<Thumbprint>* thumbprints = nullptr;  // null: inherit
    const std::vector<DnPattern>* issuers = nullptr;
    const std::vector<DnPattern>* subjects = nullptr;
    std::int64_t clock_skew = -1;  // -1: inherit (default 0)
    const char* header_name = nullptr;
    std::size_t max_header_length = 0;  // 0: inherit
    bool options_absolute = false;      // ArrCertOptions without +/-
    unsigned options = 0;
    unsigned options_add = 0;
    unsigned options_del = 0;
    const char* user_name_variable = nullptr;

    [[nodiscard]] RuleSet rules() const noexcept;
    [[nodiscard]] ExportOptions export_options() const noexcept;
    [[nodiscard]] std::int64_t effective_clock_skew() const noexcept { return clock_skew < 0 ? 0 : clock_skew; }
    [[nodiscard]] const char* effective_header_name() const noexcept
    {
        return header_name != nullptr ? header_name : default_header_name;
    }
    [[nodiscard]] std::size_t effective_max_header_length() const noexcept
    {
        return max_header_length != 0 ? max_header_length : default_max_header_length;
    }
};

extern "C" {
void* create_dir_config(apr_pool_t* pool, char* directory);
void* merge_dir_config(apr_pool_t* pool, void* base, void* add);
}

extern const command_rec directives[];

inline const DirConfig& dir_config(const request_rec* r)
{
    return *static_cast<const DirConfig*>(ap_get_module_config(r->per_dir_config, &arrcert_module));
}

}  // namespace arrcert::httpd
