"""RFC 8705 certificate-bound access tokens end to end: mod_arrcert (ArrCertOptions +CertBoundTokens)
exports TB_SSL_CLIENT_CERT_FINGERPRINT by the end of the access phase, and Debian's
mod_auth_openidc, an OAuth 2.0 resource server here, compares it with the token's cnf["x5t#S256"]
in its authentication hook (src/util.c oidc_util_json_validate_cnf_x5t_s256, 2.3.9 to 2.4.14)."""
import base64
import hashlib
import hmac
import json
import os
import time

import pytest

from harness.client import send
from harness.pki import LOOK_ALIKE, Cert, certificate_set
from harness.servers import MODULES, Httpd, running

SHARED_KEY = "0123456789abcdef0123456789abcdef"  # HS256, OIDCOAuthVerifySharedKeys

certs = certificate_set("tb", alice="alice", bob="bob", impostor=Cert("alice", issuer=LOOK_ALIKE))

pytestmark = pytest.mark.skipif(not os.path.exists(os.path.join(MODULES, "mod_auth_openidc.so")),
                                reason="libapache2-mod-auth-openidc is not installed (.ci/install-deps)")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def x5t_s256(cert):
    """RFC 8705 section 3.1: base64url (no padding) of the SHA-256 of the certificate's DER."""
    return b64url(hashlib.sha256(cert.der).digest())


def token_bound_to(cert):
    """A JWT access token signed with the shared key (HS256), bound to `cert`."""
    header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"sub": "alice", "exp": int(time.time()) + 600, "cnf": {"x5t#S256": x5t_s256(cert)}}
    payload = b64url(json.dumps(claims).encode())
    signature = hmac.new(SHARED_KEY.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64url(signature)}"


@pytest.fixture(scope="module")
def server(pki):
    httpd = Httpd(f"""
        OIDCCryptoPassphrase arrcert-test-passphrase
        OIDCOAuthVerifySharedKeys plain##{SHARED_KEY}
        OIDCOAuthRemoteUserClaim sub
        OIDCOAuthAccessTokenBindingPolicy enforced
        # Another module's value, planted before the access phase: never the one compared.
        SetEnvIf X-Plant "(.+)" TB_SSL_CLIENT_CERT_FINGERPRINT=$1
        <Location /api>
            AuthType oauth20
            OIDCOAuthAcceptTokenAs header
            Require valid-user
            ArrCertVerifyClient optional
            ArrCertCACertificateFile {pki.ca.cert_path}
            ArrCertOptions +CertBoundTokens
        </Location>
        <Location /unbound>
            AuthType oauth20
            Require valid-user
            ArrCertVerifyClient optional
            ArrCertCACertificateFile {pki.ca.cert_path}
        </Location>
        """, modules=["authn_core_module mod_authn_core.so", "authz_user_module mod_authz_user.so",
                      "setenvif_module mod_setenvif.so", "auth_openidc_module mod_auth_openidc.so"],
        log_level="info arrcert:debug auth_openidc:debug")
    httpd.add_cgi("api/env.cgi")
    httpd.add_cgi("unbound/env.cgi")
    with running(httpd):
        yield httpd


def call(server, path, cert, token, headers=()):
    return send(server, path, cert, headers=[("Authorization", f"Bearer {token}"), *headers])


def test_the_token_passes_with_the_certificate_it_is_bound_to(server, certs):
    alice = certs["alice"]
    response = call(server, "/api/env.cgi", alice, token_bound_to(alice))
    assert response.status == 200, response.log[-2000:]
    env = response.env
    assert env["TB_SSL_CLIENT_CERT_FINGERPRINT"] == x5t_s256(alice)
    assert env["REMOTE_USER"] == "alice" and env["SSL_CLIENT_VERIFY"] == "SUCCESS"


def test_the_token_is_refused_with_another_certificate_or_none(server, certs):
    token = token_bound_to(certs["alice"])
    assert call(server, "/api/env.cgi", certs["bob"], token).status == 401
    assert call(server, "/api/env.cgi", None, token).status == 401
    # Bob's own token passes with bob's certificate: the refusal above is the binding's.
    assert call(server, "/api/env.cgi", certs["bob"], token_bound_to(certs["bob"])).status == 200


def test_a_certificate_that_fails_exports_no_fingerprint(server, certs):
    """A look-alike of alice's certificate (another CA, same names) is refused by the module."""
    response = call(server, "/api/env.cgi", certs["impostor"], token_bound_to(certs["impostor"]))
    assert response.status == 403


def test_a_planted_fingerprint_is_never_the_one_compared(server, certs):
    token = token_bound_to(certs["alice"])
    plant = [("X-Plant", x5t_s256(certs["alice"]))]
    assert call(server, "/api/env.cgi", certs["bob"], token, plant).status == 401
    assert call(server, "/api/env.cgi", None, token, plant).status == 401


def test_without_the_option_nothing_is_bound(server, certs):
    alice = certs["alice"]
    assert call(server, "/unbound/env.cgi", alice, token_bound_to(alice)).status == 401
