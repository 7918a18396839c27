"""Chain validation, CRLs that follow their files, and trusted front ends, in a real httpd."""
import datetime
import os
import socket
import subprocess
import time

import pytest

from harness.client import send
from harness.pki import name, now
from harness.servers import Httpd, free_port, make_workdir, running


class TrustPki:
    def __init__(self, pki):
        self.dir = make_workdir("arrcert-trust-")
        self.root = pki.issue("t_root", name(("O", "Contoso"), ("CN", "Contoso Root")), ca=True)
        self.intermediate = pki.issue("t_int", name(("O", "Contoso"), ("CN", "Contoso Issuing")),
                                      issuer=self.root, ca=True)
        self.leaf = pki.issue("t_leaf", name(("O", "Contoso"), ("CN", "alice")), issuer=self.intermediate)
        self.other = pki.issue("t_other", name(("O", "Contoso"), ("CN", "carol")), issuer=self.intermediate)
        self.by_root = pki.issue("t_by_root", name(("O", "Contoso"), ("CN", "bob")), issuer=self.root)
        self.expired = pki.issue("t_expired", name(("O", "Contoso"), ("CN", "old")), issuer=self.intermediate,
                                 not_before=now() - datetime.timedelta(days=9),
                                 not_after=now() - datetime.timedelta(days=1))
        self.future = pki.issue("t_future", name(("O", "Contoso"), ("CN", "new")), issuer=self.intermediate,
                                not_before=now() + datetime.timedelta(days=2), days=(2, 30))
        self.revoked = pki.issue("t_revoked", name(("O", "Contoso"), ("CN", "mallory")),
                                 issuer=self.intermediate)
        stranger_root = pki.issue("t_stranger_root", name(("O", "Contoso"), ("CN", "Contoso Root")), ca=True)
        stranger_int = pki.issue("t_stranger_int", name(("O", "Contoso"), ("CN", "Contoso Issuing")),
                                 issuer=stranger_root, ca=True)
        self.stranger = pki.issue("t_stranger", name(("O", "Contoso"), ("CN", "alice")), issuer=stranger_int)
        self.stranger_int = stranger_int
        self.server_only = pki.issue("t_server_only", name(("O", "Contoso"), ("CN", "web")),
                                     issuer=self.intermediate, eku="serverAuth")
        # Self-signed, with the intermediate's name; and a leaf it signed.
        self.impostor = pki.issue("t_impostor", name(("O", "Contoso"), ("CN", "Contoso Issuing")), ca=True)
        self.impostor_leaf = pki.issue("t_impostor_leaf", name(("O", "Contoso"), ("CN", "alice")),
                                       issuer=self.impostor)
        self.ca_file = os.path.join(self.dir, "ca.pem")
        with open(self.ca_file, "w") as f:
            f.write(self.root.pem)
        self.ca_file_with_intermediate = os.path.join(self.dir, "ca-int.pem")
        with open(self.ca_file_with_intermediate, "w") as f:
            f.write(self.root.pem + self.intermediate.pem)
        # A hashed directory, as `openssl rehash` makes it.
        self.ca_dir = os.path.join(self.dir, "ca-dir")
        os.makedirs(self.ca_dir)
        os.chmod(self.ca_dir, 0o755)
        with open(os.path.join(self.ca_dir, "root.pem"), "w") as f:
            f.write(self.root.pem)
        subprocess.run(["openssl", "rehash", self.ca_dir], check=True, capture_output=True)
        self.crl_file = os.path.join(self.dir, "crl.pem")
        self.pki = pki
        self.write_crls(revoked=[self.revoked])

    def write_crls(self, revoked=(), garbage=False):
        if garbage:
            with open(self.crl_file + ".next", "w") as f:
                f.write("-----BEGIN X509 CRL-----\nnot a crl\n-----END X509 CRL-----\n")
            os.replace(self.crl_file + ".next", self.crl_file)
            return
        root_crl = self.pki.write_crl(self.crl_file + ".root", self.root)
        int_crl = self.pki.write_crl(self.crl_file + ".int", self.intermediate, revoked=revoked)
        with open(self.crl_file + ".next", "w") as f:
            f.write(open(root_crl).read() + open(int_crl).read())
        os.chmod(self.crl_file + ".next", 0o644)
        os.replace(self.crl_file + ".next", self.crl_file)


def chain(*certs):
    """Several PEM blocks in one header, newlines as spaces (what mod_headers forwards)."""
    return " ".join(c.pem.strip().replace("\n", " ") for c in certs)


@pytest.fixture(scope="module")
def trust(pki):
    return TrustPki(pki)


