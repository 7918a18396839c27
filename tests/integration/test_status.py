"""Live status (issue 18): mod_status's section and ?auto lines, the arrcert-status handler as HTML,
JSON and Prometheus text, read by the real consumers: promtool, a Prometheus server,
prometheus-apache-exporter and headless Chromium. Counts are checked exactly after a known mix."""
import concurrent.futures
import json
import os
import re
import struct
import shutil
import subprocess
import zlib
import time
import urllib.parse
import urllib.request

import pytest

from harness.client import send
from harness.ocsp import OpenSslResponder, StaticHttp
from harness.pki import LOOK_ALIKE, Cert, certificate_set, name
from harness.servers import Httpd, free_port, make_workdir, running, wait_for_port

STATUS = "mod_status.so"

# The front end's own address: the handler refuses what it relays, so the page is read from
# another address (127.0.0.1) that "Require ip" allows (issue 25, item 3).
FRONT_END = "127.0.0.3"

SITE = """
    ArrCertTrustedProxy 127.0.0.3
    ArrCertCACertificateFile {ca}
    {extra}
    <Location /app>
        ArrCertVerifyClient require
        ArrCertSubject "CN=alice"
        ArrCertSubject "CN=carol"
        ArrCertSubject "CN=<script>x</script>"
    </Location>
    <Location /server-status>
        SetHandler server-status
        Require ip 127.0.0.1
    </Location>
    <Location /arrcert-status>
        SetHandler arrcert-status
        Require ip 127.0.0.1
    </Location>
"""

# Several children: the counts must add up across processes (and their threads).
SEVERAL_EVENT_CHILDREN = """
    ServerLimit 3
    StartServers 3
    ThreadsPerChild 4
    MaxRequestWorkers 12
    MinSpareThreads 12
    MaxSpareThreads 12
"""
SEVERAL_PREFORK_CHILDREN = "StartServers 4\nMinSpareServers 4\nMaxSpareServers 8\nServerLimit 8\n"


certs = certificate_set(
    "status",
    alice=Cert("alice", days=(-1, 400)),
    carol=Cert("carol", days=(-1, 10)),  # expires within 30 days
    bob=Cert("bob", days=(-1, 200)),  # genuine, refused by the subject rule
    forged=Cert("alice", issuer=LOOK_ALIKE),
    script=Cert("<script>x</script>", days=(-1, 100)),
)


def start(pki, mpm="event", extra="", children=""):
    httpd = Httpd("", mpm=mpm, modules=[f"status_module {STATUS}"])
    # Which process served each /app request (%P), to show that the counts span children.
    pid_log = f'LogFormat "%P" pids\nCustomLog {httpd.dir}/pids.log pids "expr=%{{REQUEST_URI}} =~ m#^/app#"'
    httpd.body = SITE.format(ca=pki.ca.cert_path, extra=extra) + children + pid_log
    httpd.add_file("app/index.html", "app")
    httpd.add_file("static.html", "static")
    return httpd.start()


# The mix: (certificate or None, peer address, expected status); a peer that is not the front end
# sends a header it forged, and the front end nothing where it has no certificate.
def the_mix(certs):
    return ([(certs["alice"], None, 200)] * 7 + [(certs["carol"], None, 200)] * 2 + [(certs["bob"], None, 403)] * 3
            + [(certs["forged"], None, 403)] * 4 + [(None, None, 403)] * 5 + [(None, "127.0.0.2", 403)] * 2)


EXPECTED = {"Accepted": 9, "Refused": 7, "RefusedSubject": 3, "RefusedChain": 4, "NoCertificate": 7,
            "HeadersStripped": 2, "RefusedIssuer": 0, "RefusedThumbprint": 0, "RefusedHeader": 0}


def send_one(httpd, cert, peer):
    """One request of the mix: its status."""
    forged = "forged-by-anyone" if peer and cert is None else None
    return send(httpd, "/app/", cert, value=forged, interface=peer or FRONT_END).status


