#!/usr/bin/python3
"""make bench, hostile part: the server CPU that a client's certificate can make httpd spend.

Every request is judged afresh (ArrCertCache none), so the figures are the cost of judging, not of
a cache hit. Printed: server CPU per request (user + system of every httpd thread, from the
scheduler's counters) for an ordinary refusal and for the hostile ones, and for a DirectoryIndex
subrequest against the direct URL, with the ratios the security issue sets as targets. Then the
throughput a static virtual host keeps while attackers send a forged chain to another scope of the
same server (security issue 25, item 2)."""
import http.client
import os
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness.forged import forged_chain, url_encoded_pem  # noqa: E402
from harness.pki import Pki, name  # noqa: E402
from harness.servers import Httpd, judged_afresh, location, make_workdir, remove_workdirs  # noqa: E402

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
    # Issue 25, item 2: leaf with a CDP, a fake intermediate, a fake one naming the CA; both fake
    # keys 3072-bit RSA with ~3070-bit public exponents.
    slow_forged = url_encoded_pem(forged_chain(pki.ca, "http://127.0.0.1:9/ca.crl"))
    plain_forged = url_encoded_pem(forged_chain(pki.ca, "http://127.0.0.1:9/ca.crl", slow=False))

    httpd = Httpd("", log_level="warn")
    httpd.body = judged_afresh(pki, location("/fetch", "ArrCertVerifyClient require", "ArrCertCARevocationFetch on"))
    httpd.add_file("fetch/index.html", "ok\n")
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
        ("forged chain (3070-bit RSA exponents) under CRL fetch", "/fetch/", slow_forged, True),
        ("forged chain (ordinary keys) under CRL fetch", "/fetch/", plain_forged, True),
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
    under_attack = static_under_attack(pki, {"the forged chain": slow_forged,
                                             "an ordinary refusal (control)": ordinary.azure_header})
    remove_workdirs()

    def median(values):
        return sorted(values)[len(values) // 2]

    base = median(figures[cases[0][0]])
    direct = median(figures[cases[7][0]])
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
    print(under_attack)


ATTACK_CONNECTIONS = 8
ATTACK_RATE = 131  # requests per second: what 8 connections made of this chain before the fix


def attack(port, header, stop, answers):
    """One attacker connection: the forged chain again and again, its share of ATTACK_RATE at most."""
    interval = ATTACK_CONNECTIONS / ATTACK_RATE
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    due = time.monotonic()
    while not stop.is_set():
        try:
            connection.request("GET", "/fetch/", headers={"X-ARR-ClientCert": header})
            response = connection.getresponse()
            response.read()
            answers.append(response.status)
        except (http.client.RemoteDisconnected, ConnectionError):  # MaxKeepAliveRequests: a new one
            connection.close()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        due += interval
        time.sleep(max(0.0, due - time.monotonic()))
    connection.close()


def static_rate(httpd):
    out = subprocess.run(["wrk", "-t1", "-c8", f"-d{DURATION}", "-H", "Host: static.test", httpd.url("/")],
                         capture_output=True, text=True, timeout=120).stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"the static virtual host failed:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def static_under_attack(pki, attacks):
    """A static virtual host's throughput (wrk, 8 connections), alone and while ATTACK_CONNECTIONS
    send a header to a scope with ArrCertCARevocationFetch on (verdict cache as shipped); the
    control (an ordinary refusal at the same rate) shows what the method itself costs."""
    httpd = Httpd("", log_level="warn")
    httpd.body = f"""
        <VirtualHost 127.0.0.1:{httpd.port}>
            ServerName localhost
            ArrCertCACertificateFile {pki.ca.cert_path}
            <Location /fetch>
                ArrCertVerifyClient require
                ArrCertCARevocationFetch on
            </Location>
        </VirtualHost>
        <VirtualHost 127.0.0.1:{httpd.port}>
            ServerName static.test
            DocumentRoot {httpd.docroot}/static
        </VirtualHost>
        """
    httpd.add_file("fetch/index.html", "ok\n")
    httpd.add_file("static/index.html", "static\n")
    httpd.start()
    alone = []
    attacked = {label: [] for label in attacks}
    rates = {label: [] for label in attacks}
    try:
        static_rate(httpd)  # warm-up
        for _, (label, header) in ((r, a) for r in range(ROUNDS) for a in attacks.items()):
            alone.append(static_rate(httpd))
            stop, answers = threading.Event(), []
            threads = [threading.Thread(target=attack, args=(httpd.port, header, stop, answers))
                       for _ in range(ATTACK_CONNECTIONS)]
            started = time.monotonic()
            for thread in threads:
                thread.start()
            time.sleep(1)
            attacked[label].append(static_rate(httpd))
            stop.set()
            for thread in threads:
                thread.join()
            rates[label].append(len(answers) / (time.monotonic() - started))
            if any(status != 403 for status in answers):
                raise RuntimeError(f"{label} was not refused")
    finally:
        httpd.stop()

    def median(values):
        return sorted(values)[len(values) // 2]

    lines = [f"\nStatic virtual host (wrk -c8, {DURATION}), alone ({median(alone):.0f} req/s) and while "
             f"{ATTACK_CONNECTIONS} connections send a header (up to {ATTACK_RATE} req/s) to /fetch, median of "
             f"{ROUNDS} rounds:\n",
             "| attackers send | static req/s | ratio to alone | target | attack req/s served |",
             "|---|---|---|---|---|"]
    for label in attacks:
        value = median(attacked[label])
        target = "—" if "control" in label else "≥ 0.8"
        lines.append(f"| {label} | {value:.0f} | {value / median(alone):.2f} | {target} | {median(rates[label]):.0f} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
