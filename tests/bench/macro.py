#!/usr/bin/python3
"""make bench, macro part: real httpd on loopback driven by wrk, configurations side by side.

Shared machines are noisy, so each comparison runs its two sides interleaved, several rounds,
alternating which goes first, and reports the median of the paired ratios with their spread.
"""
import os
import platform
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness.pki import Pki, name  # noqa: E402
from harness.servers import Httpd, make_workdir  # noqa: E402

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
MODULE_PHP = "<?php echo 'hello ', $_SERVER['SSL_CLIENT_S_DN_CN'] ?? 'nobody';\n"
PLAIN_PHP = "<?php echo 'hello';\n"
# Every prefork child exists from the start and none is reaped while the other side of a pair
# runs: otherwise each round pays for forking PHP children, differently from run to run.
STEADY_PREFORK = "StartServers 16\nMinSpareServers 16\nMaxSpareServers 16\nMaxRequestWorkers 16\n"


def wrk(url, header):
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{DURATION}", "--latency", "-H", f"X-ARR-ClientCert: {header}", url]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{url}: {non2xx.group(1)} refused responses:\n{out}")

    def percentile(p):
        value, unit = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return rps, percentile(50), percentile(99)


def main():
    workdir = make_workdir("arrcert-bench-")
    pki = Pki(workdir)
    root = pki.issue("b_root", name(("O", "Contoso"), ("CN", "Bench Root")), ca=True)
    intermediate = pki.issue("b_int", name(("O", "Contoso"), ("CN", "Bench Issuing")), issuer=root, ca=True)
    chained = pki.issue("b_chained", name(("O", "Contoso"), ("CN", "carol")), issuer=intermediate, key="rsa")
    alice = pki.issue("b_alice", name(("O", "Contoso"), ("CN", "alice")), issuer=pki.ca, key="rsa")
    crl = os.path.join(workdir, "crls.pem")
    with open(crl, "w") as f:
        f.write(open(pki.write_crl(crl + ".root", root)).read() + open(pki.write_crl(crl + ".int", intermediate)).read())
    chain_header = " ".join(c.pem.strip().replace("\n", " ") for c in (chained, intermediate))

    pinned = f"""
        <Location />
            ArrCertVerifyClient require
            ArrCertThumbprint {alice.sha1}
            ArrCertIssuer "CN=Contoso Test CA, O=Contoso"
        </Location>
        """
    chain = f"""
        <Location />
            ArrCertVerifyClient require
            ArrCertCACertificateFile {root.cert_path}
            ArrCertCARevocationFile {crl}
        </Location>
        """
    php = '<FilesMatch "\\.php$">\n SetHandler application/x-httpd-php\n</FilesMatch>\n'
    servers = {
        "a": (Httpd("", with_module=False), alice.azure_header),
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
    }
    # (f): prefork children sharing verdicts through shmcb (no per-process cache in front).
    servers["a_prefork"] = (Httpd("", mpm="prefork", with_module=False), alice.azure_header)
    shared = Httpd("", mpm="prefork", modules=["socache_shmcb_module mod_socache_shmcb.so"])
    shared.body = f"ArrCertCache shmcb:{shared.dir}/verdicts(1048576) none\n" + pinned
    servers["f"] = (shared, alice.azure_header)
    layered = Httpd("", mpm="prefork", modules=["socache_shmcb_module mod_socache_shmcb.so"])
    layered.body = f"ArrCertCache shmcb:{layered.dir}/verdicts(1048576)\n" + pinned
    servers["f_memory"] = (layered, alice.azure_header)
    pages = {"e_module": MODULE_PHP, "e_export": MODULE_PHP, "e_plain": PLAIN_PHP, "e_seed": SEED_PHP % alice.sha1}
    for label, (httpd, _) in servers.items():
        httpd.add_file("index.html", "hello\n")
        httpd.add_file("index.php", pages.get(label, PLAIN_PHP))
        httpd.log_level = "warn"
        if httpd.mpm == "prefork":
            httpd.body = STEADY_PREFORK + httpd.body
        # opcache does not keep a script changed in the last 2 s (opcache.file_update_protection).
        for page in ("index.html", "index.php"):
            os.utime(os.path.join(httpd.docroot, page), (time.time() - 3600, time.time() - 3600))
    comparisons = [
        ("(b) require + thumbprint + issuer, cache", "b", "a", "/index.html"),
        ("(c) CA chain + CRL, cache", "c", "a", "/index.html"),
        ("(d) (b) with ArrCertCache none", "d_b", "b", "/index.html"),
        ("(d) (c) with ArrCertCache none", "d_c", "c", "/index.html"),
        ("(e) PHP reading the module's variables vs PHP without any check", "e_module", "e_plain", "/index.php"),
        ("(e) PHP reading the module's variables vs the PHP-side check", "e_module", "e_seed", "/index.php"),
        ("(e) the same with ArrCertExport SSL_CLIENT_S_DN_CN vs PHP without any check", "e_export", "e_plain",
         "/index.php"),
        ("(e) the same with ArrCertExport vs the PHP-side check", "e_export", "e_seed", "/index.php"),
        ("(f) prefork, (b) with ArrCertCache shmcb only, vs prefork without the module", "f", "a_prefork",
         "/index.html"),
        ("(f) prefork, (b) with shmcb behind the memory cache (the default form)", "f_memory", "a_prefork",
         "/index.html"),
    ]
    only = os.environ.get("ARRCERT_BENCH_ONLY")  # e.g. "(f)": the comparisons whose title starts so
    if only:
        comparisons = [c for c in comparisons if c[0].startswith(only)]
        wanted = {side for c in comparisons for side in c[1:3]}
        servers = {label: server for label, server in servers.items() if label in wanted}
    results = {}
    try:
        for httpd, _ in servers.values():
            httpd.start()
        for label, (httpd, header) in servers.items():  # warm up: caches, opcache, children
            path = "/index.php" if label.startswith("e_") else "/index.html"
            subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", "-d2s", "-H", f"X-ARR-ClientCert: {header}", httpd.url(path)],
                           capture_output=True, timeout=60)
        for round_number in range(ROUNDS):
            for title, left, right, path in comparisons:
                order = [left, right] if round_number % 2 == 0 else [right, left]
                measured = {}
                for side in order:
                    httpd, header = servers[side]
                    measured[side] = wrk(httpd.url(path), header)
                results.setdefault(title, []).append((measured[left], measured[right]))
                print(f"round {round_number + 1} {title}: {measured[left][0]:.0f} vs {measured[right][0]:.0f} req/s",
                      file=sys.stderr)
    finally:
        for httpd, _ in servers.values():
            httpd.stop()

    print(f"\nMachine: {platform.platform()}, {os.cpu_count()} cores; wrk -t2 -c{CONNECTIONS} -d{DURATION}, "
          f"{ROUNDS} interleaved rounds; medians, ratio spread in brackets.\n")
    print("| configuration | req/s | p50 ms | p99 ms | against | req/s | ratio (min-max) |")
    print("|---|---|---|---|---|---|---|")
    for title, left, right, _ in comparisons:
        pairs = results[title]
        ratios = [l[0] / r[0] for l, r in pairs]
        median = lambda index, side: statistics.median(p[side][index] for p in pairs)  # noqa: E731
        print(f"| {title} | {median(0, 0):.0f} | {median(1, 0):.2f} | {median(2, 0):.2f} | {right} | "
              f"{median(0, 1):.0f} | {statistics.median(ratios):.2f} ({min(ratios):.2f}-{max(ratios):.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
