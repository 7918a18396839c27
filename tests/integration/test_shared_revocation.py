"""Issue 27: revocation that every child and every server agree on. Real httpd with several
children (event: 3 processes of 4 threads; prefork: 8 processes), each request's process logged
(%P, Httpd.served), a counting distribution point (harness.ocsp.DistributionPoint), a counting
OCSP responder (ScriptedResponder), `openssl ocsp` where a certificate must be revoked, and Redis
for a fleet of two servers.

(a) the distribution point stops: every child keeps accepting with the fetched CRL until its
nextUpdate, then refuses; (b) republished with a certificate revoked and back up: every child
refuses it within the retry pause plus one refresh interval, and accepts the others; (c) 50
concurrent first requests at a fresh start: all 200, one fetch; (d) 200 requests for one
certificate over every child: one OCSP query; two servers sharing Redis: one query in all; (e) the
responder down, then up: every child accepts again within the retry pause; (f) graceful restart
under load: no new fetch or query, no refusal; (g) files planted in the shared directory (another
CA's CRL, another certificate's OCSP response) change no verdict.

Every server here has `ArrCertCache none`, but (d)'s fleet: no verdict cache hides what the
revocation state says. Timing bounds are the module's (the first retry pause is 10 s)
plus a few seconds of slack for a loaded machine."""
import datetime
import json
import os
import threading
import time

import pytest

from harness.client import send
from harness.ocsp import DistributionPoint, OpenSslResponder, ScriptedResponder, wait_until
from harness.pki import now
from harness.revocation import PublishingCa, batch
from harness.servers import Httpd, Redis, make_workdir, write_file

REDIS = "socache_redis_module mod_socache_redis.so"
FIRST_RETRY_PAUSE = 10  # seconds, after a failed fetch or query (issue 27, item 4)
# A fetch from a distribution point that is down fails after the fetch timeout: OpenSSL's HTTP
# client tries a refused connection again until then.
CRL_FETCH_TIMEOUT = 10
SLACK = 3  # seconds: a fetch, a batch of requests, a loaded machine
WORKERS = 12  # concurrent requests of a batch: more than one process's threads
LAYOUTS = [("event", 3), ("prefork", 8)]


def server(ca, *lines, children=3, mpm="event", modules=(), cache="ArrCertCache none", extra=""):
    """httpd with `children` processes judging /r/ by `ca` (and `lines`: revocation directives),
    with the status page on /arrcert-status and its runtime directory (DefaultRuntimeDir) in its
    own folder, root's and 0755 as Debian's /run/apache2."""
    httpd = Httpd("", mpm=mpm, modules=modules, children=children)
    runtime = os.path.join(httpd.dir, "run")
    os.makedirs(runtime)
    os.chmod(runtime, 0o755)
    httpd.runtime = runtime
    body = "\n".join([
        f"DefaultRuntimeDir {runtime}",
        cache,
        f"ArrCertCACertificateFile {ca.cert.cert_path}",
        "<Location /r>",
        "    ArrCertVerifyClient require",
        *(f"    {line}" for line in lines),
        "</Location>",
        extra,
        "<Location /arrcert-status>",
        "    SetHandler arrcert-status",
        "    Require ip 127.0.0.1",
        "</Location>",
    ])
    httpd.body = body + "\n"
    httpd.add_file("r/index.html", "ok\n")
    return httpd


def answered(pki, label, *names, cdp=None, up=True):
    """A PublishingCa whose leaves name a counting OCSP responder, that responder (started if
    `up`, good for the CA's leaves named `names`), and those leaves."""
    ca = PublishingCa(pki, label, cdp)
    responder = ScriptedResponder(ca.cert, "good")
    ca.ocsp_url = responder.url("/")
    leaves = [ca.leaf(common_name) for common_name in names]
    if up:
        responder.start(known=[ca.cert, *leaves])
    return ca, responder, leaves


