"""The Debian package: built by `make deb` from the files git knows (as a clean clone holds them),
checked by lintian, installed for real with apt on this machine, enabled with a2enmod, used by
httpd, and purged without a trace. Root only (apt); the machine is left as it was."""
import http.client
import os
import re
import shutil
import subprocess

import pytest

import harness.servers as servers
from harness.client import AZURE_HEADER, send
from harness.servers import Httpd

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PACKAGE = "libapache2-mod-arrcert"
MODULE_PATH = "/usr/lib/apache2/modules/mod_arrcert.so"

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("dpkg-buildpackage") is None,
                                reason="needs root (apt) and dpkg-buildpackage")


def run(*args, check=True, **kwargs):
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    result = subprocess.run(args, capture_output=True, text=True, env=env, timeout=900, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def version():
    text = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    return re.search(r"project\(mod_arrcert VERSION ([0-9.]+)", text).group(1)


def installed():
    return run("dpkg-query", "-W", "-f=${Status}", PACKAGE, check=False).stdout.startswith("install ok installed")


@pytest.fixture(scope="module")
def debs(tmp_path_factory):
    out = tmp_path_factory.mktemp("deb")
    run("make", "-C", ROOT, "deb", f"BUILD={out}")
    found = {name: str(out / name) for name in os.listdir(out) if name.endswith(".deb")}
    return found


@pytest.fixture(scope="module")
def package(debs):
    if installed():  # left by an interrupted run
        run("apt-get", "purge", "-y", PACKAGE)
    main = next(path for name, path in debs.items() if name.startswith(f"{PACKAGE}_"))
    run("apt-get", "install", "-y", "--no-install-recommends", main)
    yield main
    if installed():
        run("apt-get", "purge", "-y", PACKAGE)


def test_package_and_debug_symbols_are_built(debs):
    assert sorted(debs) == [f"{PACKAGE}-dbgsym_{version()}_amd64.deb", f"{PACKAGE}_{version()}_amd64.deb"]


def test_lintian_is_clean(debs):
    result = run("lintian", "--fail-on", "error,warning", "--no-tag-display-limit", *debs.values(), check=False)
    problems = [line for line in result.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr


def test_contents_and_dependencies(package):
    files = run("dpkg", "-L", PACKAGE).stdout.split()
    for expected in (MODULE_PATH, "/usr/bin/arrcert", "/etc/apache2/mods-available/arrcert.load",
                     "/etc/apache2/mods-available/arrcert.conf", "/usr/share/man/man1/arrcert.1.gz",
                     "/usr/share/man/man5/mod_arrcert.5.gz", f"/usr/share/doc/{PACKAGE}/copyright",
                     f"/usr/share/doc/{PACKAGE}/changelog.gz"):
        assert expected in files, expected
    # The examples README, docs and arrcert.conf point to, where they say they are.
    examples = sorted(os.listdir(os.path.join(ROOT, "conf", "examples")))
    assert examples
    for example in examples:
        assert f"/usr/share/doc/{PACKAGE}/examples/{example}" in files, example
    installed_conf = open("/etc/apache2/mods-available/arrcert.conf").read()
    assert f"/usr/share/doc/{PACKAGE}/examples/shared-cache.conf" in installed_conf
    assert any(f.startswith(f"/usr/share/doc/{PACKAGE}/README") for f in files)
    conffiles = run("dpkg-query", "-W", "-f=${Conffiles}", PACKAGE).stdout
    assert "/etc/apache2/mods-available/arrcert.conf" in conffiles and "arrcert.load" in conffiles
    depends = run("dpkg-query", "-W", "-f=${Depends}", PACKAGE).stdout
    assert "apache2-api-20120211" in depends and "libssl3" in depends
    assert "not stripped" not in run("file", "-L", MODULE_PATH).stdout
    # One version: the package's, the command's and the module's.
    assert run("dpkg-query", "-W", "-f=${Version}", PACKAGE).stdout == version()
    assert run("arrcert", "--version").stdout == f"arrcert {version()}\n"


def test_a2enmod_apachectl_and_a_request(package, pki):
    assert not os.path.exists("/etc/apache2/mods-enabled/arrcert.load")  # installed, not enabled
    run("a2enmod", "arrcert")
    assert os.path.islink("/etc/apache2/mods-enabled/arrcert.load")
    run("apache2ctl", "-t")
    # httpd with the packaged module, on loopback.
    saved = servers.MODULE
    servers.MODULE = MODULE_PATH
    alice = pki.leaf("pkg_alice", "alice")
    httpd = Httpd(f"""
        ServerTokens Full
        ArrCertCACertificateFile {pki.ca.cert_path}
        ArrCertVerifyClient require
        """)
    try:
        httpd.start()
        env = send(httpd, "/env.cgi", alice).env
        assert env["SSL_CLIENT_S_DN_CN"] == "alice" and env["SSL_CLIENT_VERIFY"] == "SUCCESS"
        connection = http.client.HTTPConnection("127.0.0.1", httpd.port, timeout=10)
        connection.request("GET", "/", headers={AZURE_HEADER: alice.azure_header})
        assert f"mod_arrcert/{version()}" in connection.getresponse().getheader("Server")
        connection.close()
    finally:
        httpd.stop()
        servers.MODULE = saved


def test_removal_warns_while_a_site_uses_the_directives(package):
    site = "/etc/apache2/sites-enabled/zz-arrcert-test.conf"
    with open(site, "w") as f:
        f.write("<Location /x>\n    ArrCertVerifyClient none\n</Location>\n")
    try:
        result = run("apt-get", "remove", "-y", PACKAGE, check=False)
        output = result.stdout + result.stderr
        assert "still use its ArrCert*" in output and site in output and "a2dismod arrcert" in output, output
    finally:
        os.remove(site)


def test_purge_leaves_nothing(package):
    run("apt-get", "purge", "-y", PACKAGE)
    assert not installed()
    for path in (MODULE_PATH, "/usr/bin/arrcert", "/etc/apache2/mods-available/arrcert.load",
                 "/etc/apache2/mods-available/arrcert.conf", "/etc/apache2/mods-enabled/arrcert.load",
                 "/etc/apache2/mods-enabled/arrcert.conf"):
        assert not os.path.lexists(path), path
    run("apache2ctl", "-t")
