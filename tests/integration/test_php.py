"""The whole path of a real client, as on Azure: curl --cert → a TLS-terminating front end that
forwards the certificate as base64 DER (HAProxy's %[ssl_c_der,base64]) → httpd with mod_arrcert →
a PHP page that reads mod_ssl's variables. Under mod_php (prefork) and PHP-FPM (event, proxy_fcgi).
"""
import json

import pytest

from harness.client import send
from harness.servers import HAProxy, Httpd, PhpFpm

RULES = """
    ArrCertAcceptUnverified on
    <Location /app>
        ArrCertVerifyClient require
        ArrCertIssuer "CN=Contoso Test CA, O=Contoso"
        ArrCertSubject "CN=alice"
        ArrCertUserName SSL_CLIENT_S_DN_CN
    </Location>
    <Location /app/public>
        ArrCertVerifyClient optional
    </Location>
"""


def mod_php_stack(pki):
    httpd = Httpd(RULES + """
        <FilesMatch "\\.php$">
            SetHandler application/x-httpd-php
        </FilesMatch>
        """, mpm="prefork", modules=["php_module libphp8.2.so"])
    return httpd, []


def php_fpm_stack(pki):
    fpm = PhpFpm().start()
    httpd = Httpd(RULES + f"""
        <FilesMatch "\\.php$">
            SetHandler "proxy:fcgi://127.0.0.1:{fpm.port}"
        </FilesMatch>
        """, mpm="event", modules=["proxy_module mod_proxy.so", "proxy_fcgi_module mod_proxy_fcgi.so"])
    return httpd, [fpm]


@pytest.fixture(scope="module", params=["mod_php", "php_fpm"])
def stack(request, pki):
    httpd, others = (mod_php_stack if request.param == "mod_php" else php_fpm_stack)(pki)
    httpd.add_php("app/index.php")
    httpd.add_php("app/public/index.php")
    httpd.start()
    front = HAProxy(pki, httpd.port).start()
    yield request.param, httpd, front
    front.stop()
    httpd.stop()
    for other in others:
        other.stop()


def test_php_reads_mod_ssl_variables_through_the_front_end(pki, stack):
    sapi, httpd, front = stack
    alice = pki.leaf("php_alice", "alice", emails=["alice@example.com"])
    status, body = send(front, "/app/index.php", tls_cert=alice, cacert=pki.ca.cert_path)
    assert status == 200, body
    server = json.loads(body)
    assert server["PHP_SAPI"] == ("apache2handler" if sapi == "mod_php" else "fpm-fcgi")
    assert server["SSL_CLIENT_VERIFY"] == "SUCCESS"
    assert server["SSL_CLIENT_S_DN"] == "CN=alice,O=Contoso"
    assert server["SSL_CLIENT_S_DN_CN"] == "alice"
    assert server["SSL_CLIENT_I_DN"] == "CN=Contoso Test CA,O=Contoso"
    assert server["SSL_CLIENT_SAN_Email_0"] == "alice@example.com"
    assert server["ARRCERT_THUMBPRINT"] == alice.sha1
    assert server["REMOTE_USER"] == "alice"


def test_refused_through_the_front_end(pki, stack):
    _, httpd, front = stack
    bob = pki.leaf("php_bob", "bob")
    assert send(front, "/app/index.php", tls_cert=bob, cacert=pki.ca.cert_path).status == 403
    assert send(front, "/app/index.php", cacert=pki.ca.cert_path).status == 403


def test_client_cannot_smuggle_the_header_past_the_front_end(pki, stack):
    _, httpd, front = stack
    alice = pki.leaf("php_smuggled", "alice")
    # Without a TLS client certificate, a header the client wrote itself is removed by the front end.
    assert send(front, "/app/index.php", alice, cacert=pki.ca.cert_path).status == 403


def test_optional_scope_without_certificate(pki, stack):
    _, httpd, front = stack
    status, body = send(front, "/app/public/index.php", cacert=pki.ca.cert_path)
    assert status == 200, body
    server = json.loads(body)
    assert server["SSL_CLIENT_VERIFY"] == "NONE"
    assert "SSL_CLIENT_S_DN" not in server
