// Authorization providers: Require arrcert, arrcert-thumbprint, arrcert-issuer, arrcert-subject.
#pragma once

#include <apr_pools.h>

namespace arrcert::httpd {

void register_authz_providers(apr_pool_t* pool);

}  // namespace arrcert::httpd
