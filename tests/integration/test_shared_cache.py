"""ArrCertCache with httpd's shared caches (ap_socache): shmcb shared by prefork children,
memcached and Redis shared by a fleet, sealed entries, and backends that fail or stall."""
import http.client
import os
import re
import time

import pytest

from harness.client import AZURE_HEADER, send
from harness.pki import certificate_set
from harness.servers import Httpd, Memcached, Redis, location, make_workdir, running, write_file
SHMCB = "socache_shmcb_module mod_socache_shmcb.so"
MEMCACHE = "socache_memcache_module mod_socache_memcache.so"
REDIS = "socache_redis_module mod_socache_redis.so"

SITE = "ArrCertAcceptUnverified on\n" + location("/a", "ArrCertVerifyClient require", 'ArrCertSubject "CN=alice"')


certs = certificate_set("shared", alice="alice", bob="bob", carol="carol", dave="dave")


@pytest.fixture(scope="module")
def secret():
    directory = make_workdir("arrcert-secret-")
    path = os.path.join(directory, "cache.secret")
    write_file(path, os.urandom(32).hex() + "\n", 0o600)
    return path


def judgements(log):
    """(pid, source) of each 'judged' debug line: source is '', 'cache' or 'shared cache'."""
    found = []
    for line in log.splitlines():
        if "judged X-ARR-ClientCert" in line:
            pid = re.search(r"\[pid (\d+)", line).group(1)
            source = re.search(r", from (shared cache|cache)\)", line)
            found.append((pid, source.group(1) if source else ""))
    return found


def start(body, modules, mpm="event"):
    httpd = Httpd(SITE + body, mpm=mpm, modules=modules)
    httpd.add_file("a/index.html", "a")
    return httpd.start()


@pytest.mark.parametrize("memory_tier", ["none", "memory"])
def test_prefork_children_share_verdicts(certs, memory_tier):
    httpd = Httpd("", mpm="prefork", modules=[SHMCB])
    httpd.add_file("a/index.html", "a")
    httpd.body = SITE + f"ArrCertCache shmcb:{httpd.dir}/verdicts(512000) {memory_tier}\n"
    with running(httpd):
        alice = certs["alice"].azure_header
        mark = httpd.log_mark()
        # A prefork child serves one connection at a time: while the first stays open, the second
        # connection is another child's.
        first = http.client.HTTPConnection("127.0.0.1", httpd.port, timeout=20)
        second = http.client.HTTPConnection("127.0.0.1", httpd.port, timeout=20)
        for connection in (first, second):
            connection.request("GET", "/a/", headers={AZURE_HEADER: alice})
            response = connection.getresponse()
            response.read()
            assert response.status == 200
        first.close()
        second.close()
        seen = judgements(httpd.log_since(mark))
        assert len(seen) == 2 and seen[0][0] != seen[1][0], seen
        assert seen == [(seen[0][0], ""), (seen[1][0], "shared cache")], seen


def test_without_a_shared_cache_children_judge_alone(certs):
    """The control for the test above: with the memory cache only, the second child judges again."""
    httpd = start("ArrCertCache memory\n", [], mpm="prefork")
    try:
        mark = httpd.log_mark()
        first = http.client.HTTPConnection("127.0.0.1", httpd.port, timeout=20)
        second = http.client.HTTPConnection("127.0.0.1", httpd.port, timeout=20)
        for connection in (first, second):
            connection.request("GET", "/a/", headers={AZURE_HEADER: certs["alice"].azure_header})
            connection.getresponse().read()
        first.close()
        second.close()
        seen = judgements(httpd.log_since(mark))
        assert [source for _, source in seen] == ["", ""], seen
    finally:
        httpd.stop()


BACKENDS = {"memcache": (Memcached, MEMCACHE), "redis": (Redis, REDIS)}


@pytest.mark.parametrize("kind", BACKENDS)
def test_a_fleet_shares_verdicts_sealed_with_its_secret(certs, secret, kind):
    backend_class, module = BACKENDS[kind]
    backend = backend_class().start()
    cache = f"ArrCertCache {kind}:{backend.address} none\n"
    fleet = [start(cache + f"ArrCertCacheSecret {secret}\n", [module]) for _ in range(2)]
    stranger = start(cache, [module])  # no secret: a random one of its own
    try:
        marks = [server.log_mark() for server in fleet]
        assert send(fleet[0], "/a/", certs["alice"]).status == 200
        assert send(fleet[0], "/a/", certs["bob"]).status == 403
        assert send(fleet[1], "/a/", certs["alice"]).status == 200
        assert send(fleet[1], "/a/", certs["bob"]).status == 403  # refusals are shared too
        assert [s for _, s in judgements(fleet[0].log_since(marks[0]))] == ["", ""]
        second = fleet[1].log_since(marks[1])
        assert [s for _, s in judgements(second)] == ["shared cache", "shared cache"], second
        assert "from shared cache): refused: subject does not match" in second

        # Same key, other secret: the entry is not trusted, the certificate is judged here.
        mark = stranger.log_mark()
        assert send(stranger, "/a/", certs["bob"]).status == 403
        assert send(stranger, "/a/", certs["alice"]).status == 200
        log = stranger.log_since(mark)
        assert [s for _, s in judgements(log)] == ["", ""], log
        warnings = [line for line in log.splitlines() if "[arrcert:warn]" in line]
        assert len(warnings) == 1 and "not sealed with this server's secret" in warnings[0], log
    finally:
        for server in (*fleet, stranger):
            server.stop()
        backend.stop()


