"""Faults around the server at run time: CA files and CRL files that disappear or become
unreadable. The last good state stays in force, and each change is logged once."""
import os
import shutil
import subprocess
import time

from harness.client import send
from harness.pki import name
from harness.servers import RUN_AS_ROOT, Httpd, make_workdir, server_user


def test_ca_and_crl_files_disappearing_at_run_time(pki):
    workdir = make_workdir("arrcert-faults-")
    root = pki.issue("f_root", name(("O", "Contoso"), ("CN", "Faults Root")), ca=True)
    good = pki.issue("f_good", name(("O", "Contoso"), ("CN", "alice")), issuer=root)
    revoked = pki.issue("f_revoked", name(("O", "Contoso"), ("CN", "mallory")), issuer=root)
    stranger = pki.leaf("f_stranger", "alice")  # another CA
    ca_file = os.path.join(workdir, "ca.pem")
    shutil.copy(root.cert_path, ca_file)
    ca_dir = os.path.join(workdir, "cas")
    os.makedirs(ca_dir)
    os.chmod(ca_dir, 0o755)
    shutil.copy(root.cert_path, os.path.join(ca_dir, "root.pem"))
    subprocess.run(["openssl", "rehash", ca_dir], check=True, capture_output=True)
    crl_file = pki.write_crl(os.path.join(workdir, "crl.pem"), root, revoked=[revoked])
    httpd = Httpd(f"""
        ArrCertCache none
        <Location /file>
            ArrCertVerifyClient require
            ArrCertCACertificateFile {ca_file}
            ArrCertCARevocationFile {crl_file}
            ArrCertCARevocationRefresh 1
        </Location>
        <Location /dir>
            ArrCertVerifyClient require
            ArrCertCACertificatePath {ca_dir}
        </Location>
        """, log_level="warn")
    for path in ("file", "dir"):
        httpd.add_file(f"{path}/index.html", "hello\n")
    httpd.start()

    def answers():
        return [send(httpd, path, cert).status for path in ("/file/", "/dir/") for cert in (good, revoked, stranger)]

    expected = [200, 403, 403, 200, 200, 403]  # /dir has no CRL
    try:
        assert answers() == expected

        # CA files are read at start-up: removing them changes nothing until a restart.
        os.remove(ca_file)
        shutil.rmtree(ca_dir)
        mark = httpd.log_mark()
        assert answers() == expected
        assert httpd.log_since(mark) == ""

        # The CRL file disappears: logged once, the CRLs in force stay in force.
        os.remove(crl_file)
        for _ in range(3):
            time.sleep(1.1)
            assert answers() == expected
        log = httpd.log_since(mark)
        assert log.count("previous CRLs stay in force") == 1 and crl_file in log, log

        # It comes back unreadable to the server's user: one more line.
        if RUN_AS_ROOT and server_user():
            pki.write_crl(crl_file, root, revoked=[revoked])
            os.chmod(crl_file, 0o600)
            mark = httpd.log_mark()
            for _ in range(3):
                time.sleep(1.1)
                assert answers() == expected
            log = httpd.log_since(mark)
            assert log.count("previous CRLs stay in force") == 1 and crl_file in log, log

        # Readable again, now revoking nobody: reloaded.
        pki.write_crl(crl_file, root)
        time.sleep(1.1)
        assert answers()[:3] == [200, 200, 403]
    finally:
        httpd.stop()