def send_mix(httpd, certs, workers=1):
    mix = the_mix(certs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        statuses = list(pool.map(lambda item: send_one(httpd, *item[:2]), mix))
    assert statuses == [expected for _, _, expected in mix]


def auto_lines(httpd):
    status, body = send(httpd, "/server-status?auto")
    assert status == 200
    return {key: value for key, _, value in (line.partition(": ") for line in body.splitlines())}


def status_json(httpd):
    status, body = send(httpd, "/arrcert-status?format=json")
    assert status == 200, body
    return json.loads(body)


def served_by(httpd):
    """The pids that wrote access log lines (%P), from the second log the site adds."""
    with open(os.path.join(httpd.dir, "pids.log")) as f:
        return {line.strip() for line in f if line.strip()}


@pytest.mark.parametrize("mpm", ["event", "prefork"])
def test_mod_status_lines_count_every_child(pki, certs, mpm):
    children = SEVERAL_EVENT_CHILDREN if mpm == "event" else SEVERAL_PREFORK_CHILDREN
    server = start(pki, mpm=mpm, children=children)
    try:
        send_mix(server, certs, workers=8)
        lines = auto_lines(server)
        for key, value in EXPECTED.items():
            assert lines.get(f"ArrCert{key}") == str(value), (key, lines)
        # Every request judged once, through this process's memory cache.
        hits, misses = int(lines["ArrCertMemoryCacheHits"]), int(lines["ArrCertMemoryCacheMisses"])
        assert hits + misses == len(the_mix(certs)) and misses >= 5
        assert len(served_by(server)) > 1, "the mix was served by one child only"
        # mod_status's own lines are all still there, for its readers.
        assert "Total Accesses" in lines and "Scoreboard" in lines
        status, page = send(server, "/server-status")
        assert status == 200 and "<h2>mod_arrcert</h2>" in page
    finally:
        server.stop()


def test_handler_formats_after_a_known_mix(pki, certs):
    httpd = start(pki)
    try:
        send_mix(httpd, certs)
        send(httpd, "/app/", certs["script"], interface=FRONT_END)
        data = status_json(httpd)
        counters = data["counters"]
        assert counters["Accepted"] == 10 and counters["Refused"] == 7 and counters["NoCertificate"] == 7
        assert counters["HeadersStripped"] == 2
        assert data["refused_by_rule"]["subject"] == 3 and data["refused_by_rule"]["chain"] == 4
        inventory = {c["sha1"]: c for c in data["inventory"]["certificates"]}
        # Genuine certificates only: the forged one (a stranger CA) is counted, never listed.
        assert certs["forged"].sha1 not in inventory
        assert set(inventory) == {certs[k].sha1 for k in ("alice", "carol", "bob", "script")}
        alice, carol, bob = (inventory[certs[k].sha1] for k in ("alice", "carol", "bob"))
        assert alice["requests"] == 7 and alice["last_verdict"] == "accepted" and alice["expiry"] == "ok"
        assert bob["requests"] == 3 and bob["last_verdict"] == "refused" and bob["last_rule"] == "subject"
        assert carol["expiry"] == "expiring" and carol["days_left"] == 10
        assert alice["subject"] == "CN=alice,O=Contoso" and alice["issuer"] == "CN=Contoso Test CA,O=Contoso"
        # Sorted by days left.
        days = [c["days_left"] for c in data["inventory"]["certificates"]]
        assert days == sorted(days)

        status, metrics = send(httpd, "/arrcert-status?format=prometheus")
        assert status == 200
        assert 'arrcert_requests_total{outcome="accepted",rule="none"} 10\n' in metrics
        assert 'arrcert_requests_total{outcome="refused",rule="chain"} 4\n' in metrics
        assert 'arrcert_requests_total{outcome="none",rule="none"} 7\n' in metrics
        assert 'arrcert_headers_stripped_total 2\n' in metrics
        assert re.search(r'arrcert_client_certificate_not_after_seconds\{thumbprint="%s",subject="CN=alice,O=Contoso"\} \d+'
                         % certs["alice"].sha1, metrics)

        status, page = send(httpd, "/arrcert-status")
        assert status == 200
        assert page.count('<tr class="expiring">') == 1 and "CN=carol" in page
        # The client's text is escaped; no certificate is ever shown.
        assert "<script" not in page.split("<body", 1)[1] and "&lt;script" in page
        for body in (page, metrics, json.dumps(data)):
            for cert in certs.values():
                assert cert.azure_header[:60] not in body
    finally:
        httpd.stop()


def test_handler_answers_only_get_with_a_known_format(pki):
    httpd = start(pki)
    try:
        assert send(httpd, "/arrcert-status?format=xml").status == 400
        assert send(httpd, "/arrcert-status", extra=("-X", "POST")).status == 405
        status, _ = send(httpd, "/arrcert-status?format=json", extra=("-I",))
        assert status == 200
        run = subprocess.run(["curl", "-sS", "-D", "-", "-o", "/dev/null", httpd.url("/arrcert-status")],
                             capture_output=True, text=True, timeout=30)
        headers = run.stdout.lower()
        assert "cache-control: no-store" in headers and "content-security-policy: default-src 'none'" in headers
        # Protected as the README shows: another address is refused.
        assert send(httpd, "/arrcert-status", interface="127.0.0.2").status == 403
    finally:
        httpd.stop()


def test_inventory_keeps_the_most_recently_seen(pki, certs):
    httpd = start(pki, extra="ArrCertStatusInventory 2")
    try:
        assert send(httpd, "/app/", certs["alice"], interface=FRONT_END).status == 200
        assert send(httpd, "/app/", certs["carol"], interface=FRONT_END).status == 200
        time.sleep(1.1)  # seconds: the inventory's clock
        # carol is now the least recently seen
        assert send(httpd, "/app/", certs["alice"], interface=FRONT_END).status == 200
        time.sleep(1.1)
        assert send(httpd, "/app/", certs["bob"], interface=FRONT_END).status == 403
        data = status_json(httpd)
        listed = [c["sha1"] for c in data["inventory"]["certificates"]]
        assert data["inventory"]["capacity"] == 2
        assert listed == [certs["bob"].sha1, certs["alice"].sha1]  # soonest notAfter first
    finally:
        httpd.stop()


def test_counters_survive_a_graceful_restart(pki, certs):
    httpd = start(pki)
    try:
        for _ in range(3):
            assert send(httpd, "/app/", certs["alice"], interface=FRONT_END).status == 200
        httpd.graceful(httpd.body)
        time.sleep(1.5)
        wait_for_port(httpd.port, httpd.process)
        for _ in range(2):
            assert send(httpd, "/app/", certs["alice"], interface=FRONT_END).status == 200
        data = status_json(httpd)
        assert data["counters"]["Accepted"] == 5
        assert data["inventory"]["certificates"][0]["requests"] == 5
        # A new inventory size needs a new area: everything starts again.
        httpd.graceful(httpd.body + "\nArrCertStatusInventory 50\n")
        time.sleep(1.5)
        assert send(httpd, "/app/", certs["alice"], interface=FRONT_END).status == 200
        data = status_json(httpd)
        assert data["counters"]["Accepted"] == 1 and data["inventory"]["capacity"] == 50
    finally:
        httpd.stop()


def test_bad_status_directives_stop_configtest(pki):
    httpd = Httpd("")
    for line, expected in [("ArrCertStatusInventory many", "ArrCertStatusInventory"),
                           ("ArrCertStatusInventory 100001", "ArrCertStatusInventory"),
                           ("ArrCertStatusExpiryWarning -1", "ArrCertStatusExpiryWarning"),
                           ("<VirtualHost *:80>\nArrCertStatusInventory 5\n</VirtualHost>", "ArrCertStatusInventory")]:
        code, output = httpd.configtest(line)
        assert code != 0 and expected in output, output


def test_promtool_accepts_the_exposition(pki, certs):
    httpd = start(pki)
    try:
        send_mix(httpd, certs)
        status, metrics = send(httpd, "/arrcert-status?format=prometheus")
        assert status == 200
        run = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, text=True,
                             timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
    finally:
        httpd.stop()


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def test_prometheus_scrapes_the_handler(pki, certs):
    httpd = start(pki)
    directory = make_workdir("arrcert-prometheus-")
    port = free_port()
    with open(os.path.join(directory, "prometheus.yml"), "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
scrape_configs:
  - job_name: arrcert
    metrics_path: /arrcert-status
    params:
      format: [prometheus]
    static_configs:
      - targets: ["127.0.0.1:{httpd.port}"]
""")
    prometheus = subprocess.Popen(["prometheus", f"--config.file={directory}/prometheus.yml",
                                   f"--storage.tsdb.path={directory}/data", f"--web.listen-address=127.0.0.1:{port}"],
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(directory, "log"), "w"))
    try:
        send_mix(httpd, certs)
        wait_for_port(port, prometheus, timeout=30, what="prometheus")
        query = urllib.parse.quote('sum(arrcert_requests_total{outcome="refused"})')
        deadline = time.time() + 40
        value = None
        while time.time() < deadline:
            try:
                result = get_json(f"http://127.0.0.1:{port}/api/v1/query?query={query}")["data"]["result"]
                value = result[0]["value"][1] if result else None
            except OSError:
                value = None
            if value == "7":
                break
            time.sleep(0.5)
        assert value == "7", open(os.path.join(directory, "log")).read()[-2000:]
        targets = get_json(f"http://127.0.0.1:{port}/api/v1/targets")["data"]["activeTargets"]
        assert targets[0]["health"] == "up", targets
    finally:
        prometheus.terminate()
        prometheus.wait(timeout=30)
        httpd.stop()
        shutil.rmtree(directory, ignore_errors=True)


def test_apache_exporter_still_reads_server_status(pki, certs):
    httpd = start(pki)
    port = free_port()
    exporter = subprocess.Popen(["prometheus-apache-exporter", f"--telemetry.address=127.0.0.1:{port}",
                                 f"--scrape_uri={httpd.url('/server-status?auto')}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        send_mix(httpd, certs)
        wait_for_port(port, exporter, timeout=30, what="prometheus-apache-exporter")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            metrics = response.read().decode()
        assert "\napache_up 1\n" in metrics, metrics[-3000:]
        accesses = re.search(r"\napache_accesses_total (\d+)", metrics)
        assert accesses and int(accesses.group(1)) >= len(the_mix(certs))
    finally:
        exporter.terminate()
        exporter.wait(timeout=30)
        httpd.stop()


def screenshot(url, path, width=1500):
    """Headless Chromium: the page as a PNG, and its DOM as Chromium built it."""
    common = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              f"--window-size={width},1000", "--user-data-dir=" + make_workdir("arrcert-chromium-")]
    shot = subprocess.run([*common, f"--screenshot={path}", url], capture_output=True, text=True, timeout=120)
    assert shot.returncode == 0 and os.path.getsize(path) > 10000, shot.stderr[-2000:]
    dom = subprocess.run([*common, "--dump-dom", url], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return dom.stdout


def test_page_renders_in_chromium_with_the_expiring_marker(pki, certs):
    httpd = start(pki)
    try:
        send_mix(httpd, certs)
        directory = make_workdir("arrcert-screenshot-")
        path = os.environ.get("ARRCERT_SCREENSHOT") or os.path.join(directory, "status.png")
        dom = screenshot(httpd.url("/arrcert-status"), path)
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
        rows = re.findall(r'<tr class="expiring">(.*?)</tr>', dom, re.S)
        assert len(rows) == 1 and "CN=carol" in rows[0] and "expiring" in rows[0]
        assert "<script" not in dom.split("<body", 1)[1]
    finally:
        httpd.stop()


def png_rows(path):
    """The rows of an 8-bit RGB(A) PNG (what Chromium writes), as bytes, with its pixel size."""
    data = open(path, "rb").read()
    chunks, offset = {}, 8
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        chunks.setdefault(kind, []).append(data[offset + 8:offset + 8 + length])
        offset += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", chunks[b"IHDR"][0][:10])
    assert depth == 8 and color in (2, 6)
    size = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(chunks[b"IDAT"]))
    stride = width * size
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up, corner = previous[x], previous[x - size] if x >= size else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return rows, size


def test_page_fits_1280_pixels(pki, certs):
    """The whole inventory table within a 1280 px window: nothing cut at the right edge."""
    long_named = pki.issue("status_long_leaf", name(("C", "US"), ("ST", "Washington"), ("L", "Redmond"),
                                                    ("O", "Contoso Pharmaceuticals Ltd"),
                                                    ("OU", "Manufacturing Devices"),
                                                    ("CN", "line-07-packaging-controller.plant.contoso.example")),
                           issuer=pki.ca)
    httpd = start(pki)
    try:
        send_mix(httpd, certs)
        # Genuine, refused by the subject rule: listed.
        assert send(httpd, "/app/", long_named, interface=FRONT_END).status == 403
        path = os.environ.get("ARRCERT_SCREENSHOT_1280") or os.path.join(make_workdir("arrcert-screenshot-"),
                                                                          "status-1280.png")
        screenshot(httpd.url("/arrcert-status"), path, width=int(os.environ.get("W", "1280")))
        rows, size = png_rows(path)
        edge = [row[-8 * size:] for row in rows]
        drawn = [y for y, pixels in enumerate(edge)
                 if any(pixels[i:i + 3] != b"\xff\xff\xff" for i in range(0, len(pixels), size))]
        assert not drawn, f"the page reaches the right edge at rows {drawn[:5]}..."
    finally:
        httpd.stop()


def test_revocation_sources_show_their_state(pki):
    """An OCSP responder that answers, a distribution point that serves a CRL, one that is down,
    and a CRL file read again after a change: each listed with its last success or error."""
    responder = OpenSslResponder(pki.ca, pki.ca)
    cdp = StaticHttp()
    crl_path = os.path.join(cdp.dir, "ca.crl")
    pki.write_crl(crl_path, pki.ca, der=True)
    down_url = f"http://127.0.0.1:{free_port()}/gone.crl"
    checked = pki.issue("status_ocsp", name(("O", "Contoso"), ("CN", "alice")), issuer=pki.ca,
                        ocsp_url=responder.url("/"))
    fetched = pki.issue("status_cdp", name(("O", "Contoso"), ("CN", "alice")), issuer=pki.ca, crl_url=cdp.url("/ca.crl"))
    unfetched = pki.issue("status_cdp_down", name(("O", "Contoso"), ("CN", "alice")), issuer=pki.ca, crl_url=down_url)
    file_crl = os.path.join(cdp.dir, "file.pem")
    pki.write_crl(file_crl, pki.ca)
    httpd = start(pki, extra=f"""
        <Location /app/ocsp>
            ArrCertOCSPEnable leaf
        </Location>
        <Location /app/cdp>
            ArrCertCARevocationFetch on
            ArrCertCARevocationCheck leaf no_crl_for_cert_ok
        </Location>
        <Location /app/file>
            ArrCertCARevocationFile {file_crl}
            ArrCertCARevocationRefresh 1
        </Location>""")
    for path in ("ocsp", "cdp", "file"):
        httpd.add_file(f"app/{path}/index.html", path)
    responder.start(good=[checked])
    cdp.start()
    try:
        # Before any request: the CRL file as start-up read it.
        at_start = {(s["kind"], s["name"]): s for s in status_json(httpd)["sources"]}
        assert at_start[("crl-file", file_crl)]["next_update"] is not None
        assert send(httpd, "/app/ocsp/", checked, interface=FRONT_END).status == 200
        assert send(httpd, "/app/cdp/", fetched, interface=FRONT_END).status == 200
        send(httpd, "/app/cdp/", unfetched, interface=FRONT_END)
        time.sleep(1.2)
        pki.write_crl(file_crl, pki.ca, revoked=[fetched])
        time.sleep(1.2)
        assert send(httpd, "/app/file/", fetched, interface=FRONT_END).status == 403
        data = status_json(httpd)
        sources = {(s["kind"], s["name"]): s for s in data["sources"]}
        ocsp = sources[("ocsp-responder", responder.url("/"))]
        assert ocsp["successes"] == 1 and ocsp["last_success"] is not None and ocsp["failures"] == 0
        fetched_crl = sources[("crl-distribution-point", cdp.url("/ca.crl"))]
        assert fetched_crl["successes"] == 1 and fetched_crl["next_update"] is not None
        down = sources[("crl-distribution-point", down_url)]
        assert down["failures"] == 1 and down["last_success"] is None and down["last_error"]
        reloaded = sources[("crl-file", file_crl)]
        assert reloaded["successes"] >= 2 and reloaded["last_error"] is None and reloaded["next_update"] is not None
        counters = data["counters"]
        assert counters["OcspQueries"] == 1 and counters["CrlFetches"] == 1 and counters["CrlFetchFailures"] == 1
        assert counters["CrlReloads"] == 1
        status, metrics = send(httpd, "/arrcert-status?format=prometheus")
        assert f'arrcert_source_failures_total{{kind="crl-distribution-point",name="{down_url}"}} 1' in metrics
    finally:
        httpd.stop()
        responder.stop()
        cdp.stop()


def test_decisions_reached_through_redirects_are_counted_once(pki, certs):
    """Where the module is off where a request begins and on where it ends (an .htaccess rewrite,
    an ErrorDocument), the decision is counted, once for the whole chain."""
    httpd = Httpd("", modules=[f"status_module {STATUS}", "rewrite_module mod_rewrite.so"],
                  allow_override="AuthConfig FileInfo")
    httpd.body = SITE.format(ca=pki.ca.cert_path, extra="") + """
        <Location /off>
            ErrorDocument 404 /app/index.html
        </Location>
    """
    httpd.add_file("app/index.html", "app")
    httpd.add_file("hop/.htaccess", "RewriteEngine on\nRewriteRule ^go$ /app/index.html\n")
    with running(httpd):
        assert send(httpd, "/hop/go", certs["alice"], interface=FRONT_END).status == 200
        assert send(httpd, "/hop/go", certs["forged"], interface=FRONT_END).status == 403
        send(httpd, "/off/missing", certs["forged"], interface=FRONT_END)
        # The 403 page is not counted again.
        assert send(httpd, "/app/nothing-here", certs["forged"], interface=FRONT_END).status == 403
        counters = status_json(httpd)["counters"]
        assert counters["Accepted"] == 1 and counters["Refused"] == 3, counters
        run = subprocess.run(["curl", "-sS", "-X", "POST", "-D", "-", "-o", "/dev/null", httpd.url("/arrcert-status")],
                             capture_output=True, text=True, timeout=30)
        allow = re.search(r"(?im)^allow: (.*)$", run.stdout)
        assert " 405 " in run.stdout.splitlines()[0] and allow and {"GET", "HEAD"} <= set(allow.group(1).split(",")), \
            run.stdout
