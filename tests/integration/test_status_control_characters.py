"""Control characters from a certificate (issue 25, item 8b): a real httpd reads a CA's certificate
whose subject and distribution point hold CR, LF, ESC, DEL and C1 characters; every format of the
arrcert-status handler and mod_status's lines are read back as bytes, and none carries one."""
import re
import subprocess
import time

from harness.client import send
from harness.pki import name
from harness.servers import free_port
from test_status import FRONT_END, start, status_json


def raw_get(url):
    """Real curl, the body as bytes (the harness's curl reads text, which folds a CR into a newline)."""
    run = subprocess.run(["curl", "-sS", "--max-time", "20", "-o", "-", "-w", "%{http_code}", url],
                         capture_output=True, timeout=30)
    assert run.returncode == 0, run.stderr
    return int(run.stdout[-3:]), run.stdout[:-3]


def control_characters_in(body: bytes):
    """Offsets of C0 characters other than the line feeds, DEL, and C1 characters (UTF-8)."""
    found = [i for i, b in enumerate(body) if (b < 0x20 and b != 0x0A) or b == 0x7F]
    found += [m.start() for m in re.finditer(rb"\xC2[\x80-\x9F]", body)]
    return found


def test_control_characters_from_a_certificate_are_escaped_in_every_format(pki):
    """A CA's certificate whose subject holds CR, LF, ESC, DEL and C1 characters (OpenSSL's DN
    escapes the C0 ones and DEL, not C1) and whose distribution point URL holds them raw (the
    status would list the URL as a source, but such a URL is never fetched, issue 25 item 8a): no
    format carries any of them, each escapes them its way."""
    hostile = "\r\n\x1b[31m\x7f\u0085\u009b"
    down = f"http://127.0.0.1:{free_port()}/x{hostile[:-2]}.crl"  # IA5String: ASCII only
    controls = pki.issue("status_controls", name(("O", "Contoso"), ("CN", f"ctl{hostile}end")), issuer=pki.ca,
                         crl_url=down)
    httpd = start(pki, extra="""
        <Location /app/cdp>
            ArrCertCARevocationFetch on
            ArrCertCARevocationCheck leaf no_crl_for_cert_ok
        </Location>""")
    httpd.add_file("app/cdp/index.html", "cdp")
    try:
        # Genuine, refused by the subject rule: listed.
        assert send(httpd, "/app/cdp/", controls, interface=FRONT_END).status == 403
        time.sleep(1)
        assert send(httpd, "/app/cdp/", controls, interface=FRONT_END).status == 403
        # The distribution point is never fetched, so it is no source either; the log says why.
        assert "CRL distribution point not fetched (characters outside RFC 3986)" in httpd.error_log()
        data = status_json(httpd)
        assert data["sources"] == []
        assert [c["sha1"] for c in data["inventory"]["certificates"]] == [controls.sha1]
        # JSON's own escapes: read back, the strings are what the certificate holds.
        assert data["inventory"]["certificates"][0]["subject"] == \
            "CN=ctl\\0D\\0A\\1B[31m\\7F\u0085\u009bend,O=Contoso"

        bodies = {}
        for path in ("/arrcert-status", "/arrcert-status?format=json", "/arrcert-status?format=prometheus",
                     "/server-status?auto", "/server-status"):
            status, bodies[path] = raw_get(httpd.url(path))
            assert status == 200, path
            assert control_characters_in(bodies[path]) == [], (path, bodies[path][:3000])
        page, raw_json, metrics = (bodies[p] for p in ("/arrcert-status", "/arrcert-status?format=json",
                                                       "/arrcert-status?format=prometheus"))
        assert rb"ctl\0D\0A\1B[31m\7F\u0085\u009bend" in page
        assert rb"ctl\\0D\\0A\\1B[31m\\7F\u0085\u009bend" in raw_json
        # Prometheus escapes only \, " and the line feed: the label holds the text \u000d.
        assert rb'subject="CN=ctl\\0D\\0A\\1B[31m\\7F\\u0085\\u009bend,O=Contoso"' in metrics
        run = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
        lines = [line for line in bodies["/server-status?auto"].decode().splitlines() if line.startswith("ArrCert")]
        assert len(lines) > 20 and all(re.fullmatch(r"ArrCert[A-Za-z]+: \d+", line) for line in lines), lines
    finally:
        httpd.stop()