@pytest.fixture(scope="module")
def server(trust):
    trusted_port = free_port()
    httpd = Httpd(f"""
        # Where any server lists front ends, one without a list trusts none: the main server's.
        ArrCertTrustedProxy 127.0.0.1 ::1
        Listen 127.0.0.1:{trusted_port}
        <Location /chain>
            ArrCertVerifyClient require
            ArrCertCACertificateFile {trust.ca_file}
        </Location>
        <Location /chain-depth>
            ArrCertVerifyClient require
            ArrCertCACertificateFile {trust.ca_file}
            ArrCertVerifyDepth 1
        </Location>
        <Location /chain-dir>
            ArrCertVerifyClient require
            ArrCertCACertificatePath {trust.ca_dir}
        </Location>
        <Location /chain-int-in-file>
            ArrCertVerifyClient require
            ArrCertCACertificateFile {trust.ca_file_with_intermediate}
        </Location>
        <Location /report>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            ArrCertCACertificateFile {trust.ca_file}
        </Location>
        <Location /crl>
            ArrCertVerifyClient require
            ArrCertCACertificateFile {trust.ca_file}
            ArrCertCARevocationFile {trust.crl_file}
            ArrCertCARevocationRefresh 1
        </Location>
        <Location /forged>
            ArrCertVerifyClient require
            ArrCertCACertificateFile {trust.ca_file}
        </Location>
        <Location /forged-report>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            ArrCertCACertificateFile {trust.ca_file}
        </Location>
        <Location /forged-custom>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            ArrCertCACertificateFile {trust.ca_file}
            ArrCertHeader X-Client-Cert
        </Location>
        <VirtualHost 127.0.0.1:{trusted_port}>
            ArrCertTrustedProxy 127.0.0.1 ::1
        </VirtualHost>
        """)
    httpd.trusted_port = trusted_port
    for path in ["chain", "chain-dir", "chain-depth", "chain-int-in-file", "report", "crl", "forged", "forged-report",
                 "forged-custom"]:
        httpd.add_cgi(f"{path}/env.cgi")
    httpd.start()
    yield httpd
    httpd.stop()
    assert "exit signal" not in httpd.error_log()


def test_chain_from_the_header(server, trust):
    assert send(server, "/chain/env.cgi", value=chain(trust.leaf, trust.intermediate)).status == 200
    assert send(server, "/chain/env.cgi", trust.by_root).status == 200
    assert send(server, "/chain/env.cgi", value=trust.leaf.aws_header + trust.intermediate.aws_header).status == 200
    # Without the intermediate, the leaf does not reach the root.
    assert send(server, "/chain/env.cgi", trust.leaf).status == 403


def test_hashed_ca_directory(server, trust):
    assert send(server, "/chain-dir/env.cgi", value=chain(trust.leaf, trust.intermediate)).status == 200
    assert send(server, "/chain-dir/env.cgi", value=chain(trust.stranger, trust.stranger_int)).status == 403


def test_intermediate_from_the_ca_file(server, trust):
    assert send(server, "/chain-int-in-file/env.cgi", trust.leaf).status == 200
    assert send(server, "/chain/env.cgi", trust.leaf).status == 403


def test_depth(server, trust):
    assert send(server, "/chain-depth/env.cgi", value=chain(trust.leaf, trust.intermediate)).status == 403
    assert send(server, "/chain-depth/env.cgi", trust.by_root).status == 200


@pytest.mark.parametrize("label,reason", [
    ("stranger", "certificate signature failure"),  # same names as ours, other keys
    ("impostor", "certificate signature failure"),
    ("server_only", "unsuitable certificate purpose"),
    ("expired", "certificate has expired"),
    ("future", "certificate is not yet valid"),
])
def test_refusals_say_why(server, trust, label, reason):
    values = {
        "stranger": chain(trust.stranger, trust.stranger_int),
        "impostor": chain(trust.impostor_leaf, trust.impostor),
        "server_only": chain(trust.server_only, trust.intermediate),
        "expired": chain(trust.expired, trust.intermediate),
        "future": chain(trust.future, trust.intermediate),
    }
    mark = server.log_mark()
    assert send(server, "/chain/env.cgi", value=values[label]).status == 403
    env = send(server, "/report/env.cgi", value=values[label]).env
    log = server.log_since(mark)
    if label == "impostor":
        # The impostor's own signature is fine: it is not in the trust store, so OpenSSL stops at
        # the missing issuer, or at the signature when it tries the real intermediate's name.
        assert env["SSL_CLIENT_VERIFY"].startswith("FAILED:")
        assert "refused (rule chain)" in log
        return
    assert env["SSL_CLIENT_VERIFY"] == f"FAILED:{reason}"
    assert f"): {reason};" in log