def fetching(refresh=None):
    return ["ArrCertCARevocationFetch on"] + ([f"ArrCertCARevocationRefresh {refresh}"] if refresh else [])


def status(httpd):
    answer = send(httpd, "/arrcert-status?format=json")
    assert answer.status == 200, answer.body
    return json.loads(answer.body)


def counters(httpd):
    return status(httpd)["counters"]


def on_every_child(httpd, certs_of_a_batch, expected, timeout=30):
    """Batches of requests (certs_of_a_batch() gives each batch's certificates) until every
    child of httpd served one; every answer must be `expected`. Returns the pids."""
    seen, deadline = set(), time.monotonic() + timeout
    while len(seen) < httpd.children:
        statuses, by_pid = batch(httpd, certs_of_a_batch())
        assert statuses == [expected] * len(statuses), (
            f"expected {expected} from every child: {by_pid}\n{httpd.error_log()[-3000:]}")
        seen |= set(by_pid)
        assert time.monotonic() < deadline, f"requests reached only {sorted(seen)} in {timeout} s"
    return seen


def until_every_child(httpd, certs_of_a_batch, expected, timeout):
    """Seconds until every child answers `expected`: batches are sent until the processes that
    answered only `expected` in a row of batches cover every child (a batch with another answer
    starts the row again). Fails after `timeout`, saying which processes answered what."""
    began = time.monotonic()
    agreeing, last = set(), {}
    while True:
        statuses, by_pid = batch(httpd, certs_of_a_batch())
        last = by_pid
        if all(status == expected for status in statuses):
            agreeing |= set(by_pid)
        else:
            agreeing = set()
        if len(agreeing) >= httpd.children:
            return time.monotonic() - began
        assert time.monotonic() - began < timeout, (
            f"not every child answers {expected} after {timeout} s; the last batch: {last}\n"
            f"{httpd.error_log()[-3000:]}")
        time.sleep(0.2)


def several(pids):
    assert len(pids) >= 2, f"every request was served by one process: {pids}"


# (a) -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mpm,children", LAYOUTS)
def test_a_every_child_keeps_the_fetched_crl_until_next_update_while_the_distribution_point_is_down(
        pki, mpm, children):
    cdp = DistributionPoint()
    ca = PublishingCa(pki, f"a_{mpm}", cdp)
    refresh = 1
    lifetime = refresh + CRL_FETCH_TIMEOUT + 2 * SLACK + 2
    next_update = now() + datetime.timedelta(seconds=lifetime)
    ca.publish(last_update=now() - datetime.timedelta(seconds=2), next_update=next_update)
    httpd = server(ca, *fetching(refresh=refresh), mpm=mpm, children=children)
    cdp.start()
    try:
        httpd.start()
        assert send(httpd, "/r/", ca.fresh()[0]).status == 200
        assert ca.fetches == 1
        cdp.stop()
        # Certificates no child has judged, on every child: each judged with the CRL fetched.
        on_every_child(httpd, lambda: ca.fresh(WORKERS), 200)
        # Past the refresh interval, a fetch failed (connection refused), and still: every child accepts.
        assert wait_until(lambda: send(httpd, "/r/", ca.fresh()[0]).status == 200
                          and counters(httpd)["CrlFetchFailures"] >= 1,
                          timeout=refresh + CRL_FETCH_TIMEOUT + SLACK), counters(httpd)
        on_every_child(httpd, lambda: ca.fresh(WORKERS), 200)
        assert now() < next_update, "too slow: nextUpdate passed before every child was asked"
        # After its nextUpdate, no CRL: every child refuses.
        time.sleep(max(0.0, (next_update - now()).total_seconds()) + 1)
        on_every_child(httpd, lambda: ca.fresh(WORKERS), 403)
        assert "unable to get certificate CRL" in httpd.error_log()
    finally:
        httpd.stop()
        cdp.stop()


