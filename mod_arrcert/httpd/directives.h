// The per-directory directives' own handlers (directives.cpp, directives_trust.cpp), the command
// table of every directive (command_table.cpp) and the per-directory configuration callbacks.
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

// The handlers of the per-directory directives that parse more than on|off, a number or a
// keyword: set_NAME (add_NAME where lines add up) for ArrCertName. directives.cpp:
const char* set_verify_client(cmd_parms* cmd, void* config, const char* arg);
const char* add_thumbprint(cmd_parms* cmd, void* config, const char* arg);
const char* add_issuer(cmd_parms* cmd, void* config, const char* arg);
const char* add_subject(cmd_parms* cmd, void* config, const char* arg);
const char* add_subject_alt_name(cmd_parms* cmd, void* config, const char* arg);
const char* set_header(cmd_parms* cmd, void* config, const char* name, const char* format);
const char* set_chain_header(cmd_parms* cmd, void* config, const char* name, const char* format);
const char* set_front_end(cmd_parms* cmd, void* config, const char* arg);
const char* add_options(cmd_parms* cmd, void* config, const char* arg);
const char* add_export(cmd_parms* cmd, void* config, const char* arg);
const char* set_user_name(cmd_parms* cmd, void* config, const char* arg);
// directives_front_end.cpp:
const char* add_verdict_header(cmd_parms* cmd, void* config, const char* line);
const char* set_fingerprint_header(cmd_parms* cmd, void* config, const char* name, const char* algorithm);
// directives_trust.cpp:
const char* add_ca_certificate_file(cmd_parms* cmd, void* config, const char* arg);
const char* add_ca_certificate_path(cmd_parms* cmd, void* config, const char* arg);
const char* add_ca_revocation_file(cmd_parms* cmd, void* config, const char* arg);
const char* add_ca_revocation_path(cmd_parms* cmd, void* config, const char* arg);
const char* set_ca_revocation_check(cmd_parms* cmd, void* config, const char* mode, const char* flag);
const char* set_ocsp_enable(cmd_parms* cmd, void* config, int argc, char* const argv[]);
const char* set_ocsp_default_responder(cmd_parms* cmd, void* config, const char* arg);
const char* set_ocsp_responder_certificate_file(cmd_parms* cmd, void* config, const char* arg);
}

// The resolved configuration of the scope a request (or subrequest) is in.
inline const Scope& scope_of(const request_rec* r)
{
    return static_cast<const DirConfig*>(ap_get_module_config(r->per_dir_config, &arrcert_module))->scope;
}

}  // namespace arrcert::httpd
