"""The files where httpd's processes share fetched CRLs and OCSP responses: made for httpd's User
alone, sealed under a key only root reads, and a start-up that stops when either is open to others.
(What the processes do with them: test_shared_revocation.py.)"""
import os
import stat
import subprocess

import pytest

from harness.client import send
from harness.ocsp import StaticHttp
from harness.pki import name
from harness.servers import HTTPD, RUN_AS_ROOT, Httpd, httpd_env, running, server_user


def fetching(ca):
    httpd = Httpd(f"""
        ArrCertCACertificateFile {ca.cert_path}
        ArrCertVerifyClient require
        ArrCertCARevocationFetch on
        """)
    return httpd


def runtime_dir(httpd):
    return os.path.join(httpd.dir, "run")  # DefaultRuntimeDir (harness/servers.py)


def share_of(httpd):
    return os.path.join(runtime_dir(httpd), "arrcert-revocation")


def key_of(httpd):
    return os.path.join(runtime_dir(httpd), "arrcert-revocation.key")


@pytest.fixture(scope="module")
def published(pki):
    cdp = StaticHttp()
    ca = pki.issue("sf_ca", name(("O", "Share"), ("CN", "Share Files CA")), ca=True)
    alice = pki.issue("sf_alice", name(("O", "Share"), ("CN", "alice")), issuer=ca, crl_url=cdp.url("/ca.crl"))
    crl = os.path.join(cdp.dir, "ca.crl")
    pki.write_crl(crl, ca, der=True)
    os.chmod(crl, 0o644)
    with running(cdp):
        yield ca, alice, open(crl, "rb").read()


def test_the_share_is_httpds_users_alone_and_its_files_are_sealed(published):
    ca, alice, crl = published
    httpd = fetching(ca)
    with running(httpd):
        assert send(httpd, "/env.cgi", alice).status == 200, httpd.error_log()[-600:]
    directory = os.stat(share_of(httpd))
    assert stat.S_IMODE(directory.st_mode) == 0o700
    user = server_user()
    if user:
        import pwd
        assert directory.st_uid == pwd.getpwnam(user).pw_uid
    key = os.stat(key_of(httpd))
    assert stat.S_IMODE(key.st_mode) == 0o600 and key.st_uid == os.geteuid()
    documents = [f for f in os.listdir(share_of(httpd)) if f.endswith(".der")]
    assert len(documents) == 1, documents
    sealed = open(os.path.join(share_of(httpd), documents[0]), "rb").read()
    assert crl in sealed and sealed != crl  # the CRL, with the time it was fetched and a seal


@pytest.mark.parametrize("what, message", [
    ("directory", "arrcert-revocation, is open to other users"),
    ("key", "arrcert-revocation.key: is open to other users"),
])
def test_a_share_open_to_others_stops_start_up(published, what, message):
    ca, alice, _ = published
    httpd = fetching(ca)
    with running(httpd):
        pass
    if what == "directory":
        os.chmod(share_of(httpd), 0o777)
    else:
        os.chmod(key_of(httpd), 0o644)
    # httpd listens before the module's start-up runs: what tells is that it exits, and why.
    run = subprocess.run([HTTPD, "-f", httpd.write_config(), "-DFOREGROUND"], capture_output=True, text=True,
                         timeout=30, env=httpd_env())
    assert run.returncode != 0
    assert message in httpd.error_log(), httpd.error_log()[-600:]


@pytest.mark.skipif(not RUN_AS_ROOT, reason="only root can make a key httpd's User cannot read")
def test_httpds_user_cannot_read_the_key(published):
    ca, _, _ = published
    httpd = fetching(ca)
    with running(httpd):
        pass
    key = os.stat(key_of(httpd))
    assert key.st_uid == 0 and stat.S_IMODE(key.st_mode) & 0o077 == 0
