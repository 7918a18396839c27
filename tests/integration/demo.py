#!/usr/bin/python3
"""make demo: an Azure-like TLS front end (HAProxy) and httpd with mod_arrcert serving a PHP page.

Runs until Ctrl-C and prints curl commands to try. With --check it makes those requests itself,
reports what came back and exits non-zero if the page is not what the demo promises.
"""
import datetime
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness.pki import Pki, name, now  # noqa: E402
from harness.client import send  # noqa: E402
from harness.servers import HAProxy, Httpd, remove_workdirs  # noqa: E402

PAGE = """<?php
header('Content-Type: text/plain; charset=utf-8');
printf("Hello %s!\\n\\n", $_SERVER['SSL_CLIENT_S_DN_CN'] ?? 'stranger');
foreach (['SSL_CLIENT_VERIFY', 'SSL_CLIENT_S_DN', 'SSL_CLIENT_I_DN', 'SSL_CLIENT_V_END',
          'SSL_CLIENT_V_REMAIN', 'ARRCERT_THUMBPRINT', 'REMOTE_USER'] as $name) {
    printf("%-20s %s\\n", $name, $_SERVER[$name] ?? '(unset)');
}
"""


def main():
    check = "--check" in sys.argv
    workdir = "/tmp/arrcert-demo"
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    os.chmod(workdir, 0o755)
    pki = Pki(workdir)
    alice = pki.leaf("alice", "alice")
    stranger_ca = pki.issue("stranger-ca", name(("O", "Fabrikam"), ("CN", "Fabrikam CA")), ca=True)
    mallory = pki.issue("mallory", name(("O", "Contoso"), ("CN", "mallory")), issuer=stranger_ca)
    expired = pki.leaf("expired", "alice", not_before=now() - datetime.timedelta(days=30),
                       not_after=now() - datetime.timedelta(days=1))

    httpd = Httpd(f"""
        # Only the front end may send the header; the certificate must chain to the demo CA.
        ArrCertTrustedProxy 127.0.0.1
        <Location />
            ArrCertVerifyClient require
            ArrCertCACertificateFile {pki.ca.cert_path}
            ArrCertUserName SSL_CLIENT_S_DN_CN
        </Location>
        <FilesMatch "\\.php$">
            SetHandler application/x-httpd-php
        </FilesMatch>
        DirectoryIndex index.php
        """, mpm="prefork", modules=["php_module libphp8.2.so"], log_level="info")
    httpd.add_file("index.php", PAGE)
    httpd.start()
    front = HAProxy(pki, httpd.port).start()

    base = f"curl --cacert {pki.ca.cert_path}"
    tries = [
        ("a good certificate (200)", alice, 200),
        ("a certificate from another CA (403)", mallory, 403),
        ("an expired certificate (403)", expired, 403),
        ("no certificate (403)", None, 403),
    ]
    print(f"\nmod_arrcert demo: HAProxy on https://localhost:{front.port} forwards the client certificate as "
          f"X-ARR-ClientCert\nto httpd with mod_arrcert on http://127.0.0.1:{httpd.port}.\n"
          f"Error log: {httpd.dir}/error.log\n\nTry:")
    for label, cert, _ in tries:
        cert_args = f" --cert {cert.cert_path} --key {cert.key_path}" if cert else ""
        print(f"  # {label}\n  {base}{cert_args} {front.url('/')}\n")

    failures = 0
    try:
        if check:
            for label, cert, expected in tries:
                status, body = send(front, "/", tls_cert=cert, cacert=pki.ca.cert_path)
                ok = status == expected and (expected != 200 or "Hello alice!" in body)
                failures += not ok
                print(f"{'ok ' if ok else 'BAD'} {label}: HTTP {status}")
                if expected == 200:
                    print("    " + body.strip().replace("\n", "\n    "))
            return 1 if failures else 0
        print("Press Ctrl-C to stop.")
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        front.stop()
        httpd.stop()
        if sys.exc_info()[0] in (None, SystemExit):  # after a failure the servers' logs stay
            remove_workdirs()


if __name__ == "__main__":
    sys.exit(main())
