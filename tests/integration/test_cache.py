"""The verdict cache: a certificate already judged is not parsed again, and a cached verdict never
crosses rule sets, configurations or CRL generations."""
import time

import pytest

from harness.pki import name
from harness.servers import Httpd, curl

HEADER = "X-ARR-ClientCert"

SITE = """
    ArrCertAcceptUnverified on
    <Location /a>
        ArrCertVerifyClient require
        ArrCertSubject "CN=alice"
    </Location>
    <Location /b>
        ArrCertVerifyClient require
        ArrCertSubject "CN=bob"
    </Location>
"""


def get(server, path, cert):
    return curl(server.url(path), headers=[(HEADER, cert.azure_header)])[0]


@pytest.fixture(scope="module")
def certs(pki):
    return {label: pki.issue(f"c_{label}", name(("O", "Contoso"), ("CN", label)), issuer=pki.ca)
            for label in ("alice", "bob")}


def start(body, certs):
    httpd = Httpd(body)
    for path in ("a", "b", "h1", "h2"):
        httpd.add_file(f"{path}/index.html", path)
    httpd.add_file("h1/.htaccess", 'ArrCertVerifyClient require\nArrCertSubject "CN=alice"\n')
    httpd.add_file("h2/.htaccess", 'ArrCertVerifyClient require\nArrCertSubject "CN=bob"\n')
    return httpd.start()


def test_second_request_is_a_cache_hit(certs):
    httpd = start(SITE, certs)
    try:
        mark = httpd.log_mark()
        assert get(httpd, "/a/", certs["alice"]) == 200
        first = httpd.log_since(mark)
        assert "judged X-ARR-ClientCert" in first and "from cache" not in first
        mark = httpd.log_mark()
        assert get(httpd, "/a/", certs["alice"]) == 200
        assert "from cache" in httpd.log_since(mark)
        # Refusals are cached too.
        assert get(httpd, "/a/", certs["bob"]) == 403
        mark = httpd.log_mark()
        assert get(httpd, "/a/", certs["bob"]) == 403
        assert "from cache): refused: subject does not match" in httpd.log_since(mark)
    finally:
        httpd.stop()


def test_verdicts_never_cross_rule_sets(certs):
    httpd = start(SITE, certs)
    try:
        for _ in range(5):
            assert get(httpd, "/a/", certs["alice"]) == 200
            assert get(httpd, "/b/", certs["alice"]) == 403
            assert get(httpd, "/b/", certs["bob"]) == 200
            assert get(httpd, "/a/", certs["bob"]) == 403
            # .htaccess rules live in each request's pool: identified by content, not address.
            assert get(httpd, "/h1/", certs["alice"]) == 200
            assert get(httpd, "/h2/", certs["alice"]) == 403
            assert get(httpd, "/h2/", certs["bob"]) == 200
            assert get(httpd, "/h1/", certs["bob"]) == 403
    finally:
        httpd.stop()


def test_cache_none(certs):
    httpd = start("ArrCertCache none\n" + SITE, certs)
    try:
        mark = httpd.log_mark()
        for _ in range(3):
            assert get(httpd, "/a/", certs["alice"]) == 200
        log = httpd.log_since(mark)
        assert log.count("judged X-ARR-ClientCert") == 3 and "from cache" not in log
    finally:
        httpd.stop()


def test_timeout(certs):
    httpd = start("ArrCertCacheTimeout 1\n" + SITE, certs)
    try:
        assert get(httpd, "/a/", certs["alice"]) == 200
        time.sleep(2.1)
        mark = httpd.log_mark()
        assert get(httpd, "/a/", certs["alice"]) == 200
        assert "from cache" not in httpd.log_since(mark)
    finally:
        httpd.stop()


@pytest.mark.parametrize("body,message", [
    ("ArrCertCache disk\n", "'disk' is not none, memory[:ENTRIES] or a shared cache"),
    ("ArrCertCache memory:0\n", "the number of entries must be from 1 to 10000000"),
    ("ArrCertCacheTimeout 0\n", "'0' is not a number of seconds from 1 to 86400"),
    ("<VirtualHost 127.0.0.1:8080>\nArrCertCache none\n</VirtualHost>\n", "cannot occur within <VirtualHost> section"),
])
def test_bad_cache_directives(body, message):
    status, output = Httpd("").configtest(body)
    assert status != 0 and message in output, output
