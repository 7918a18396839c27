"""The verdict cache: a certificate already judged is not parsed again, and a cached verdict never
crosses rule sets, configurations or CRL generations."""
import subprocess
import time

from harness.client import send
from harness.pki import certificate_set
from harness.servers import Httpd, location

SITE = ("ArrCertAcceptUnverified on\n" + location("/a", "ArrCertVerifyClient require", 'ArrCertSubject "CN=alice"')
        + location("/b", "ArrCertVerifyClient require", 'ArrCertSubject "CN=bob"'))


certs = certificate_set("c", alice="alice", bob="bob")


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
        first = send(httpd, "/a/", certs["alice"])
        assert first.status == 200
        assert "judged X-ARR-ClientCert" in first.log and "from cache" not in first.log
        second = send(httpd, "/a/", certs["alice"])
        assert second.status == 200
        assert "from cache" in second.log
        # Refusals are cached too.
        assert send(httpd, "/a/", certs["bob"]).status == 403
        again = send(httpd, "/a/", certs["bob"])
        assert again.status == 403
        assert "from cache): refused: subject does not match" in again.log
    finally:
        httpd.stop()


def test_verdicts_never_cross_rule_sets(certs):
    httpd = start(SITE, certs)
    try:
        for _ in range(5):
            assert send(httpd, "/a/", certs["alice"]).status == 200
            assert send(httpd, "/b/", certs["alice"]).status == 403
            assert send(httpd, "/b/", certs["bob"]).status == 200
            assert send(httpd, "/a/", certs["bob"]).status == 403
            # .htaccess rules live in each request's pool: identified by content, not address.
            assert send(httpd, "/h1/", certs["alice"]).status == 200
            assert send(httpd, "/h2/", certs["alice"]).status == 403
            assert send(httpd, "/h2/", certs["bob"]).status == 200
            assert send(httpd, "/h1/", certs["bob"]).status == 403
    finally:
        httpd.stop()


def test_cache_none(certs):
    httpd = start("ArrCertCache none\n" + SITE, certs)
    try:
        mark = httpd.log_mark()
        for _ in range(3):
            assert send(httpd, "/a/", certs["alice"]).status == 200
        log = httpd.log_since(mark)
        assert log.count("judged X-ARR-ClientCert") == 3 and "from cache" not in log
    finally:
        httpd.stop()


def test_timeout(certs):
    httpd = start("ArrCertCacheTimeout 1\n" + SITE, certs)
    try:
        assert send(httpd, "/a/", certs["alice"]).status == 200
        time.sleep(2.1)
        response = send(httpd, "/a/", certs["alice"])
        assert response.status == 200
        assert "from cache" not in response.log
    finally:
        httpd.stop()




def test_a_connection_never_carries_a_verdict_into_another_scope(certs):
    """One keep-alive connection, the same certificate, two sections whose scopes httpd merges for
    each request (in the request's pool, so one request's merged scope may lie where the last
    one's lay): the connection's memo of its last verdict never answers for the other section."""
    httpd = start(SITE, certs)
    try:
        paths = ["/a/", "/a/", "/b/", "/b/", "/a/", "/b/", "/a/", "/a/", "/b/"] * 3
        each = [argument for path in paths for argument in ("-o", "/dev/null", httpd.url(path))]
        out = subprocess.run(["curl", "-s", "-w", "%{http_code} %{num_connects}\n",
                              "-H", f"X-ARR-ClientCert: {certs['alice'].azure_header}", *each],
                             capture_output=True, text=True, timeout=60, check=True).stdout.split("\n")
        codes = [line.split()[0] for line in out if line]
        connects = sum(int(line.split()[1]) for line in out if line)
        assert connects == 1, "curl did not keep one connection"
        assert codes == ["200" if path == "/a/" else "403" for path in paths], list(zip(paths, codes))
    finally:
        httpd.stop()
