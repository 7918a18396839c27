"""mod_arrcert as part of httpd's own language: Require providers, expressions, every MPM,
HTTP/2, graceful restarts, httpd -M and mod_info."""
import json
import subprocess
import threading
import time

import pytest

from harness.client import send
from harness.pki import LOOK_ALIKE, Cert, certificate_set
from harness.servers import HTTPD, MOD_SSL, Httpd, httpd_env, running

certs = certificate_set(
    "n",
    alice=Cert(subject=(("O", "Contoso"), ("OU", "Engineering"), ("CN", "alice"))),
    bob=Cert(subject=(("O", "Contoso"), ("OU", "Sales"), ("CN", "bob"))),
    carol="carol",
    stranger=Cert("alice", issuer=LOOK_ALIKE),
)


PROVIDERS = """
    ArrCertAcceptUnverified on
    <Location /authz/cert>
        Require arrcert
    </Location>
    <Location /authz/thumbprint>
        Require arrcert-thumbprint {alice_sha1} {zeros}
    </Location>
    <Location /authz/issuer>
        Require arrcert-issuer "CN=Contoso Test CA, O=Contoso"
    </Location>
    <Location /authz/subject>
        Require arrcert-subject "CN=alice" "/CN=carol"
    </Location>
    <Location /authz/local-or-cert>
        <RequireAny>
            Require ip 127.0.0.2
            Require arrcert-subject "CN=alice"
        </RequireAny>
    </Location>
    <Location /authz/chain>
        ArrCertCACertificateFile {ca}
        Require arrcert-subject "CN=alice"
    </Location>
    <Location /authz/all>
        <RequireAll>
            Require arrcert-issuer "O=Contoso"
            Require arrcert-subject "OU=Engineering"
        </RequireAll>
    </Location>
    <Location /expr/require>
        ArrCertVerifyClient optional_no_ca
        ArrCertAcceptUnverified on
        Require expr %{SSL_CLIENT_S_DN_OU} == 'Engineering'
    </Location>
    <Location /expr/if>
        ArrCertVerifyClient optional_no_ca
        ArrCertAcceptUnverified on
        <If "%{ARRCERT_THUMBPRINT} == '{alice_sha1}'">
            Require all granted
        </If>
        <Else>
            Require all denied
        </Else>
    </Location>
    <Location /expr/header>
        ArrCertVerifyClient optional_no_ca
        ArrCertAcceptUnverified on
        Header always set X-Client-CN "expr=%{SSL_CLIENT_S_DN_CN}"
        Header always set X-Client-Verify "expr=%{arrcert:SSL_CLIENT_VERIFY}"
    </Location>
    # Per-directory rules (fixups): the certificate's values are known once the scope is.
    <Location /rewrite>
        ArrCertVerifyClient optional_no_ca
        ArrCertAcceptUnverified on
        RewriteEngine on
        RewriteCond expr "arrcert('SSL_CLIENT_S_DN_CN') == 'alice'"
        RewriteRule ^ /rewrite-alice.txt [L]
        RewriteRule ^ /rewrite-other.txt [L]
    </Location>
"""


@pytest.fixture(scope="module")
def server(pki, certs):
    body = (PROVIDERS.replace("{alice_sha1}", certs["alice"].sha1).replace("{zeros}", "0" * 64)
            .replace("{ca}", pki.ca.cert_path))
    httpd = Httpd(body, modules=["rewrite_module mod_rewrite.so", "headers_module mod_headers.so"])
    for path in ["cert", "thumbprint", "issuer", "subject", "local-or-cert", "chain", "all"]:
        httpd.add_file(f"authz/{path}/index.html", "granted")
    httpd.add_file("expr/require/index.html", "granted")
    httpd.add_file("expr/if/index.html", "granted")
    httpd.add_file("expr/header/index.html", "header")
    httpd.add_file("rewrite-alice.txt", "alice page")
    httpd.add_file("rewrite-other.txt", "other page")
    httpd.start()
    yield httpd
    httpd.stop()


@pytest.mark.parametrize("path,granted,denied", [
    ("/authz/cert/", ["alice", "bob", "stranger"], [None]),
    ("/authz/thumbprint/", ["alice"], ["bob", None]),
    ("/authz/issuer/", ["alice", "bob", "stranger"], [None]),
    ("/authz/subject/", ["alice", "carol", "stranger"], ["bob", None]),
    ("/authz/chain/", ["alice"], ["stranger", "bob", None]),
    ("/authz/all/", ["alice"], ["bob", "carol", None]),
    ("/authz/local-or-cert/", ["alice"], ["bob", None]),
])
def test_require_providers(server, certs, path, granted, denied):
    for label in granted:
        assert send(server, path, certs[label]) == (200, "granted"), (path, label)
    for label in denied:
        assert send(server, path, certs.get(label)).status == 403, (path, label)


def test_require_any_lets_the_listed_network_in_without_a_certificate(server, certs):
    assert send(server, "/authz/local-or-cert/", interface="127.0.0.2") == (200, "granted")
    assert send(server, "/authz/local-or-cert/").status == 403


def test_providers_decode_once_per_request(server, certs):
    response = send(server, "/authz/all/", certs["alice"])
    assert response.status == 200
    assert response.log.count("judged X-ARR-ClientCert") == 1


def test_require_expr(server, certs):
    assert send(server, "/expr/require/", certs["alice"]) == (200, "granted")
    assert send(server, "/expr/require/", certs["bob"]).status == 403
    assert send(server, "/expr/require/").status == 403


def test_if_block(server, certs):
    assert send(server, "/expr/if/", certs["alice"]) == (200, "granted")
    assert send(server, "/expr/if/", certs["bob"]).status == 403