# (b) -------------------------------------------------------------------------------------------
def test_b_republished_with_a_revocation_and_back_up_every_child_refuses_it(pki):
    refresh = 3
    cdp = DistributionPoint()
    ca = PublishingCa(pki, "b", cdp)
    alice, bob = ca.leaf("alice"), ca.leaf("bob")
    ca.publish()
    httpd = server(ca, *fetching(refresh=refresh))
    cdp.start()
    try:
        httpd.start()
        on_every_child(httpd, lambda: [alice, bob] * (WORKERS // 2), 200)
        cdp.stop()
        # Down long enough for a fetch to fail.
        assert wait_until(lambda: send(httpd, "/r/", bob).status == 200
                          and counters(httpd)["CrlFetchFailures"] >= 1,
                          timeout=refresh + CRL_FETCH_TIMEOUT + SLACK), counters(httpd)
        ca.publish(revoked=[bob])
        cdp.start()
        took = until_every_child(httpd, lambda: [bob] * WORKERS, 403,
                                 timeout=FIRST_RETRY_PAUSE + refresh + SLACK)
        print(f"\nevery child refuses the revoked certificate {took:.1f} s after the distribution point is back")
        assert "refused (rule chain): certificate revoked" in httpd.error_log()
        on_every_child(httpd, lambda: [alice] * (WORKERS // 2) + ca.fresh(WORKERS // 2), 200)
        # And no child goes back to the old CRL.
        on_every_child(httpd, lambda: [bob] * WORKERS, 403)
    finally:
        httpd.stop()
        cdp.stop()


# (c) -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mpm,children", LAYOUTS)
def test_c_fifty_concurrent_first_requests_wait_for_one_fetch(pki, mpm, children):
    cdp = DistributionPoint(delay=1.0)  # the fetch lasts a second: the others arrive meanwhile
    ca = PublishingCa(pki, f"c_{mpm}", cdp)
    ca.publish()
    certs = ca.fresh(50)
    httpd = server(ca, *fetching(), mpm=mpm, children=children)
    cdp.start()
    try:
        httpd.start()
        statuses, by_pid = batch(httpd, certs, workers=50)
        assert statuses == [200] * 50, f"{by_pid}\n{httpd.error_log()[-3000:]}"
        several(by_pid)
        assert ca.fetches == 1, f"{ca.fetches} fetches by {len(by_pid)} processes"
        data = status(httpd)
        assert data["counters"]["CrlFetches"] == 1, data["counters"]
        listed = [s for s in data["sources"] if s["name"] == cdp.url(ca.path)]
        assert len(listed) == 1 and listed[0]["successes"] == 1 and listed[0]["failures"] == 0, listed
    finally:
        httpd.stop()
        cdp.stop()


# (d) -------------------------------------------------------------------------------------------
def test_d_two_hundred_requests_over_every_child_make_one_ocsp_query(pki):
    ca, responder, (alice,) = answered(pki, "d", "alice")
    httpd = server(ca, "ArrCertOCSPEnable leaf")
    try:
        httpd.start()
        statuses, by_pid = batch(httpd, [alice] * 200)
        assert statuses == [200] * 200, f"{by_pid}\n{httpd.error_log()[-3000:]}"
        assert len(by_pid) == httpd.children, f"not every child served: {by_pid}"
        assert responder.queries() == 1, f"{responder.queries()} queries by {len(by_pid)} processes"
        assert counters(httpd)["OcspQueries"] == 1
    finally:
        httpd.stop()
        responder.stop()


def test_d_two_servers_sharing_redis_make_one_ocsp_query_in_all(pki):
    ca, responder, (carol,) = answered(pki, "d_fleet", "carol")
    redis = Redis().start()
    secret = os.path.join(make_workdir("arrcert-secret-"), "cache.secret")
    write_file(secret, os.urandom(32).hex() + "\n", 0o600)
    cache = f"ArrCertCache redis:{redis.address} none\nArrCertCacheSecret {secret}"
    # Two rule sets (the second also asks for O=Contoso): the second server finds no verdict of
    # the first's, and judges the certificate itself, with the OCSP answer it finds in Redis.
    fleet = [server(ca, "ArrCertOCSPEnable leaf", *rules, modules=[REDIS], cache=cache)
             for rules in ((), ('ArrCertSubject "O=Contoso"',))]
    try:
        for httpd in fleet:
            httpd.start()
        for httpd in fleet:
            mark = httpd.log_mark()
            statuses, by_pid = batch(httpd, [carol] * 100)
            assert statuses == [200] * 100, f"{by_pid}\n{httpd.error_log()[-3000:]}"
            several(by_pid)
            judged = [line for line in httpd.log_since(mark).splitlines() if "judged X-ARR-ClientCert" in line]
            assert judged and "from shared cache" not in judged[0], judged[:2]
        assert responder.queries() == 1, f"{responder.queries()} queries by two servers"
        assert [counters(httpd)["OcspQueries"] for httpd in fleet] == [1, 0]
    finally:
        for httpd in fleet:
            httpd.stop()
        redis.stop()
        responder.stop()


# (e) -------------------------------------------------------------------------------------------
def test_e_the_responder_down_then_up_every_child_accepts_within_the_retry_pause(pki):
    ca, responder, (frank,) = answered(pki, "e", "frank", up=False)
    httpd = server(ca, "ArrCertOCSPEnable leaf", "ArrCertOCSPResponderTimeout 2")
    try:
        httpd.start()
        # Down: never started. Every child refuses (hard fail) ...
        on_every_child(httpd, lambda: [frank] * WORKERS, 403)
        assert "OCSP responder unreachable" in httpd.error_log()
        # ... then it is up, and every child takes its answer within the pause.
        responder.start(known=[ca.cert, frank])
        took = until_every_child(httpd, lambda: [frank] * WORKERS, 200, timeout=FIRST_RETRY_PAUSE + SLACK)
        print(f"\nevery child accepts {took:.1f} s after the responder is back")
        assert responder.queries() == 1, f"{responder.queries()} queries once the responder was back"
    finally:
        httpd.stop()
        responder.stop()


# (f) -------------------------------------------------------------------------------------------
def test_f_graceful_restart_under_load_makes_no_fetch_and_refuses_nobody(pki):
    cdp = DistributionPoint()
    ca, responder, certs = answered(pki, "f", "user0", "user1", "user2", "user3", cdp=cdp)
    ca.publish()
    httpd = server(ca, *fetching(), "ArrCertOCSPEnable leaf")
    cdp.start()
    try:
        httpd.start()
        before = on_every_child(httpd, lambda: certs * (WORKERS // len(certs)), 200)
        fetches, queries = ca.fetches, responder.queries()
        answers, failures, stop = [], [], threading.Event()

        def load():
            while not stop.is_set():
                try:
                    answers.extend(batch(httpd, certs, workers=len(certs))[0])
                except Exception as error:  # a request that failed is a finding too
                    failures.append(repr(error))

        loader = threading.Thread(target=load)
        mark = len(httpd.served())
        loader.start()
        try:
            assert wait_until(lambda: len(answers) >= 3 * len(certs))
            httpd.graceful(httpd.body)
            # Until each of the new children served requests.
            assert wait_until(lambda: len({pid for pid, _, _ in httpd.served(mark)} - before) >= httpd.children,
                              timeout=20), httpd.served(mark)[-20:]
        finally:
            stop.set()
            loader.join()
        new = {pid for pid, _, _ in httpd.served(mark)} - before
        refused = [(pid, s) for pid, s, path in httpd.served(mark) if path.startswith("/r/") and s != 200]
        assert not failures and not refused and set(answers) == {200}, (
            f"{failures[:3]} {refused[:10]}\n{httpd.error_log()[-3000:]}")
        assert (ca.fetches, responder.queries()) == (fetches, queries), (
            f"new children ({sorted(new)}) fetched or asked again")
    finally:
        httpd.stop()
        cdp.stop()
        responder.stop()


# (g) -------------------------------------------------------------------------------------------
def shared_files(httpd):
    """{name: bytes} of the files in the shared revocation directory (lock files left out)."""
    directory = os.path.join(httpd.runtime, "arrcert-revocation")
    found = {}
    for entry in sorted(os.listdir(directory)):
        path = os.path.join(directory, entry)
        if os.path.isfile(path) and not entry.endswith(".lock"):
            found[entry] = open(path, "rb").read()
    return found


def holding(files, needle):
    """The one file whose content holds `needle` (bytes)."""
    names = [entry for entry, data in files.items() if needle in data]
    assert len(names) == 1, f"{len(names)} files hold it: {sorted(files)}"
    return names[0]


def plant(httpd, source, target):
    """Renames `source` over `target` in the shared directory, as someone else would."""
    directory = os.path.join(httpd.runtime, "arrcert-revocation")
    os.replace(os.path.join(directory, source), os.path.join(directory, target))


def test_g_a_crl_from_another_ca_planted_over_the_fetched_one_changes_no_verdict(pki):
    cdp = DistributionPoint()
    ca = PublishingCa(pki, "g", cdp)
    # Another CA with the same name and another key, and its CRL, which revokes nobody.
    twin = PublishingCa(pki, "g_twin", cdp)
    twin.cert = pki.issue("sr_g_twin_ca", ca.cert.cert.subject, ca=True)
    alice, bob = ca.leaf("alice"), ca.leaf("bob")
    twin_leaf = twin.leaf("twin")
    own = ca.publish(revoked=[bob])
    planted = twin.publish()
    # The twin is trusted on /t (its CRL fetched there): two files in the shared directory.
    httpd = server(ca, *fetching(), extra=f"""<Location /t>
    ArrCertVerifyClient require
    ArrCertCACertificateFile {twin.cert.cert_path}
    ArrCertCARevocationFetch on
</Location>""")
    httpd.add_file("t/index.html", "twin\n")
    cdp.start()
    try:
        httpd.start()
        on_every_child(httpd, lambda: [alice] * WORKERS, 200)
        assert send(httpd, "/r/", bob).status == 403
        assert send(httpd, "/t/", twin_leaf).status == 200
        files = shared_files(httpd)
        plant(httpd, holding(files, planted), holding(files, own))
        # Children that read it from now on: a graceful restart's, and those already running.
        httpd.graceful(httpd.body)
        on_every_child(httpd, lambda: [bob] * WORKERS, 403)
        on_every_child(httpd, lambda: [alice] * (WORKERS // 2) + ca.fresh(WORKERS // 2), 200)
    finally:
        httpd.stop()
        cdp.stop()


def test_g_an_ocsp_response_for_another_certificate_planted_over_this_ones_changes_no_verdict(pki):
    ca = PublishingCa(pki, "g_ocsp")
    responder = OpenSslResponder(ca.cert, ca.cert)
    ca.ocsp_url = responder.url("/")
    good, revoked = ca.leaf("good"), ca.leaf("revoked")
    responder.start(good=[good], revoked=[revoked])
    httpd = server(ca, "ArrCertOCSPEnable leaf")
    try:
        httpd.start()
        assert send(httpd, "/r/", good).status == 200
        assert send(httpd, "/r/", revoked).status == 403
        files = shared_files(httpd)
        serial = lambda cert: cert.cert.serial_number.to_bytes((cert.cert.serial_number.bit_length() + 8) // 8, "big")
        plant(httpd, holding(files, serial(good)), holding(files, serial(revoked)))
        httpd.graceful(httpd.body)
        on_every_child(httpd, lambda: [revoked] * WORKERS, 403)
        on_every_child(httpd, lambda: [good] * WORKERS, 200)
    finally:
        httpd.stop()
        responder.stop()