def test_revoked_leaf_and_crl_replaced_while_running(server, trust):
    assert send(server, "/crl/env.cgi", value=chain(trust.leaf, trust.intermediate)).status == 200
    mark = server.log_mark()
    assert send(server, "/crl/env.cgi", value=chain(trust.revoked, trust.intermediate)).status == 403
    assert "certificate revoked" in server.log_since(mark)

    # Revoke alice too; within the refresh interval (1 s) the new CRL is in force, no restart.
    trust.write_crls(revoked=[trust.revoked, trust.leaf])
    time.sleep(1.2)
    mark = server.log_mark()
    assert send(server, "/crl/env.cgi", value=chain(trust.leaf, trust.intermediate)).status == 403
    log = server.log_since(mark)
    assert "CRLs reloaded" in log and "certificate revoked" in log

    # A CRL file that fails to parse: logged, and the previous CRLs stay in force.
    trust.write_crls(garbage=True)
    time.sleep(1.2)
    mark = server.log_mark()
    assert send(server, "/crl/env.cgi", value=chain(trust.leaf, trust.intermediate)).status == 403
    assert send(server, "/crl/env.cgi", value=chain(trust.other, trust.intermediate)).status == 200
    log = server.log_since(mark)
    assert "previous CRLs stay in force" in log and trust.crl_file in log

    trust.write_crls(revoked=[trust.revoked])
    time.sleep(1.2)
    assert send(server, "/crl/env.cgi", value=chain(trust.leaf, trust.intermediate)).status == 200


def test_forged_header_from_another_peer_without_trusted_proxy(trust):
    # As on Azure: where no server lists front ends, the header is honoured from any peer.
    httpd = Httpd(f"""
        <Location /forged>
            ArrCertVerifyClient require
            ArrCertCACertificateFile {trust.ca_file}
        </Location>
        """)
    httpd.add_cgi("forged/env.cgi")
    with running(httpd):
        assert send(httpd, "/forged/env.cgi", trust.by_root, interface="127.0.0.2").status == 200


def test_forged_header_from_untrusted_peer_is_removed(server, trust):
    port = server.trusted_port
    forged = trust.by_root
    response = send(server, "/forged/env.cgi", forged, port=port, interface="127.0.0.2")
    assert response.status == 403
    assert "removed X-ARR-ClientCert sent by 127.0.0.2, which is not an ArrCertTrustedProxy" in response.log

    # The app never sees it, and the request has no certificate.
    response = send(server, "/forged-report/env.cgi", forged, port=port, interface="127.0.0.2")
    assert response.status == 200
    env = __import__("json").loads(response.body)
    assert "HTTP_X_ARR_CLIENTCERT" not in env
    assert response.variables == {"SSL_CLIENT_VERIFY": "NONE"}

    response = send(server, "/forged-custom/env.cgi", forged, header="X-Client-Cert", port=port, interface="127.0.0.2")
    env = __import__("json").loads(response.body)
    assert "HTTP_X_CLIENT_CERT" not in env
    assert env["SSL_CLIENT_VERIFY"] == "NONE"


def test_trusted_peer_is_honoured(server, trust):
    port = server.trusted_port
    assert send(server, "/forged/env.cgi", trust.by_root, port=port, interface="127.0.0.1").status == 200


def test_trusted_proxy_over_ipv6(trust):
    """IPv6 peers: ::1 listed is honoured; a server that lists only 127.0.0.1 removes the header."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("this machine has no IPv6 loopback")
    listed, unlisted = free_port(), free_port()
    httpd = Httpd(f"""
        Listen [::1]:{listed}
        Listen [::1]:{unlisted}
        <VirtualHost [::1]:{listed}>
            ArrCertTrustedProxy ::1/128
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            ArrCertCACertificateFile {trust.ca_file}
        </VirtualHost>
        <VirtualHost [::1]:{unlisted}>
            ArrCertTrustedProxy 127.0.0.1
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            ArrCertCACertificateFile {trust.ca_file}
        </VirtualHost>
        """)
    httpd.add_cgi("env.cgi")
    with running(httpd):
        env = send(f"http://[::1]:{listed}", "/env.cgi", trust.by_root).env
        assert env["SSL_CLIENT_VERIFY"] == "SUCCESS" and env["SSL_CLIENT_S_DN_CN"] == "bob"
        env = send(f"http://[::1]:{unlisted}", "/env.cgi", trust.by_root).env
        assert env["SSL_CLIENT_VERIFY"] == "NONE" and "HTTP_X_ARR_CLIENTCERT" not in env
