"""Load and restarts (reliability): wrk with several hundred connections and a mix of valid,
refused and malformed headers from many distinct certificates; graceful restarts under load while
the CA file, the CRLs and the directives change. Every answer is checked, not only counted."""
import collections
import os
import subprocess
import textwrap
import time

import pytest

from harness import load
from harness.pki import name
from harness.servers import Httpd, Redis, make_workdir

MALFORMED = [
    "not base64 at all",
    "TUlJQg==",                      # base64 of a truncated DER start
    "MIIB" + "A" * 5000,             # a long run of nonsense base64
    "-----BEGIN CERTIFICATE-----",   # armour without a body
    "%2B%2F%3D",                      # percent-encoding where base64 was expected
    "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",  # a public key's start, not a certificate
    "",                               # no header at all under require
]


def threaded(body, threads=64, children=2):
    """Enough threads for several hundred connections (the harness default is one small child)."""
    return body + (f"ServerLimit {children}\nStartServers {children}\nThreadsPerChild {threads}\n"
                   f"MaxRequestWorkers {threads * children}\nMaxSpareThreads {threads * children}\n")


def sample_rss(httpd, process, every=1.0):
    samples = []
    while process.poll() is None:
        samples.append(sum(load.children_rss_kib(httpd.process.pid).values()))
        time.sleep(every)
    return samples


@pytest.mark.parametrize("cache", ["memory", "shmcb", "redis"])
def test_mixed_load_many_certificates_every_answer_right(pki, cache):
    """With each kind of cache: the per-process one, shmcb alone (global mutex, many threads) and
    Redis alone (lookups on worker threads with a deadline, stores in the background)."""
    workdir = make_workdir("arrcert-load-")
    backend = Redis().start() if cache == "redis" else None
    cache_lines = {"memory": "ArrCertCache memory:1000\n",
                   "shmcb": f"ArrCertCache shmcb:{workdir}/verdicts(4194304) none\n",
                   "redis": f"ArrCertCache redis:{backend.address if backend else ''} none\n"}[cache]
    modules = {"memory": [], "shmcb": ["socache_shmcb_module mod_socache_shmcb.so"],
               "redis": ["socache_redis_module mod_socache_redis.so"]}[cache]
    stranger_ca = pki.issue("load_stranger_ca", name(("CN", "Stranger CA")), ca=True)
    valid = load.many_leaves(pki.ca, 300, "valid")
    refused = load.many_leaves(stranger_ca, 100, "refused")
    items = [("ok", v) for v in valid] + [("no", v) for v in refused] + [("no", v) for v in MALFORMED] * 10
    # A connection per request: with several hundred keep-alive connections, wrk counts read errors
    # against httpd's event MPM even without the module and without any header (measured), so
    # they could not tell a failure of the module apart.
    script = load.write_mix(workdir, items, connection="close")
    httpd = Httpd(threaded(cache_lines + f"""
        <Location />
            ArrCertVerifyClient require
            ArrCertCACertificateFile {pki.ca.cert_path}
        </Location>
        """, threads=160), modules=modules, log_level="warn")
    for label in ("ok", "no"):
        httpd.add_file(f"{label}/index.html", "hello\n")
    httpd.start()
    try:
        process = subprocess.Popen(["wrk", "-t2", "-c300", "-d12s", "--timeout", "10s", "-s", script,
                                    httpd.url("/")], stdout=subprocess.PIPE, text=True)
        samples = sample_rss(httpd, process)
        out = process.communicate()[0]
        errors = load.wrk_errors(out)
        logged = load.logged_requests(httpd.access_log())
        counts = collections.Counter((label, status) for label, status, _ in logged)
        wrong = [(label, status) for label, status, _ in logged if (label == "ok") != (status == 200)]
        print(f"\n{len(logged)} requests: {dict(counts)}; wrk errors {errors}; children RSS (KiB) {samples}")
        assert not any(errors.values()), out
        assert counts[("ok", 200)] > 1000 and counts[("no", 403)] > 500, counts
        assert wrong == [], wrong[:10]
        assert "AH00052" not in httpd.error_log()  # no child died of a signal
        # Flat: after the first seconds (caches filling, threads starting) memory does not climb.
        settled = samples[3:]
        assert settled and max(settled) <= settled[0] * 1.10 + 4096, samples
        assert "ArrCertCache" not in httpd.error_log()  # the backend never failed
    finally:
        httpd.stop()
        if backend:
            backend.stop()


