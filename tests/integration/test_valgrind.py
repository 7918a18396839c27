"""httpd under valgrind --leak-check=full, with every directive of the module in use and requests
that take every path (pass, refuse, malformed, chain, CRL, XFCC, authz providers, expressions,
shared cache): no memory error anywhere, no definite leak with the module on its stack."""
import os
import re
import shutil
import subprocess

import pytest

from harness.pki import name
from harness.client import AZURE_HEADER, forwarded, send
from harness.servers import Httpd, make_workdir, write_file

VALGRIND = shutil.which("valgrind")
pytestmark = pytest.mark.skipif(VALGRIND is None, reason="valgrind is not installed (make deps installs it)")


def test_every_directive_under_valgrind(pki):
    workdir = make_workdir("arrcert-valgrind-")
    root = pki.issue("vg_root", name(("O", "Contoso"), ("CN", "VG Root")), ca=True)
    issuing = pki.issue("vg_int", name(("O", "Contoso"), ("CN", "VG Issuing")), issuer=root, ca=True)
    carol = pki.issue("vg_carol", name(("O", "Contoso"), ("CN", "carol")), issuer=issuing)
    alice = pki.leaf("vg_alice", "alice")
    crl_dir = os.path.join(workdir, "crls")
    ca_dir = os.path.join(workdir, "cas")
    os.makedirs(crl_dir)
    os.makedirs(ca_dir)
    pki.write_crl(os.path.join(crl_dir, "root.pem"), root)
    pki.write_crl(os.path.join(workdir, "issuing.pem"), issuing)
    shutil.copy(root.cert_path, os.path.join(ca_dir, "root.pem"))
    subprocess.run(["openssl", "rehash", ca_dir], check=True, capture_output=True)
    secret = os.path.join(workdir, "secret")
    write_file(secret, "s" * 40)
    log = os.path.join(workdir, "valgrind.log")

    httpd = Httpd("", modules=["socache_shmcb_module mod_socache_shmcb.so", "env_module mod_env.so"])
    httpd.body = f"""
        ArrCertAcceptUnverified on
        ArrCertCache shmcb:{httpd.dir}/verdicts(512000) memory:50
        ArrCertCacheTimeout 60
        ArrCertCacheSecret {secret}
        ArrCertTrustedProxy 127.0.0.1 ::1
        ArrCertMaxHeaderLength 8000
        <Location /pinned>
            ArrCertVerifyClient require
            ArrCertThumbprint {alice.sha1}
            ArrCertIssuer "CN=Contoso Test CA, O=Contoso"
            ArrCertSubject "CN=alice"
            ArrCertClockSkew 30
            ArrCertOptions +StdEnvVars +ExportCertData
            ArrCertUserName SSL_CLIENT_S_DN_CN
        </Location>
        <Location /chain>
            ArrCertVerifyClient optional
            ArrCertHeader X-Client-Cert pem
            ArrCertChainHeader X-Client-Chain pem
            ArrCertCACertificateFile {root.cert_path}
            ArrCertCACertificatePath {ca_dir}
            ArrCertVerifyDepth 3
            ArrCertCARevocationFile {workdir}/issuing.pem
            ArrCertCARevocationPath {crl_dir}
            ArrCertCARevocationCheck chain
            ArrCertCARevocationRefresh 1
            Require expr %{{SSL_CLIENT_VERIFY}} == 'SUCCESS' && arrcert('SSL_CLIENT_S_DN_CN') == 'carol'
        </Location>
        <Location /xfcc>
            ArrCertVerifyClient require
            ArrCertFrontEnd envoy
            ArrCertXfccElement first
            ArrCertVerdictHeader X-Envoy-Verified yes
        </Location>
        <Location /authz>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            <RequireAll>
                Require arrcert
                Require arrcert-thumbprint {alice.sha1}
                Require arrcert-issuer "CN=Contoso Test CA, O=Contoso"
                Require arrcert-subject "CN=alice"
            </RequireAll>
        </Location>
        """
    for path in ("pinned", "chain", "xfcc", "authz"):
        httpd.add_cgi(f"{path}/env.cgi")
    valgrind = [VALGRIND, "--leak-check=full", "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
                "--num-callers=40", f"--log-file={log}", "--trace-children=no"]
    httpd.start(wrapper=valgrind, timeout=120)
    try:
        xfcc = f'Hash={alice.sha256.lower()};Cert="{alice.nginx_header}";Subject="CN=alice"'
        chain = carol.pem_spaces
        cases = [
            ("/pinned/env.cgi", forwarded(alice), 200),
            ("/pinned/env.cgi", forwarded(alice), 200),  # from the cache
            ("/pinned/env.cgi", forwarded(carol), 403),
            ("/pinned/env.cgi", [(AZURE_HEADER, "bm90IGEgY2VydA==")], 403),
            ("/pinned/env.cgi", [(AZURE_HEADER, "A" * 8100)], 403),
            ("/pinned/env.cgi", [], 403),
            ("/chain/env.cgi", [("X-Client-Cert", chain), ("X-Client-Chain", issuing.pem_spaces)], 200),
            ("/chain/env.cgi", [("X-Client-Cert", alice.pem_spaces)], 403),
            ("/xfcc/env.cgi", [("X-Forwarded-Client-Cert", xfcc), ("X-Envoy-Verified", "yes")], 200),
            ("/xfcc/env.cgi", [("X-Forwarded-Client-Cert", xfcc), ("X-Envoy-Verified", "no")], 403),
            ("/xfcc/env.cgi", [("X-Forwarded-Client-Cert", 'Cert="%ZZ"'), ("X-Envoy-Verified", "yes")], 403),
            ("/authz/env.cgi", forwarded(alice), 200),
            ("/authz/env.cgi", forwarded(carol), 403),
        ]
        for path, headers, expected in cases:
            status, _ = send(httpd, path, headers=headers)
            assert status == expected, (path, headers[:1], status)
    finally:
        httpd.stop()
    report = open(log).read()
    errors = re.search(r"ERROR SUMMARY: (\d+) errors", report)
    assert errors is not None, report[-2000:]
    records = re.split(r"\n==\d+== \n", report)
    ours = [r for r in records if "definitely lost" in r and ("mod_arrcert" in r or "arrcert::" in r)]
    print(f"\nvalgrind: {errors.group(0)}; " + (re.search(r"definitely lost: [^\n]*", report) or [""])[0])
    assert ours == [], "\n\n".join(ours)[:6000]
    assert errors.group(1) == "0", report[-6000:]
