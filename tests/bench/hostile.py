#!/usr/bin/python3
"""make bench, hostile part: the server CPU that a client's certificate can make httpd spend.

Every request is judged afresh (ArrCertCache none), so the figures are the cost of judging, not of
a cache hit. Printed: server CPU per request (user + system of every httpd thread, from the
scheduler's counters) for an ordinary refusal and for the hostile ones, and for a DirectoryIndex
subrequest against the direct URL, with the ratios the security issue sets as targets."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness.pki import Pki, name  # noqa: E402
from harness.servers import Httpd, make_workdir, remove_workdirs  # noqa: E402

DURATION = os.environ.get("ARRCERT_BENCH_DURATION", "4s")
ROUNDS = int(os.environ.get("ARRCERT_BENCH_ROUNDS", "3"))


def cpu_per_request(httpd, path, header):
    """Server CPU microseconds per request under wrk -t1 -c4 for DURATION; all answers checked."""
    before = httpd.cpu_seconds()
    out = subprocess.run(["wrk", "-t1", "-c4", f"-d{DURATION}", "-H", f"X-ARR-ClientCert: {header}",
                          httpd.url(path)], capture_output=True, text=True, timeout=120).stdout
    spent = httpd.cpu_seconds() - before
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return spent / requests * 1e6, out


def expect(out, refused):
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    count = int(non2xx.group(1)) if non2xx else 0
    total = int(re.search(r"(\d+) requests in", out).group(1))
    if (count == total) != refused:
        raise RuntimeError(f"expected {'403' if refused else '200'} for every request:\n{out}")


def main():
    workdir = make_workdir("arrcert-hostile-")
    pki = Pki(workdir)
    stranger = pki.issue("stranger_ca", name(("O", "Fabrikam"), ("CN", "Fabrikam CA")), ca=True)
    ordinary = pki.issue("ordinary", name(("O", "Fabrikam"), ("CN", "mallory")), issuer=stranger, dns=["m.example"])
    many_sans = pki.issue("many_sans", name(("O", "Fabrikam"), ("CN", "mallory")), issuer=stranger,
                          dns=["a"] * 1850)
    self_signed_sans = pki.issue("self_sans", name(("O", "Fabrikam"), ("CN", "mallory")), dns=["a"] * 1850)
    forged_ca = pki.issue("forged_ca", name(("O", "Contoso"), ("CN", "Contoso Issuing CA")), issuer=stranger, ca=True)
    under_forged = pki.issue("under_forged", name(("O", "Fabrikam"), ("CN", "mallory")), issuer=forged_ca,
                             dns=["a"] * 1850)
    fakes = [pki.issue(f"fake{i}", name(("CN", f"Fake CA {i}")), ca=True) for i in range(25)]
    long_chain = " ".join(c.pem_spaces for c in [ordinary, *fakes])
    good_many = pki.leaf("good_many", "alice", dns=["a"] * 1850)

    httpd = Httpd("", log_level="warn")
    httpd.body = f"""
        LimitRequestFieldSize 65536
        ArrCertMaxHeaderLength 65536
        ArrCertCache none
        ArrCertCACertificateFile {pki.ca.cert_path}
        <Location /require>
            ArrCertVerifyClient require
        </Location>
        <Location /report>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
        </Location>
        """
    httpd.add_file("require/index.html", "ok\n")
    httpd.add_file("report/index.html", "ok\n")
    httpd.start()
    cases = [
        ("ordinary refusal (another CA)", "/require/", ordinary.azure_header, True),
        ("1850 DNS SANs, another CA", "/require/", many_sans.azure_header, True),
        ("leaf + 25 fake CA certificates", "/require/", long_chain, True),
        ("1850 DNS SANs, self-signed", "/require/", self_signed_sans.azure_header, True),
        ("1850 DNS SANs, under a forged intermediate sent along", "/require/",
         under_forged.pem_spaces + " " + forged_ca.pem_spaces, True),
        ("direct URL, 1850 SANs, optional_no_ca", "/report/index.html", good_many.azure_header, False),
        ("DirectoryIndex, 1850 SANs, optional_no_ca", "/report/", good_many.azure_header, False),
    ]
    figures = {label: [] for label, *_ in cases}
    try:
        for label, path, header, refused in cases:  # warm-up, and a check of every answer
            expect(cpu_per_request(httpd, path, header)[1], refused)
        for _ in range(ROUNDS):
            for label, path, header, refused in cases:
                micros, out = cpu_per_request(httpd, path, header)
                expect(out, refused)
                figures[label].append(micros)
    finally:
        httpd.stop()
    remove_workdirs()

    def median(values):
        return sorted(values)[len(values) // 2]

    base = median(figures[cases[0][0]])
    direct = median(figures[cases[5][0]])
    print(f"\nServer CPU per request, judged every time (ArrCertCache none), median of {ROUNDS} rounds of "
          f"{DURATION}:\n")
    print("| case | µs CPU / request | ratio | target |")
    print("|---|---|---|---|")
    for label, *_ in cases:
        value = median(figures[label])
        if label == cases[0][0]:
            ratio, target = "1.00", "—"
        elif label.startswith("direct"):
            ratio, target = "—", "—"
        elif label.startswith("DirectoryIndex"):
            ratio, target = f"{value / direct:.2f} of direct", "≤ 1.5"
        else:
            ratio, target = f"{value / base:.2f} of ordinary", "≤ 2"
        print(f"| {label} | {value:.0f} | {ratio} | {target} |")


if __name__ == "__main__":
    main()