def test_graceful_restarts_under_load_no_failure_no_mixture(pki):
    """Every few seconds the CA file is rewritten, another CRL file is named and a rule changes;
    each response carries its configuration's generation, and must be what that generation says."""
    workdir = make_workdir("arrcert-graceful-")
    second_ca = pki.issue("graceful_ca2", name(("O", "Contoso"), ("CN", "Second CA")), ca=True)
    people = {who: pki.leaf(f"graceful_{who}", who) for who in ("alice", "bob", "erin")}
    people["dave"] = pki.issue("graceful_dave", name(("O", "Contoso"), ("CN", "dave")), issuer=second_ca)
    ca_file = os.path.join(workdir, "ca.pem")
    crl_files = {}
    for parity, revoked in (("even", ()), ("odd", (people["erin"],))):
        path = os.path.join(workdir, f"crl-{parity}.pem")
        pki.write_crl(path + ".1", pki.ca, revoked)
        pki.write_crl(path + ".2", second_ca)
        with open(path, "w") as f:
            f.write(open(path + ".1").read() + open(path + ".2").read())
        crl_files[parity] = path

    def generation(number):
        even = number % 2 == 0
        with open(ca_file + ".next", "w") as f:  # rewritten in place: read once per generation
            f.write(pki.ca.pem + (second_ca.pem if even else ""))
        os.replace(ca_file + ".next", ca_file)
        subjects = "\n".join(f'ArrCertSubject "CN={who}"' for who in ("alice", "dave", "erin", "bob")[:4 if even else 3])
        return threaded(f"""
            Header always set X-Gen "{number}"
            LogFormat "%{{X-Gen}}o \\"%r\\" %>s" generation
            CustomLog {workdir}/generation.log generation
            <Location />
                ArrCertVerifyClient require
                ArrCertCACertificateFile {ca_file}
                ArrCertCARevocationFile {crl_files["even" if even else "odd"]}
                ArrCertCARevocationCheck leaf
{textwrap.indent(subjects, " " * 16)}
            </Location>
            """, threads=32)

    items = [(who, cert.azure_header) for who, cert in people.items()] * 3 + [("bad", v) for v in MALFORMED]
    script = load.write_mix(workdir, items, connection="close")
    httpd = Httpd(generation(0), modules=["headers_module mod_headers.so"], log_level="warn")
    for label in (*people, "bad"):
        httpd.add_file(f"{label}/index.html", "hello\n")
    httpd.start()
    restarts = 0
    try:
        process = subprocess.Popen(["wrk", "-t2", "-c64", "-d20s", "--timeout", "10s", "-s", script,
                                    httpd.url("/")], stdout=subprocess.PIPE, text=True)
        while process.poll() is None:
            time.sleep(2)
            if process.poll() is None:
                restarts += 1
                httpd.graceful(generation(restarts))
        out = process.communicate()[0]
        with open(os.path.join(workdir, "generation.log")) as f:
            logged = load.logged_requests(f.read())
        seen = collections.Counter()
        wrong = []
        for label, status, prefix in logged:
            number = int(prefix.split()[0])
            seen[number] += 1
            passes = label == "alice" or (label in ("bob", "dave", "erin") and number % 2 == 0)
            if status != (200 if passes else 403):
                wrong.append((number, label, status))
        print(f"\n{restarts} graceful restarts, {len(logged)} requests by generation {dict(sorted(seen.items()))}; "
              f"wrk errors {load.wrk_errors(out)}")
        assert restarts >= 5 and len(seen) >= 5, seen
        assert not any(load.wrk_errors(out).values()), out
        assert wrong == [], wrong[:10]
    finally:
        httpd.stop()
