// The certificate's variables in ap_expr: Require expr, <If>, RewriteCond expr, mod_headers.
#pragma once

#include <httpd.h>
#include <ap_expr.h>

namespace arrcert::httpd {

extern "C" int expr_lookup(ap_expr_lookup_parms* parms);

}  // namespace arrcert::httpd
