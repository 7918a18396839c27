#!/usr/bin/python3
"""make bench, macro part: real httpd on loopback driven by wrk, configurations side by side.

Shared machines are noisy, so each comparison runs its two sides interleaved, several rounds,
alternating which goes first, and reports the median of the paired ratios with their spread.

Each round also loads both sides at the same time (half the connections each) and compares the
server CPU each spends per request: both then run on the same machine in the same moment, so
what the neighbours do cancels out of the ratio. That is the capacity a server would lose to the
module when its clients are elsewhere; requests/s on loopback also counts wrk's own CPU.
"""
import os
import platform
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness.ocsp import OpenSslResponder  # noqa: E402
from harness.pki import Pki, name  # noqa: E402
from harness.servers import Httpd, make_workdir, remove_workdirs  # noqa: E402

DURATION = os.environ.get("ARRCERT_BENCH_DURATION", "3s")
ROUNDS = int(os.environ.get("ARRCERT_BENCH_ROUNDS", "6"))
CONNECTIONS = os.environ.get("ARRCERT_BENCH_CONNECTIONS", "16")

SEED_PHP = """<?php
// The check apps do today, in PHP, on every request.
$value = $_SERVER['HTTP_X_ARR_CLIENTCERT'] ?? '';
$pem = "-----BEGIN CERTIFICATE-----\\n" . chunk_split($value, 64, "\\n") . "-----END CERTIFICATE-----\\n";
$cert = @openssl_x509_read($pem);
if ($cert === false) { http_response_code(403); exit; }
$info = openssl_x509_parse($cert);
if (strtoupper(openssl_x509_fingerprint($cert, 'sha1')) !== '%s'
    || ($info['issuer']['CN'] ?? '') !== 'Contoso Test CA' || time() > $info['validTo_time_t']) {
    http_response_code(403); exit;
}
echo 'hello ', $info['subject']['CN'];
"""
# The page of every PHP side but the seed's: without the module it finds no variable. One page for
# both sides of a pair, because PHP fills $_SERVER (every CGI variable) only for a script that uses
# it: a page that never reads $_SERVER skips that work whatever the module does.
PAGE_PHP = "<?php echo 'hello ', $_SERVER['SSL_CLIENT_S_DN_CN'] ?? 'nobody';\n"
# Every prefork child exists from the start and none is reaped while the other side of a pair
# runs: otherwise each round pays for forking PHP children, differently from run to run.
STEADY_PREFORK = "StartServers 16\nMinSpareServers 16\nMaxSpareServers 16\nMaxRequestWorkers 16\n"


def wrk_args(url, header, threads, connections, duration=DURATION):
    return ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}", "--latency", "-H",
            f"X-ARR-ClientCert: {header}", url]


def wrk_result(url, out):
    """(requests, requests/s, p50 ms, p99 ms) of a wrk run in which every answer was a 2xx."""
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} refused responses:\n{out}")

    def percentile(p):
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return requests, float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), percentile(50), percentile(99)


def wrk(httpd, path, header):
    """One side alone: (requests/s, p50, p99)."""
    url = httpd.url(path)
    out = subprocess.run(wrk_args(url, header, 2, CONNECTIONS), capture_output=True, text=True, timeout=120).stdout
    return wrk_result(url, out)[1:]


