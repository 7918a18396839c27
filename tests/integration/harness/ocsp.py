"""OCSP responders for the tests: OpenSSL's own (`openssl ocsp`), and one made with python-cryptography
that answers as a broken or hostile responder would (stale, replayed, tryLater, slow), counting queries."""
import datetime
import os
import shutil
import subprocess
import sys
import threading
import time

from harness.scripted import http_server
from harness.servers import BackgroundServer, free_port, make_workdir


def index_line(cert, revoked=False):
    """A line of `openssl ca`'s index.txt, which `openssl ocsp -index` reads."""
    expiry = cert.cert.not_valid_after.strftime("%y%m%d%H%M%SZ")
    serial = format(cert.cert.serial_number, "X")
    if len(serial) % 2:
        serial = "0" + serial
    subject = "/" + "/".join(f"{a.oid._name}={a.value}" for a in cert.cert.subject)
    if revoked:
        when = (datetime.datetime.utcnow() - datetime.timedelta(hours=1)).strftime("%y%m%d%H%M%SZ")
        return f"R\t{expiry}\t{when}\t{serial}\tunknown\t{subject}\n"
    return f"V\t{expiry}\t\t{serial}\tunknown\t{subject}\n"


class OpenSslResponder(BackgroundServer):
    """`openssl ocsp` as a responder: good for the certificates in the index, revoked for those
    marked so, unknown for others; signed by `signer` (the CA itself, or a delegated responder)."""

    scheme = "http"

    def __init__(self, ca, signer):
        self.dir = make_workdir("arrcert-ocsp-")
        self.port = free_port()
        self.index = os.path.join(self.dir, "index.txt")
        self.args = ["openssl", "ocsp", "-index", self.index, "-port", str(self.port), "-rsigner",
                     signer.cert_path, "-rkey", signer.key_path, "-CA", ca.cert_path, "-nmin", "60"]

    def start(self, good=(), revoked=()):
        with open(self.index, "w") as f:
            f.writelines([index_line(c) for c in good] + [index_line(c, True) for c in revoked])
        with open(self.index + ".attr", "w") as f:
            f.write("unique_subject = no\n")
        # Not a probe connection: `openssl ocsp` serves one connection at a time, and one that closes
        # without a request stalls it. It says when it listens.
        log = os.path.join(self.dir, "ocsp.log")
        with open(log, "w") as out:
            self.process = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_until(lambda: "waiting for OCSP client connections" in open(log).read()):
            raise RuntimeError(f"openssl ocsp did not start: {open(log).read()}")
        return self

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"


class ScriptedResponder(BackgroundServer):
    """A responder that answers every query as `mode` says, signed by the CA's key; it counts the
    queries it received in a file."""

    scheme = "http"

    def __init__(self, ca, mode, delay=0.0):
        self.dir = make_workdir("arrcert-ocsp-scripted-")
        self.port = free_port()
        self.count_file = os.path.join(self.dir, "count")
        self.args = [sys.executable, os.path.join(os.path.dirname(__file__), "ocsp_scripted.py"), str(self.port),
                     ca.cert_path, ca.key_path, mode, str(delay), self.count_file,
                     os.path.join(self.dir, "known")]

    def start(self, known=()):
        """`known`: the certificates it answers for, and their issuers (with their keys)."""
        os.makedirs(os.path.join(self.dir, "known"), exist_ok=True)
        for cert in known:
            for path in (cert.cert_path, cert.key_path):
                shutil.copy(path, os.path.join(self.dir, "known", os.path.basename(path)))
        return self.spawn(self.args, "scripted OCSP responder")

    def queries(self):
        try:
            return int(open(self.count_file).read() or 0)
        except FileNotFoundError:
            return 0

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"


class StaticHttp(BackgroundServer):
    """`python3 -m http.server` on a directory: a CRL distribution point."""

    scheme = "http"

    def __init__(self):
        self.dir = make_workdir("arrcert-cdp-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()

    def start(self):
        return self.spawn([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", self.dir,
                           str(self.port)], "http.server")

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"


class DistributionPoint:
    """A CRL distribution point that counts: an http.server in a thread of the tests serving the
    files of its directory (read at each request, so a CRL written there is republished), after
    `delay` seconds, counting the GETs of each path. stop() takes it down; start() brings it up
    again on the same port (its URL, in the certificates, stays)."""

    def __init__(self, delay=0.0):
        self.dir = make_workdir("arrcert-cdp-")
        self.port = free_port()
        self.delay = delay
        self.fetches = {}  # path: GETs received (answered or not)
        self.httpd = None

    def answer(self, method, path, body):
        self.fetches[path] = self.fetches.get(path, 0) + 1
        time.sleep(self.delay)
        try:
            with open(os.path.join(self.dir, os.path.basename(path)), "rb") as f:
                return 200, {"Content-Type": "application/pkix-crl"}, f.read()
        except OSError:
            return 404, {}, b""

    def start(self):
        self.httpd = http_server(self.answer, self.port)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"


def wait_until(predicate, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()
