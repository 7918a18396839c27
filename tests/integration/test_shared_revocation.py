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
from harness.scripted import ScriptedHttp
from harness.servers import Httpd, Redis, location, make_workdir, write_file

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
    with the status page on /arrcert-status; httpd.runtime: its DefaultRuntimeDir (the harness
    gives each server its own, root's as Debian's /run/apache2)."""
    httpd = Httpd("", mpm=mpm, modules=modules, children=children)
    httpd.runtime = os.path.join(httpd.dir, "run")
    body = "\n".join([
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


def on_every_child(httpd, certs_of_a_batch, expected, timeout=30, path="/r/"):
    """Batches of requests for `path` (certs_of_a_batch() gives each batch's certificates) until
    every child of httpd served one; every answer must be `expected`. Returns the pids."""
    seen, deadline = set(), time.monotonic() + timeout
    while len(seen) < httpd.children:
        statuses, by_pid = batch(httpd, certs_of_a_batch(), path=path)
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


def fleet_of_two(ca, *lines):
    """Redis (started) and two servers (not started) sharing it with one ArrCertCacheSecret, each
    judging /r/ with `lines`. Their rule sets differ (the second also asks for O=Contoso): neither
    finds the other's verdicts, each judges a certificate itself, with the revocation documents
    it finds in Redis."""
    redis = Redis().start()
    secret = os.path.join(make_workdir("arrcert-secret-"), "cache.secret")
    write_file(secret, os.urandom(32).hex() + "\n", 0o600)
    cache = f"ArrCertCache redis:{redis.address} none\nArrCertCacheSecret {secret}"
    return redis, [server(ca, *lines, *rules, modules=[REDIS], cache=cache)
                   for rules in ((), ('ArrCertSubject "O=Contoso"',))]


def test_d_two_servers_sharing_redis_make_one_fetch_and_one_ocsp_query_in_all(pki):
    cdp = DistributionPoint()
    ca, responder, (carol,) = answered(pki, "d_fleet", "carol", cdp=cdp)
    ca.publish()
    cdp.start()
    redis, fleet = fleet_of_two(ca, "ArrCertOCSPEnable leaf", *fetching())
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
        assert (ca.fetches, responder.queries()) == (1, 1), "fetches and queries of two servers"
        assert [(counters(httpd)["CrlFetches"], counters(httpd)["OcspQueries"]) for httpd in fleet] == [(1, 1), (0, 0)]
    finally:
        for httpd in fleet:
            httpd.stop()
        redis.stop()
        responder.stop()
        cdp.stop()


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


def test_f_children_replaced_after_max_connections_per_child_fetch_and_ask_nothing(pki):
    cdp = DistributionPoint()
    ca, responder, (alice,) = answered(pki, "f_max", "alice", cdp=cdp)
    ca.publish()
    httpd = server(ca, *fetching(), "ArrCertOCSPEnable leaf", mpm="prefork", children=4,
                   extra="MaxConnectionsPerChild 3")
    cdp.start()
    try:
        httpd.start()
        statuses, by_pid = batch(httpd, [alice] * 40, workers=4)
        assert statuses == [200] * 40, f"{by_pid}\n{httpd.error_log()[-3000:]}"
        assert len(by_pid) > httpd.children, f"no child was replaced: {by_pid}"
        assert (ca.fetches, responder.queries()) == (1, 1), f"{len(by_pid)} processes"
    finally:
        httpd.stop()
        cdp.stop()
        responder.stop()


# Ahead of need (issue 27, item 3) and the status page (item 5) ------------------------------------
def fetched_until_its_middle(pki, label):
    """A distribution point (started) serving a CRL whose window is 16 s, 2 s of it gone, and
    httpd (started, ArrCertRevocationRefreshAt 50, ArrCertCARevocationRefresh 3600) whose every
    child judged by it: (distribution point, ca, httpd, the CRL's nextUpdate)."""
    cdp = DistributionPoint()
    ca = PublishingCa(pki, label, cdp)
    next_update = now() + datetime.timedelta(seconds=14)
    ca.publish(last_update=now() - datetime.timedelta(seconds=2), next_update=next_update)
    httpd = server(ca, *fetching(refresh=3600))
    httpd.body = "ArrCertRevocationRefreshAt 50\n" + httpd.body
    cdp.start()
    try:
        httpd.start()
        on_every_child(httpd, lambda: ca.fresh(WORKERS), 200)
    except BaseException:
        httpd.stop()
        cdp.stop()
        raise
    return cdp, ca, httpd, next_update


def test_a_crl_is_fetched_again_in_the_background_at_the_refresh_point_and_nobody_waits_at_its_end(pki):
    """ArrCertRevocationRefreshAt 50 and a CRL whose window is 16 s: fetched again (once, for
    every child) at its middle, with no request, before its nextUpdate; after that, every child
    accepts at once."""
    cdp, ca, httpd, next_update = fetched_until_its_middle(pki, "h")
    try:
        assert ca.fetches == 1
        ca.publish(last_update=now())  # the next CRL: a day long
        assert wait_until(lambda: ca.fetches >= 2, timeout=8 + SLACK), "not fetched again at 50% of its window"
        assert now() < next_update, "fetched again only at its nextUpdate"
        time.sleep(max(0.0, (next_update - now()).total_seconds()) + 0.5)
        began = time.monotonic()
        on_every_child(httpd, lambda: ca.fresh(WORKERS), 200)
        print(f"\nevery child accepted past the first CRL's nextUpdate in {time.monotonic() - began:.1f} s")
        assert ca.fetches == 2, f"{ca.fetches} fetches: more than one for the refresh"
    finally:
        httpd.stop()
        cdp.stop()


def test_each_scope_keeps_its_own_refresh_interval_for_a_shared_crl(pki):
    """ArrCertCARevocationRefresh is a directory directive: /fast (2 s) and /r (an hour) judge by
    one CRL, which every child holds from /r first. A revocation published afterwards counts on
    /fast within its 2 s (as it did when each scope's interval was checked at each request)."""
    cdp = DistributionPoint()
    ca = PublishingCa(pki, "scopes", cdp)
    alice, bob = ca.leaf("alice"), ca.leaf("bob")
    ca.publish(last_update=now() - datetime.timedelta(minutes=10))
    httpd = server(ca, *fetching(refresh=3600), extra=location(
        "/fast", "ArrCertVerifyClient require", "ArrCertCARevocationFetch on", "ArrCertCARevocationRefresh 2"))
    httpd.add_file("fast/index.html", "fast\n")
    cdp.start()
    try:
        httpd.start()
        on_every_child(httpd, lambda: [alice] * WORKERS, 200)
        on_every_child(httpd, lambda: [bob] * WORKERS, 200, path="/fast/")
        ca.publish(revoked=[bob], last_update=now() - datetime.timedelta(minutes=1))
        assert wait_until(lambda: send(httpd, "/fast/", bob).status == 403, timeout=2 + SLACK), (
            f"{ca.fetches} fetches: /fast's interval not kept")
    finally:
        httpd.stop()
        cdp.stop()


def test_a_distribution_point_serving_an_older_crl_is_not_asked_every_second(pki):
    """At the refresh point the distribution point serves an older CRL than the one fetched (a
    stale mirror behind it): the module keeps the newer one, and does not fetch again at once,
    from every child, every second."""
    cdp, ca, httpd, _ = fetched_until_its_middle(pki, "h_stale")
    try:
        ca.publish(last_update=now() - datetime.timedelta(minutes=5))  # valid for a day, but older
        assert wait_until(lambda: ca.fetches >= 2, timeout=8 + SLACK), "not fetched again at 50% of its window"
        began = time.monotonic()
        while time.monotonic() - began < 5:
            on_every_child(httpd, lambda: ca.fresh(WORKERS), 200)
        assert ca.fetches <= 3, f"{ca.fetches} fetches in the 5 s after the refresh point"
    finally:
        httpd.stop()
        cdp.stop()


def test_status_page_shows_each_source_once_with_last_fetch_next_refresh_and_failures(pki):
    cdp = DistributionPoint()
    ca, responder, _ = answered(pki, "status", cdp=cdp, up=False)
    certs = ca.fresh(WORKERS * 3)
    responder.start(known=[ca.cert, *certs])
    ca.publish()
    httpd = server(ca, *fetching(refresh=2), "ArrCertOCSPEnable leaf")
    cdp.start()
    try:
        httpd.start()
        batches = iter([certs[i:i + WORKERS] for i in range(0, len(certs), WORKERS)])
        on_every_child(httpd, lambda: next(batches), 200)

        def sources():
            return {(s["kind"], s["name"]): s for s in status(httpd)["sources"]}

        listed = [s for s in status(httpd)["sources"] if s["name"] in (cdp.url(ca.path), responder.url("/"))]
        assert sorted(s["kind"] for s in listed) == ["crl-distribution-point", "ocsp-responder"], listed
        crl = sources()[("crl-distribution-point", cdp.url(ca.path))]
        assert crl["successes"] == 1 and crl["failures"] == 0 and crl["last_success"] is not None, crl
        assert crl.get("next_refresh") is not None, f"no next refresh shown: {crl}"
        # The CRL withdrawn (404): a failed fetch, shown once, with when it is tried again.
        os.remove(os.path.join(cdp.dir, ca.path[1:]))
        assert wait_until(lambda: sources()[("crl-distribution-point", cdp.url(ca.path))]["failures"] >= 1,
                          timeout=2 + SLACK)
        crl = sources()[("crl-distribution-point", cdp.url(ca.path))]
        assert crl["failures"] == 1 and crl["last_error"] and crl.get("next_refresh") is not None, crl
    finally:
        httpd.stop()
        cdp.stop()
        responder.stop()


def test_the_ocsp_request_goes_to_the_url_the_certificate_names(pki):
    """Issue 27, item 6: no empty query (`?`) appended to the responder's URL, and a query kept."""
    asked = []

    def answer(method, path, body):
        asked.append(path)
        return 500, {}, b""

    responder = ScriptedHttp(answer)
    ca = PublishingCa(pki, "url")
    certs = []
    for path in ("/ocsp/responder", "/ocsp?tenant=a"):
        ca.ocsp_url = responder.url(path)
        certs.append(ca.leaf(path))
    httpd = server(ca, "ArrCertOCSPEnable leaf soft_fail")
    try:
        httpd.start()
        for cert in certs:
            send(httpd, "/r/", cert)
        assert asked == ["/ocsp/responder", "/ocsp?tenant=a"]
    finally:
        httpd.stop()
        responder.stop()


# (g) -------------------------------------------------------------------------------------------
def shared_directory(httpd):
    return os.path.join(httpd.runtime, "arrcert-revocation")


def document_holding(httpd, needle):
    """The name of the one document (NAME.der) in the shared directory whose bytes hold `needle`."""
    names = [entry for entry in sorted(os.listdir(shared_directory(httpd))) if entry.endswith(".der")
             and needle in open(os.path.join(shared_directory(httpd), entry), "rb").read()]
    assert len(names) == 1, f"{len(names)} documents hold it: {sorted(os.listdir(shared_directory(httpd)))}"
    return names[0]


def plant(httpd, target, data):
    """Writes `data` as the document `target`, whole (as the module writes its own), as someone
    else who can write there would."""
    path = os.path.join(shared_directory(httpd), target)
    with open(path + ".planted", "wb") as f:
        f.write(data)
    os.replace(path + ".planted", path)


def serial(cert):
    """The content octets of the certificate's serialNumber, as DER holds them."""
    number = cert.cert.serial_number
    return number.to_bytes((number.bit_length() + 8) // 8, "big")


def test_g_a_crl_from_another_ca_planted_over_the_fetched_one_changes_no_verdict(pki):
    cdp = DistributionPoint()
    ca = PublishingCa(pki, "g", cdp)
    # Another CA with the same name and another key, trusted on /t: its CRL, which revokes
    # nobody, fetched there, is the module's own document, renamed over the CA's.
    twin = PublishingCa(pki, "g_twin", cdp)
    twin.cert = pki.issue("sr_g_twin_ca", ca.cert.cert.subject, ca=True)
    alice, bob, twin_leaf = ca.leaf("alice"), ca.leaf("bob"), twin.leaf("twin")
    own = ca.publish(revoked=[bob])
    planted = twin.publish()
    httpd = server(ca, *fetching(), extra=location(
        "/t", "ArrCertVerifyClient require", f"ArrCertCACertificateFile {twin.cert.cert_path}",
        "ArrCertCARevocationFetch on"))
    httpd.add_file("t/index.html", "twin\n")
    cdp.start()
    try:
        httpd.start()
        on_every_child(httpd, lambda: [alice] * WORKERS, 200)
        assert send(httpd, "/r/", bob).status == 403
        assert send(httpd, "/t/", twin_leaf).status == 200
        fetches = ca.fetches
        directory = shared_directory(httpd)
        os.replace(os.path.join(directory, document_holding(httpd, planted)),
                   os.path.join(directory, document_holding(httpd, own)))
        # Read by the children of a graceful restart: refused, fetched again, once.
        httpd.graceful(httpd.body)
        on_every_child(httpd, lambda: [bob] * WORKERS, 403)
        on_every_child(httpd, lambda: [alice] * (WORKERS // 2) + ca.fresh(WORKERS // 2), 200)
        assert ca.fetches == fetches + 1, "the planted CRL was not read, or not refused"
    finally:
        httpd.stop()
        cdp.stop()


def test_g_an_older_crl_of_the_same_ca_planted_over_the_fetched_one_changes_no_verdict(pki):
    """The module's own document of a CRL the CA signed before it revoked bob (still within its
    validity: CAs publish with overlapping validity), put back over the current one's by anyone
    who can write the runtime directory (httpd's user: a CGI or PHP-FPM script), as a graceful
    restart lengthens ArrCertCARevocationRefresh (2 s, then an hour): the new children, which
    hold no CRL yet, must not take the older one."""
    cdp = DistributionPoint()
    ca = PublishingCa(pki, "g_older", cdp)
    alice, bob = ca.leaf("alice"), ca.leaf("bob")
    older = ca.publish(last_update=now() - datetime.timedelta(minutes=10))
    httpd = server(ca, *fetching(refresh=2))
    cdp.start()
    try:
        httpd.start()
        on_every_child(httpd, lambda: [alice, bob] * (WORKERS // 2), 200)
        name = document_holding(httpd, older)
        replay = open(os.path.join(shared_directory(httpd), name), "rb").read()
        ca.publish(revoked=[bob], last_update=now() - datetime.timedelta(minutes=1))
        # Every process takes a newer file within a second.
        until_every_child(httpd, lambda: [bob] * WORKERS, 403, timeout=2 + SLACK)
        plant(httpd, name, replay)
        httpd.graceful(httpd.body.replace("ArrCertCARevocationRefresh 2", "ArrCertCARevocationRefresh 3600"))
        on_every_child(httpd, lambda: [bob] * WORKERS, 403)
        on_every_child(httpd, lambda: [alice] * WORKERS, 200)
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
        target = document_holding(httpd, serial(revoked))
        plant(httpd, target, open(os.path.join(shared_directory(httpd), document_holding(httpd, serial(good))),
                                  "rb").read())
        httpd.graceful(httpd.body)
        on_every_child(httpd, lambda: [revoked] * WORKERS, 403)
        on_every_child(httpd, lambda: [good] * WORKERS, 200)
        # Refused, asked again, written again.
        assert document_holding(httpd, serial(revoked)) == target
    finally:
        httpd.stop()
        responder.stop()


def test_g_a_value_planted_in_redis_changes_no_verdict(pki):
    """In the fleet's cache, the sealed OCSP response of a good certificate copied over a revoked
    one's: the second server refuses the revoked certificate (and asks for it itself) and takes
    the good one's answer from Redis."""
    ca = PublishingCa(pki, "g_redis")
    responder = OpenSslResponder(ca.cert, ca.cert)
    ca.ocsp_url = responder.url("/")
    good, revoked = ca.leaf("good"), ca.leaf("revoked")
    responder.start(good=[good], revoked=[revoked])
    redis, (first, second) = fleet_of_two(ca, "ArrCertOCSPEnable leaf")
    try:
        first.start()
        assert send(first, "/r/", good).status == 200
        assert send(first, "/r/", revoked).status == 403
        documents = {key: redis.command("GET", key) for key in redis.command("KEYS", "*")}

        def key_holding(needle):
            keys = [key for key, value in documents.items() if needle in value]
            assert len(keys) == 1, f"{len(keys)} documents in Redis hold it ({len(documents)} in all)"
            return keys[0]

        assert redis.command("SET", key_holding(serial(revoked)), documents[key_holding(serial(good))]) == "OK"
        second.start()
        assert send(second, "/r/", revoked).status == 403
        assert send(second, "/r/", good).status == 200
        assert counters(second)["OcspQueries"] == 1, "the second server asked for both, or for neither"
    finally:
        for httpd in (first, second):
            httpd.stop()
        redis.stop()
        responder.stop()


def test_g_a_response_taken_without_a_nonce_is_not_taken_where_one_is_required(pki):
    """One scope asks without a nonce (ArrCertOCSPUseRequestNonce off), another with one (the
    default); a responder answers without a nonce (as a replayed answer would). The answer the
    first scope took, shared, is not taken by the second, as it is not when the second asks
    first (the control, with another certificate)."""
    ca = PublishingCa(pki, "g_nonce")
    responder = ScriptedResponder(ca.cert, "replay")
    ca.ocsp_url = responder.url("/")
    dave, erin = ca.leaf("dave"), ca.leaf("erin")
    responder.start(known=[ca.cert, dave, erin])
    httpd = server(ca, "ArrCertOCSPEnable leaf", extra=location(
        "/plain", "ArrCertVerifyClient require", "ArrCertOCSPEnable leaf", "ArrCertOCSPUseRequestNonce off"))
    httpd.add_file("plain/index.html", "plain\n")
    try:
        httpd.start()
        assert send(httpd, "/r/", erin).status == 403
        assert send(httpd, "/plain/", dave).status == 200
        on_every_child(httpd, lambda: [dave] * WORKERS, 403)
        assert "refused (rule chain): OCSP response nonce does not match the request" in httpd.error_log()
    finally:
        httpd.stop()
        responder.stop()