def cpu_per_request(sides, path):
    """Both sides loaded at once, half the connections each: server CPU microseconds per request."""
    before = [httpd.cpu_seconds() for httpd, _ in sides]
    urls = [httpd.url(path) for httpd, _ in sides]
    runs = [subprocess.Popen(wrk_args(url, header, 1, max(1, int(CONNECTIONS) // 2)), stdout=subprocess.PIPE,
                             text=True) for url, (_, header) in zip(urls, sides)]
    outs = [run.communicate(timeout=120)[0] for run in runs]
    after = [httpd.cpu_seconds() for httpd, _ in sides]
    return [(a - b) * 1e6 / wrk_result(url, out)[0] for a, b, url, out in zip(after, before, urls, outs)]


def chain_case(pki, workdir):
    """(c)'s configuration body and header: a leaf and its intermediate sent as PEM, verified up to
    a root (ArrCertCACertificateFile), with the CRLs of both CAs."""
    root = pki.issue("b_root", name(("O", "Contoso"), ("CN", "Bench Root")), ca=True)
    intermediate = pki.issue("b_int", name(("O", "Contoso"), ("CN", "Bench Issuing")), issuer=root, ca=True)
    chained = pki.issue("b_chained", name(("O", "Contoso"), ("CN", "carol")), issuer=intermediate, key="rsa")
    crl = os.path.join(workdir, "crls.pem")
    with open(crl, "w") as f:
        f.write(open(pki.write_crl(crl + ".root", root)).read() + open(pki.write_crl(crl + ".int", intermediate)).read())
    chain_header = " ".join(c.pem.strip().replace("\n", " ") for c in (chained, intermediate))
    chain = f"""
        <Location />
            ArrCertVerifyClient require
            ArrCertCACertificateFile {root.cert_path}
            ArrCertCARevocationFile {crl}
        </Location>
        """
    return chain, chain_header


def main():
    workdir = make_workdir("arrcert-bench-")
    pki = Pki(workdir)
    alice = pki.issue("b_alice", name(("O", "Contoso"), ("CN", "alice")), issuer=pki.ca, key="rsa")
    chain, chain_header = chain_case(pki, workdir)

    pinned = f"""
        <Location />
            ArrCertVerifyClient require
            ArrCertThumbprint {alice.sha1}
            ArrCertIssuer "CN=Contoso Test CA, O=Contoso"
        </Location>
        """
    php = '<FilesMatch "\\.php$">\n SetHandler application/x-httpd-php\n</FilesMatch>\n'
    servers = {
        "a": (Httpd("", with_module=False), alice.azure_header),
        "a_twin": (Httpd("", with_module=False), alice.azure_header),
        "b": (Httpd(pinned), alice.azure_header),
        "c": (Httpd(chain), chain_header),
        "d_b": (Httpd("ArrCertCache none\n" + pinned), alice.azure_header),
        "d_c": (Httpd("ArrCertCache none\n" + chain), chain_header),
        "e_module": (Httpd(php + pinned, mpm="prefork", modules=["php_module libphp8.2.so"]), alice.azure_header),
        "e_export": (Httpd(php + pinned.replace("</Location>", "    ArrCertExport SSL_CLIENT_S_DN_CN\n</Location>"),
                           mpm="prefork", modules=["php_module libphp8.2.so"]), alice.azure_header),
        "e_plain": (Httpd(php, mpm="prefork", modules=["php_module libphp8.2.so"], with_module=False),
                    alice.azure_header),
        "e_seed": (Httpd(php, mpm="prefork", modules=["php_module libphp8.2.so"], with_module=False),
                   alice.azure_header),
        # What httpd charges any module that sets one variable in a <Location>, and the noise floor.
        "e_setenv": (Httpd(php + "<Location />\n SetEnv SSL_CLIENT_S_DN_CN alice\n</Location>\n", mpm="prefork",
                           modules=["php_module libphp8.2.so", "env_module mod_env.so"], with_module=False),
                     alice.azure_header),
        "e_twin": (Httpd(php, mpm="prefork", modules=["php_module libphp8.2.so"], with_module=False),
                   alice.azure_header),
    }
    # (g): OCSP on, the answer kept; and the same while its responder is stalled (SIGSTOP).
    responders = {label: OpenSslResponder(pki.ca, pki.ca) for label in ("g", "g_stalled")}
    for label, responder in responders.items():
        servers[label] = (Httpd(f"""
            <Location />
                ArrCertVerifyClient require
                ArrCertCACertificateFile {pki.ca.cert_path}
                ArrCertOCSPEnable leaf
                ArrCertOCSPDefaultResponder {responder.url("/")}
                ArrCertOCSPOverrideResponder on
            </Location>
            """), alice.azure_header)
    # (f): prefork children sharing verdicts through shmcb (no per-process cache in front).
    servers["a_prefork"] = (Httpd("", mpm="prefork", with_module=False), alice.azure_header)
    shared = Httpd("", mpm="prefork", modules=["socache_shmcb_module mod_socache_shmcb.so"])
    shared.body = f"ArrCertCache shmcb:{shared.dir}/verdicts(1048576) none\n" + pinned
    servers["f"] = (shared, alice.azure_header)
    layered = Httpd("", mpm="prefork", modules=["socache_shmcb_module mod_socache_shmcb.so"])
    layered.body = f"ArrCertCache shmcb:{layered.dir}/verdicts(1048576)\n" + pinned
    servers["f_memory"] = (layered, alice.azure_header)
    pages = {"e_seed": SEED_PHP % alice.sha1}
    for label, (httpd, _) in servers.items():
        httpd.add_file("index.html", "hello\n")
        httpd.add_file("index.php", pages.get(label, PAGE_PHP))
        httpd.log_level = "warn"
        if httpd.mpm == "prefork":
            httpd.body = STEADY_PREFORK + httpd.body
        # opcache does not keep a script changed in the last 2 s (opcache.file_update_protection).
        for page in ("index.html", "index.php"):
            os.utime(os.path.join(httpd.docroot, page), (time.time() - 3600, time.time() - 3600))
    comparisons = [
        ("(a) control: no module vs an identical server", "a_twin", "a", "/index.html"),
        ("(b) require + thumbprint + issuer, cache", "b", "a", "/index.html"),
        ("(c) CA chain + CRL, cache", "c", "a", "/index.html"),
        ("(d) (b) with ArrCertCache none", "d_b", "b", "/index.html"),
        ("(d) (c) with ArrCertCache none", "d_c", "c", "/index.html"),
        ("(e) PHP reading the module's variables vs PHP without any check", "e_module", "e_plain", "/index.php"),
        ("(e) PHP reading the module's variables vs the PHP-side check", "e_module", "e_seed", "/index.php"),
        ("(e) the same with ArrCertExport SSL_CLIENT_S_DN_CN vs PHP without any check", "e_export", "e_plain",
         "/index.php"),
        ("(e) the same with ArrCertExport vs the PHP-side check", "e_export", "e_seed", "/index.php"),
        ("(e) reference, no module: the variable set by SetEnv in <Location /> vs PHP without any check", "e_setenv",
         "e_plain", "/index.php"),
        ("(e) control: PHP without any check vs an identical server", "e_twin", "e_plain", "/index.php"),
        ("(f) prefork, (b) with ArrCertCache shmcb only, vs prefork without the module", "f", "a_prefork",
         "/index.html"),
        ("(f) prefork, (b) with shmcb behind the memory cache (the default form)", "f_memory", "a_prefork",
         "/index.html"),
        ("(g) CA + OCSP (leaf), the answer kept, vs no module", "g", "a", "/index.html"),
        ("(g) the same with its OCSP responder stalled (SIGSTOP) vs answering", "g_stalled", "g", "/index.html"),
    ]
    only = os.environ.get("ARRCERT_BENCH_ONLY")  # e.g. "(f)" or "(b),(g)": comparisons whose title starts so
    if only:
        comparisons = [c for c in comparisons if c[0].startswith(tuple(only.split(",")))]
        wanted = {side for c in comparisons for side in c[1:3]}
        servers = {label: server for label, server in servers.items() if label in wanted}
    results = {}
    responders = {label: responder for label, responder in responders.items() if label in servers}
    try:
        for responder in responders.values():
            responder.start(good=[alice])
        for httpd, _ in servers.values():
            httpd.start()
        for label, (httpd, header) in servers.items():  # warm up: caches, opcache, children
            path = "/index.php" if label.startswith("e_") else "/index.html"
            subprocess.run(wrk_args(httpd.url(path), header, 2, CONNECTIONS, "2s"), capture_output=True, timeout=60)
        if "g_stalled" in responders:
            responders["g_stalled"].pause()  # every certificate is judged: requests must not notice
        for round_number in range(ROUNDS):
            for title, left, right, path in comparisons:
                order = [left, right] if round_number % 2 == 0 else [right, left]
                measured = {side: wrk(servers[side][0], path, servers[side][1]) for side in order}
                cpu = dict(zip(order, cpu_per_request([servers[side] for side in order], path)))
                results.setdefault(title, []).append((measured[left], measured[right], cpu[left], cpu[right]))
                print(f"round {round_number + 1} {title}: {measured[left][0]:.0f} vs {measured[right][0]:.0f} req/s, "
                      f"{cpu[left]:.1f} vs {cpu[right]:.1f} CPU us/request", file=sys.stderr)
    finally:
        for httpd, _ in servers.values():
            httpd.stop()
        for responder in responders.values():
            responder.resume()
            responder.stop()
    remove_workdirs()

    print(f"\nMachine: {platform.platform()}, {os.cpu_count()} cores; wrk -t2 -c{CONNECTIONS} -d{DURATION} per side, "
          f"{ROUNDS} interleaved rounds; then both sides at once (wrk -t1 -c{int(CONNECTIONS) // 2} each) for the "
          f"server CPU per request; medians, ratio spread in brackets. Capacity: the other side's CPU per request "
          f"over this side's.\n")
    print("| configuration | req/s | p50 ms | p99 ms | against | req/s | ratio (min-max) | CPU us/req | against "
          "| capacity (min-max) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for title, left, right, _ in comparisons:
        rounds = results[title]
        ratios = [l[0] / r[0] for l, r, _, _ in rounds]
        capacities = [r_cpu / l_cpu for _, _, l_cpu, r_cpu in rounds]
        median = lambda index, side: statistics.median(p[side][index] for p in rounds)  # noqa: E731
        cpu = lambda index: statistics.median(p[index] for p in rounds)  # noqa: E731
        print(f"| {title} | {median(0, 0):.0f} | {median(1, 0):.2f} | {median(2, 0):.2f} | {right} | "
              f"{median(0, 1):.0f} | {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) | "
              f"{cpu(2):.1f} | {cpu(3):.1f} | {statistics.median(capacities):.3f} "
              f"({min(capacities):.2f}-{max(capacities):.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
