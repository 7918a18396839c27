#!/usr/bin/python3
"""make bench, revocation part: CRL fetches and OCSP queries per server for N children (issue 27).

Each layout is a real httpd (event with N processes of 4 threads, or prefork with N processes)
judging every request afresh (ArrCertCache none) by a CRL from the certificates' distribution
point and an OCSP answer from their responder, both counting what they are asked. It gets a
burst of first requests (fresh certificates, all at once), then REQUESTS requests for one
certificate spread over its children, then a graceful restart and the same again. The last row
is a fleet: two servers of 4 children sharing Redis (ArrCertCache redis, one ArrCertCacheSecret),
one after the other, with rules that differ (neither finds the other's verdicts).
Printed: the processes that served, the fetches and queries, the refusals (each a valid
certificate refused). Figures, not tests: nothing here asserts."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness.ocsp import DistributionPoint, ScriptedResponder  # noqa: E402
from harness.pki import Pki  # noqa: E402
from harness.revocation import PublishingCa, batch  # noqa: E402
from harness.servers import Httpd, Redis, make_workdir, remove_workdirs, write_file  # noqa: E402

REQUESTS = int(os.environ.get("ARRCERT_BENCH_REVOCATION_REQUESTS", "120"))
BURST = 24
LAYOUTS = [("event", 1), ("event", 3), ("event", 6), ("prefork", 4), ("prefork", 12)]
REDIS = "socache_redis_module mod_socache_redis.so"


def site(ca, cache="ArrCertCache none", rule=""):
    return f"""
        {cache}
        ArrCertCACertificateFile {ca.cert.cert_path}
        <Location /r>
            ArrCertVerifyClient require
            ArrCertCARevocationFetch on
            ArrCertOCSPEnable leaf
            {rule}
        </Location>
        """


def drive(httpd, burst, one):
    """The burst, the spread requests, a graceful restart and the spread requests again:
    (processes that served, refusals)."""
    pids, refused = set(), 0
    for step in ("burst", "spread", "graceful"):
        if step == "graceful":
            httpd.graceful(httpd.body)
            time.sleep(1)
        certs = burst if step == "burst" else [one] * REQUESTS
        statuses, by_pid = batch(httpd, certs, workers=len(burst) if step == "burst" else 12)
        pids |= set(by_pid)
        refused += sum(status != 200 for status in statuses)
    return pids, refused


def measure(pki, label, layouts, cache="ArrCertCache none", modules=()):
    """One server per layout, one after the other (a fleet when they share `cache`):
    (processes that served, CRL fetches, OCSP queries, refusals) in all."""
    cdp = DistributionPoint()
    ca = PublishingCa(pki, label, cdp)
    responder = ScriptedResponder(ca.cert, "good")
    ca.ocsp_url = responder.url("/")
    one = ca.leaf("one")
    bursts = [ca.fresh(BURST) for _ in layouts]
    ca.publish()
    cdp.start()
    responder.start(known=[ca.cert, one, *(cert for burst in bursts for cert in burst)])
    pids, refused = set(), 0
    try:
        for index, ((mpm, children), burst) in enumerate(zip(layouts, bursts)):
            # Each server of a fleet has rules of its own: none finds another's verdicts, each
            # judges with the revocation state it shares.
            rule = 'ArrCertSubject "O=Contoso"' if index % 2 else ""
            httpd = Httpd(site(ca, cache, rule), mpm=mpm, children=children,
                          modules=list(modules), log_level="warn")
            httpd.add_file("r/index.html", "ok\n")
            try:
                httpd.start()
                served, failed = drive(httpd, burst, one)
            finally:
                httpd.stop()
            pids |= served
            refused += failed
        return len(pids), ca.fetches, responder.queries(), refused
    finally:
        responder.stop()
        cdp.stop()


def row(layout, certificates, figures):
    processes, fetches, queries, refused = figures
    print(f"{layout:<30} {processes:>9} {certificates:>12} {fetches:>11} {queries:>12} {refused:>7}")


def main():
    workdir = make_workdir("arrcert-bench-revocation-")
    pki = Pki(workdir)
    print(f"\nrevocation per server: {BURST} first requests at once (fresh certificates), {REQUESTS} for one "
          f"certificate, a graceful restart, {REQUESTS} again; ArrCertCache none")
    print(f"{'layout':<30} {'processes':>9} {'certificates':>12} {'CRL fetches':>11} {'OCSP queries':>12} "
          f"{'refused':>7}")
    for mpm, children in LAYOUTS:
        label = f"{mpm}, {children} {'child' if children == 1 else 'children'}"
        row(label, BURST + 1, measure(pki, f"bench_{mpm}_{children}", [(mpm, children)]))
    redis = Redis().start()
    secret = os.path.join(workdir, "cache.secret")
    write_file(secret, os.urandom(32).hex() + "\n", 0o600)
    try:
        cache = f"ArrCertCache redis:{redis.address} none\nArrCertCacheSecret {secret}"
        row("fleet: 2 servers, event, 4 each", 2 * BURST + 1,
            measure(pki, "bench_fleet", [("event", 4), ("event", 4)], cache=cache, modules=[REDIS]))
    finally:
        redis.stop()
    print("(at best: one CRL fetch a server, or a fleet sharing a cache, and one OCSP query a certificate)")
    remove_workdirs()


if __name__ == "__main__":
    main()