@pytest.mark.parametrize("kind", BACKENDS)
def test_backend_outage_is_judged_locally_logged_once_and_recovers(certs, kind):
    backend_class, module = BACKENDS[kind]
    backend = backend_class().start()
    httpd = start(f"ArrCertCache {kind}:{backend.address} none\n", [module])
    try:
        assert send(httpd, "/a/", certs["alice"]).status == 200
        backend.stop()
        mark = httpd.log_mark()
        for _ in range(3):
            for label, expected in (("alice", 200), ("bob", 403), ("carol", 403)):
                assert send(httpd, "/a/", certs[label]).status == expected
            status, _ = send(httpd, "/a/", value="not base64 at all")
            assert status == 403
        log = httpd.log_since(mark)
        assert log.count(f"ArrCertCache {kind}:{backend.address} failed to") == 1, log
        assert " 500 " not in httpd.access_log()

        backend = backend_class(backend.port).start()
        # Tried again after our retry interval (and apr's for a server it marked dead); each
        # request meanwhile is judged here.
        mark = httpd.log_mark()
        began = time.monotonic()
        while "works again" not in httpd.log_since(mark):
            assert time.monotonic() - began < 30, httpd.log_since(mark)
            assert send(httpd, "/a/", certs["dave"]).status == 403
            assert send(httpd, "/a/", certs["alice"]).status == 200
            time.sleep(0.5)
        print(f"{kind}: back in use {time.monotonic() - began:.1f} s after it came back")
    finally:
        httpd.stop()
        backend.stop()


@pytest.mark.parametrize("kind", BACKENDS)
def test_stalled_backend_costs_one_deadline_then_is_skipped(certs, kind):
    """A backend that accepts and never answers: the providers would wait for ever (they have no
    read timeout that works); the module waits ArrCertCacheBackendTimeout, then skips it."""
    backend_class, module = BACKENDS[kind]
    backend = backend_class().start()
    httpd = start(f"ArrCertCache {kind}:{backend.address} none\nArrCertCacheBackendTimeout 300\n", [module])
    try:
        assert send(httpd, "/a/", certs["alice"]).status == 200  # connections to the backend are open now
        backend.pause()
        mark = httpd.log_mark()
        began = time.monotonic()
        assert send(httpd, "/a/", certs["bob"]).status == 403
        first = time.monotonic() - began
        began = time.monotonic()
        for label, expected in (("alice", 200), ("carol", 403), ("dave", 403), ("alice", 200)):
            assert send(httpd, "/a/", certs[label]).status == expected
        rest = time.monotonic() - began
        print(f"\nstalled {kind}: first request {first:.2f} s, the next four {rest:.2f} s")
        assert first < 2.0, first
        assert rest < 1.0, rest  # skipped while it is down: no deadline per request
        log = httpd.log_since(mark)
        assert log.count("failed to look up a verdict in time") == 1, log

        backend.resume()
        mark = httpd.log_mark()
        began = time.monotonic()
        while "works again" not in httpd.log_since(mark):
            assert time.monotonic() - began < 30, httpd.log_since(mark)
            assert send(httpd, "/a/", certs["alice"]).status == 200
            time.sleep(0.5)
    finally:
        backend.resume()
        httpd.stop()
        backend.stop()


@pytest.mark.parametrize("body,modules,message", [
    ("ArrCertCache shmcb:/tmp/x(512000)\n", [], "is mod_socache_shmcb loaded before this line?"),
    ("ArrCertCache bogus:thing\n", [], "'bogus:thing' is not none, memory[:ENTRIES] or a shared cache"),
    ("ArrCertCache shmcb:/tmp/x(abc)\n", [SHMCB], "'shmcb:/tmp/x(abc)': "),
    ("ArrCertCache memory:10 memory\n", [], "a second argument follows only a shared cache"),
    ("ArrCertCache shmcb:/tmp/x(512000) disk\n", [SHMCB], "'disk' is not none, memory or memory:ENTRIES"),
    ("ArrCertCacheSecret /nonexistent/secret\n", [], "cannot read cache secret file /nonexistent/secret"),
    ("ArrCertCacheBackendTimeout 5\n", [], "'5' is not a number of milliseconds from 10 to 60000"),
])
def test_bad_shared_cache_directives(body, modules, message):
    status, output = Httpd("", modules=modules).configtest(body)
    assert status != 0 and message in output, output


def test_short_secret_is_refused():
    directory = make_workdir("arrcert-secret-")
    path = os.path.join(directory, "short")
    write_file(path, "tiny")
    status, output = Httpd("").configtest(f"ArrCertCacheSecret {path}\n")
    assert status != 0 and "it needs at least 32" in output, output
