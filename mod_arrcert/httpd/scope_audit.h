// The start-up check of every configured scope: a scope that can grant access (ArrCertVerifyClient,
// Require arrcert) must trust a CA or pins, or say that the front end verifies
// (ArrCertAcceptUnverified on); otherwise a self-made certificate with the right names would pass.
#pragma once

#include <httpd.h>

#include <vector>

#include "arrcert/revocation.h"

namespace arrcert::httpd {

extern "C" {
// check_config: runs for `apachectl -t` too, and stops start-up with the file and line.
int audit_scopes(apr_pool_t* pconf, apr_pool_t* plog, apr_pool_t* ptemp, server_rec* base);
}

// Whether any scope of the server checks certificates (ArrCertVerifyClient other than none, or a
// Require arrcert line). Such a server hides mod_ssl's client values until a request's scope is
// known. `pool` holds the merges made on the way.
bool server_checks_certificates(server_rec* server, apr_pool_t* pool);

// Whether the server's own directives (outside any section) turn the module on and every section
// where the module is on judges with them alone (no section, and no .htaccess, changes them):
// then, before a request's section is known (post_read_request, translate_name), the server's
// verdict is the one every section would give.
bool server_judges_alike(server_rec* server, apr_pool_t* pool);

// The longest certificate header line ("Name: value") that a scope of the server which checks
// certificates accepts: its header's name and ArrCertMaxHeaderLength. Zero where none checks.
struct HeaderLineNeed {
    std::size_t line = 0;
    std::size_t max_header_length = 0;
    const char* header = nullptr;
};
HeaderLineNeed longest_certificate_header(server_rec* server, apr_pool_t* pool);

// The CRL files and directories the server's scopes read (each once), for the status page.
std::vector<CrlSource*> crl_sources(server_rec* server, apr_pool_t* pool);

}  // namespace arrcert::httpd
