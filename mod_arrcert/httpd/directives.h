// The per-directory directives (handlers in directives.cpp), the command table of every directive
// (command_table.cpp) and the per-directory configuration callbacks httpd calls.
#pragma once

#include <httpd.h>
#include <http_config.h>

#include "dir_config.h"
#include "module.h"

namespace arrcert::httpd {

extern const command_rec directives[];

extern "C" {
void* create_dir_config(apr_pool_t* pool, char* directory);
void* merge_dir_config(apr_pool_t* pool, void* base, void* add);

const char* set_verify_client(cmd_parms* cmd, void* config, const char* arg);
const char* set_accept_unverified(cmd_parms* cmd, void* config, int on);
const char* add_thumbprint(cmd_parms* cmd, void* config, const char* arg);
const char* add_issuer(cmd_parms* cmd, void* config, const char* arg);
const char* add_subject(cmd_parms* cmd, void* config, const char* arg);
const char* add_alt_name(cmd_parms* cmd, void* config, const char* arg);
const char* set_fetch_crls(cmd_parms* cmd, void* config, int on);
const char* set_partial_chain(cmd_parms* cmd, void* config, int on);
const char* set_ocsp_enable(cmd_parms* cmd, void* config, int argc, char* const argv[]);
const char* set_ocsp_default_responder(cmd_parms* cmd, void* config, const char* arg);
const char* set_ocsp_override_responder(cmd_parms* cmd, void* config, int on);
const char* set_ocsp_timeout(cmd_parms* cmd, void* config, const char* arg);
const char* set_ocsp_max_age(cmd_parms* cmd, void* config, const char* arg);
const char* set_ocsp_time_skew(cmd_parms* cmd, void* config, const char* arg);
const char* set_ocsp_nonce(cmd_parms* cmd, void* config, int on);
const char* set_ocsp_responder_certificates(cmd_parms* cmd, void* config, const char* arg);
const char* set_header(cmd_parms* cmd, void* config, const char* name, const char* format);
const char* set_chain_header(cmd_parms* cmd, void* config, const char* name, const char* format);
const char* set_front_end(cmd_parms* cmd, void* config, const char* arg);
const char* set_xfcc_element(cmd_parms* cmd, void* config, const char* arg);
const char* set_clock_skew(cmd_parms* cmd, void* config, const char* arg);
const char* set_max_header_length(cmd_parms* cmd, void* config, const char* arg);
const char* set_verify_depth(cmd_parms* cmd, void* config, const char* arg);
const char* set_crl_refresh(cmd_parms* cmd, void* config, const char* arg);
const char* add_option(cmd_parms* cmd, void* config, const char* arg);
const char* add_export(cmd_parms* cmd, void* config, const char* arg);
const char* set_user_name(cmd_parms* cmd, void* config, const char* arg);
const char* add_ca_file(cmd_parms* cmd, void* config, const char* arg);
const char* add_ca_path(cmd_parms* cmd, void* config, const char* arg);
const char* add_crl_file(cmd_parms* cmd, void* config, const char* arg);
const char* add_crl_path(cmd_parms* cmd, void* config, const char* arg);
const char* set_revocation_check(cmd_parms* cmd, void* config, const char* mode, const char* flag);
}

// The resolved configuration of the scope a request (or subrequest) is in.
inline const Scope& scope_of(const request_rec* r)
{
    return static_cast<const DirConfig*>(ap_get_module_config(r->per_dir_config, &arrcert_module))->scope;
}

}  // namespace arrcert::httpd
