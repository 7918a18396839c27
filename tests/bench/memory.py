#!/usr/bin/python3
"""make bench, memory part: 10,000 distinct certificates cycled through a 1,000-entry verdict
cache for 1,000,000 requests (so nearly every request is a miss that evicts), with the child's
resident memory printed as it goes. Flat means nothing grows with the number of requests."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness import load  # noqa: E402
from harness.servers import Httpd, make_workdir, remove_workdirs  # noqa: E402
from harness.pki import Pki  # noqa: E402

CERTIFICATES = int(os.environ.get("ARRCERT_MEMORY_CERTIFICATES", "10000"))
REQUESTS = int(os.environ.get("ARRCERT_MEMORY_REQUESTS", "1000000"))
ENTRIES = 1000


def main():
    workdir = make_workdir("arrcert-memory-")
    pki = Pki(workdir)
    print(f"issuing {CERTIFICATES} certificates...", file=sys.stderr)
    # A connection per request: wrk counts a few read errors on long keep-alive runs against httpd
    # even without the module (measured), which would hide a real failure.
    script = load.write_mix(workdir, [("ok", value) for value in load.many_leaves(pki.ca, CERTIFICATES)],
                            connection="close")
    httpd = Httpd(f"""
        ArrCertCache memory:{ENTRIES}
        <Location />
            ArrCertVerifyClient require
            ArrCertCACertificateFile {pki.ca.cert_path}
        </Location>
        """, log_level="warn")
    httpd.add_file("ok/index.html", "hello\n")
    httpd.start()
    done, rows = 0, []
    try:
        started = time.monotonic()
        while done < REQUESTS:
            out = subprocess.run(["wrk", "-t2", "-c16", "-d10s", "-s", script, httpd.url("/")],
                                 capture_output=True, text=True, timeout=120).stdout
            done += int(out.split(" requests in")[0].split()[-1])
            if "Non-2xx" in out or any(load.wrk_errors(out).values()):
                raise RuntimeError(f"a request failed:\n{out}")
            rss = load.children_rss_kib(httpd.process.pid)
            rows.append((done, time.monotonic() - started, sum(rss.values())))
            print(f"{done:>9} requests  {rows[-1][1]:6.0f} s  child RSS {rows[-1][2] / 1024:6.1f} MiB", file=sys.stderr)
    finally:
        httpd.stop()
    remove_workdirs()
    first = rows[min(1, len(rows) - 1)][2]
    print(f"\n{CERTIFICATES} distinct certificates through ArrCertCache memory:{ENTRIES}, {done} requests "
          f"(event MPM, one child):\n")
    print("| requests | child RSS MiB |")
    print("|---|---|")
    shown = rows[:: max(1, len(rows) // 10)]
    for count, _, rss in shown + ([rows[-1]] if shown[-1] is not rows[-1] else []):
        print(f"| {count} | {rss / 1024:.1f} |")
    print(f"\nRSS after the first {rows[min(1, len(rows) - 1)][0]} requests: {first / 1024:.1f} MiB; at the end: "
          f"{rows[-1][2] / 1024:.1f} MiB ({(rows[-1][2] - first) / 1024:+.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
