#!/usr/bin/python3
"""make bench, instruction part: what the module adds to a request with a cached verdict, counted
by callgrind rather than timed, so that a change of a few hundred instructions shows.

httpd -X (prefork, one process) under `valgrind --tool=callgrind` serves the same static file with
the same certificate header on one keep-alive connection, once N1 and once N2 times; the difference
of the two totals over N2 - N1 is the user-space instructions per request, without what starting
and stopping costs. The same with the module, in the configuration of macro.py's (c)
(ArrCertVerifyClient require, a leaf and its intermediate verified up to a root, the CAs' CRLs,
every variable exported: the default), and without it (no <Location> either); added = with -
without.

ARRCERT_INSTRUCTIONS_REQUESTS="N1,N2" (default 5000,15000); ARRCERT_INSTRUCTIONS_BREAKDOWN=1 also
prints, per function (callgrind_annotate, inclusive), the instructions per request it adds.
"""
import os
import re
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness.pki import Pki  # noqa: E402
from harness.servers import Httpd, make_workdir, remove_workdirs, server_user  # noqa: E402
from macro import chain_case  # noqa: E402

REQUESTS = tuple(int(n) for n in os.environ.get("ARRCERT_INSTRUCTIONS_REQUESTS", "5000,15000").split(","))
BREAKDOWN = os.environ.get("ARRCERT_INSTRUCTIONS_BREAKDOWN", "") not in ("", "0")
# One connection for every request (httpd closes one after 100 by default).
KEEP_ALIVE = "KeepAlive On\nMaxKeepAliveRequests 0\nKeepAliveTimeout 300\n"


def send_requests(port, count, header):
    """`count` GETs of /index.html on one keep-alive connection; each must be a 200."""
    request = (f"GET /index.html HTTP/1.1\r\nHost: localhost\r\nX-ARR-ClientCert: {header}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as connection:
        buffered = b""
        for _ in range(count):
            connection.sendall(request)
            while b"\r\n\r\n" not in buffered:
                buffered += connection.recv(65536) or _closed()
            head, _, buffered = buffered.partition(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"refused: {head.decode(errors='replace')}")
            length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))
            while len(buffered) < length:
                buffered += connection.recv(65536) or _closed()
            buffered = buffered[length:]


def _closed():
    raise RuntimeError("httpd closed the connection")


def counted_run(body, with_module, header, count, out_file):
    """httpd -X under callgrind serving `count` requests: the output file's total instructions."""
    httpd = Httpd(KEEP_ALIVE + body, mpm="prefork", with_module=with_module, log_level="warn")
    httpd.add_file("index.html", "hello\n")
    # Written at exit, by then as httpd's user: theirs from the start.
    open(out_file, "w").close()
    if server_user():
        shutil.chown(out_file, server_user(), server_user())
    # Per function, not per line: each function is then one entry of callgrind_annotate's.
    wrapper = ["valgrind", "--tool=callgrind", "--dump-line=no", f"--callgrind-out-file={out_file}"]
    httpd.start(wrapper=wrapper, timeout=180)
    try:
        send_requests(httpd.port, count, header)
    finally:
        httpd.stop()
    with open(out_file) as f:
        totals = re.search(r"^(?:totals|summary):\s*(\d+)", f.read(), re.M)
    if totals is None:
        raise RuntimeError(f"no total in {out_file}:\n{httpd.error_log()}")
    return int(totals.group(1))


def inclusive(out_file):
    """Inclusive instructions per function, as callgrind_annotate reports them."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--tree=none", "--auto=no", "--threshold=100", out_file],
                         capture_output=True, text=True, check=True).stdout
    functions = {}
    for line in out.splitlines():
        match = re.match(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(\S.*?)(?:\s+\[[^\]]*\])?$", line)
        if match and ":" in match.group(2):
            # A function whose code comes from several files (inlined) is listed once per file,
            # each time with the same inclusive count.
            function = match.group(2).split(":", 1)[1]
            functions[function] = max(functions.get(function, 0), int(match.group(1).replace(",", "")))
    return functions


def main():
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction count (make deps installs it)")
        return 0
    workdir = make_workdir("arrcert-instructions-")
    pki = Pki(workdir)
    body, header = chain_case(pki, workdir)  # (c) of macro.py
    first, second = REQUESTS
    per_request, files = {}, {}
    for label, with_module in (("without", False), ("with", True)):
        totals = []
        for count in (first, second):
            files[label, count] = os.path.join(workdir, f"callgrind.{label}.{count}")
            totals.append(counted_run(body if with_module else "", with_module, header, count,
                                      files[label, count]))
            print(f"{label} the module, {count} requests: {totals[-1]:,} instructions", file=sys.stderr)
        per_request[label] = (totals[1] - totals[0]) / (second - first)
    added = per_request["with"] - per_request["without"]
    print(f"\nInstructions per request (callgrind, httpd -X prefork, a static file, keep-alive, "
          f"(c): ArrCertVerifyClient require, a CA chain and CRLs, every variable exported, a cached verdict; "
          f"runs of {first} and {second} requests):\n")
    print("| without the module | with it | added by the module |")
    print("|---|---|---|")
    print(f"| {per_request['without'] / 1000:.1f}k | {per_request['with'] / 1000:.1f}k | {added / 1000:.1f}k |")
    if BREAKDOWN:
        delta = {}
        for label, sign in (("with", 1), ("without", -1)):
            low, high = inclusive(files[label, first]), inclusive(files[label, second])
            for function in set(low) | set(high):
                delta[function] = delta.get(function, 0) + sign * (high.get(function, 0) - low.get(function, 0))
        print("\nAdded per request, by function (inclusive: a function counts what it calls):\n")
        print("| instructions | function |")
        print("|---|---|")
        for function, value in sorted(delta.items(), key=lambda item: -abs(item[1])):
            if abs(value) / (second - first) >= 40:
                print(f"| {value / (second - first):.0f} | {function} |")
    remove_workdirs()
    return 0


if __name__ == "__main__":
    sys.exit(main())