def test_rewrite_cond_expr(server, certs):
    assert send(server, "/rewrite", certs["alice"]) == (200, "alice page")
    assert send(server, "/rewrite", certs["bob"]) == (200, "other page")


def response_headers(server, path, cert):
    """The response's headers, each name's last value."""
    return {name: values[-1] for name, values in send(server, path, cert).headers.items()}


def test_mod_headers_expr(server, certs):
    headers = response_headers(server, "/expr/header/", certs["alice"])
    assert headers["x-client-cn"] == "alice"
    assert headers["x-client-verify"] == "SUCCESS"


@pytest.fixture(params=[True, False], ids=["arrcert-loaded-first", "mod_ssl-loaded-first"])
def load_order(request):
    return request


def test_expressions_beside_mod_ssl(pki, certs, load_order):
    """With mod_ssl loaded, whatever the load order: where the module is on, SSL_CLIENT_* names are
    ours (claimed before mod_ssl), as arrcert('...') and %{arrcert:...} are; where it is off they
    are mod_ssl's and ours are empty."""
    request = load_order
    httpd = Httpd("""
        ArrCertAcceptUnverified on
        <Location /both>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            Header always set X-Ours "expr=%{arrcert:SSL_CLIENT_S_DN_CN}"
            Header always set X-ModSsl "expr=%{SSL_CLIENT_S_DN_CN}"
            Require expr arrcert('SSL_CLIENT_S_DN_OU') == 'Engineering'
        </Location>
        <Location /off>
            Header always set X-Ours "expr=%{arrcert:SSL_CLIENT_S_DN_CN}"
            Header always set X-ModSsl "expr=%{SSL_CLIENT_S_DN_CN}"
        </Location>
        """, modules=["headers_module mod_headers.so", *MOD_SSL], module_first=request.param)
    httpd.add_file("both/index.html", "both")
    httpd.add_file("off/index.html", "off")
    with running(httpd):
        headers = response_headers(httpd, "/both/", certs["alice"])
        assert headers["x-ours"] == "alice"
        assert headers["x-modssl"] == "alice"
        headers = response_headers(httpd, "/off/", certs["alice"])
        assert headers.get("x-ours", "") == ""
        assert headers.get("x-modssl", "") == ""  # plain HTTP: mod_ssl has no client certificate
        assert send(httpd, "/both/", certs["alice"]) == (200, "both")
        assert send(httpd, "/both/", certs["bob"]).status == 403


SITE = """
    ArrCertAcceptUnverified on
    <Location /site>
        ArrCertVerifyClient require
        ArrCertSubject "CN=alice"
    </Location>
"""


@pytest.mark.parametrize("mpm", ["event", "worker", "prefork"])
def test_every_mpm(certs, mpm):
    httpd = Httpd(SITE, mpm=mpm)
    httpd.add_cgi("site/env.cgi")
    with running(httpd):
        for _ in range(3):  # prefork: several children answer
            status, body = send(httpd, "/site/env.cgi", certs["alice"])
            assert status == 200 and json.loads(body)["SSL_CLIENT_S_DN_CN"] == "alice"
            assert send(httpd, "/site/env.cgi", certs["bob"]).status == 403
            assert send(httpd, "/site/env.cgi").status == 403
    assert "exit signal" not in httpd.error_log()


def test_http2_cleartext(certs):
    httpd = Httpd(SITE + "Protocols h2c http/1.1\n", modules=["http2_module mod_http2.so"])
    httpd.add_cgi("site/env.cgi")
    with running(httpd):
        for cert, expected in [(certs["alice"], "200"), (certs["bob"], "403"), (None, "403")]:
            response = send(httpd, "/site/env.cgi", cert, extra=("--http2-prior-knowledge",))
            assert f"{response.http_version} {response.status}" == f"2 {expected}"


def test_graceful_restart_with_changed_directives(certs):
    httpd = Httpd(SITE)
    httpd.add_file("site/index.html", "site")
    httpd.start()
    results, errors, stop = [], [], threading.Event()

    def load():
        while not stop.is_set():
            for label in ("alice", "bob"):
                try:
                    results.append((label, send(httpd, "/site/", certs[label]).status))
                except RuntimeError as error:
                    errors.append(str(error))

    worker = threading.Thread(target=load)
    worker.start()
    try:
        time.sleep(0.5)
        httpd.graceful(SITE.replace("CN=alice", "CN=bob"))
        deadline = time.time() + 20
        while time.time() < deadline and send(httpd, "/site/", certs["bob"]).status != 200:
            time.sleep(0.1)
        time.sleep(0.5)
    finally:
        stop.set()
        worker.join()
    try:
        assert errors == []
        assert results and all(status in (200, 403) for _, status in results)
        assert send(httpd, "/site/", certs["bob"]).status == 200
        assert send(httpd, "/site/", certs["alice"]).status == 403
        # Each response came from one configuration: alice and bob never both let in after the switch.
        switched = next(i for i, (label, status) in enumerate(results) if label == "bob" and status == 200)
        assert all(not (label == "alice" and status == 200) for label, status in results[switched + 2:])
    finally:
        httpd.stop()


def test_httpd_lists_the_module_and_mod_info_shows_directives(certs):
    httpd = Httpd(SITE + """
        <Location /server-info>
            SetHandler server-info
        </Location>
        """, modules=["info_module mod_info.so"])
    run = subprocess.run([HTTPD, "-M", "-f", httpd.write_config()], capture_output=True, text=True, timeout=30,
                         env=httpd_env())
    assert "arrcert_module (shared)" in run.stdout
    with running(httpd):
        status, body = send(httpd, "/server-info?mod_arrcert.c")
        assert status == 200
        assert "mod_arrcert.c" in body and "ArrCertVerifyClient" in body and "ArrCertTrustedProxy" in body
