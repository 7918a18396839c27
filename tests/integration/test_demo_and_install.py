"""`make demo` serves the page it promises; `make install` puts the module where a2enmod finds it."""
import os
import subprocess
import sys

import glob

import pytest

from harness.pki import name
from harness.client import send
from harness.servers import HTTPD, MODULES, ROOT, Httpd, make_workdir, running


def test_demo_serves_the_page_it_promises():
    run = subprocess.run([sys.executable, os.path.join(ROOT, "tests", "integration", "demo.py"), "--check"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ok  a good certificate (200): HTTP 200" in run.stdout
    assert "Hello alice!" in run.stdout
    assert "BAD" not in run.stdout


def test_make_install_with_destdir():
    dest = make_workdir("arrcert-install-")
    run = subprocess.run(["make", "-C", ROOT, "install", f"DESTDIR={dest}"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    module = os.path.join(dest, MODULES.lstrip("/"), "mod_arrcert.so")
    load = os.path.join(dest, "etc/apache2/mods-available/arrcert.load")
    conf = os.path.join(dest, "etc/apache2/mods-available/arrcert.conf")
    assert os.path.isfile(module) and os.path.isfile(load) and os.path.isfile(conf)
    cli = os.path.join(dest, "usr/local/bin/arrcert")
    assert subprocess.run([cli, "--help"], capture_output=True).returncode == 0

    # The installed .load and .conf, pointed at DESTDIR, make a configuration httpd accepts.
    with open(load) as f:
        load_text = f.read().replace(f"{MODULES}/mod_arrcert.so", module)
    config = os.path.join(dest, "httpd.conf")
    with open(config, "w") as f:
        f.write(f"ServerRoot {dest}\nListen 127.0.0.1:1\nServerName localhost\n"
                f"LoadModule mpm_event_module {MODULES}/mod_mpm_event.so\n"
                f"LoadModule authz_core_module {MODULES}/mod_authz_core.so\n"
                f"{load_text}Include {conf}\nErrorLog /dev/null\n")
    check = subprocess.run([HTTPD, "-t", "-D", "DUMP_MODULES", "-f", config], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "arrcert_module (shared)" in check.stdout


EXAMPLES = sorted(glob.glob(os.path.join(ROOT, "conf", "examples", "*.conf")))


def example_config(example, httpd, ca_path):
    """The example as written, with its placeholders pointed at this test's files and port."""
    with open(example) as f:
        text = f.read()
    for placeholder, value in (("/etc/apache2/client-ca.pem", ca_path), ("/var/www/app", httpd.docroot),
                               ("*:80>", f"*:{httpd.port}>"), ("*:8080>", f"*:{httpd.port}>"),
                               ("10.0.0.10 ", "127.0.0.1 ")):
        text = text.replace(placeholder, value)
    return text


@pytest.mark.parametrize("example", EXAMPLES, ids=os.path.basename)
def test_examples_are_valid_configuration(example, pki):
    httpd = Httpd("", modules=["proxy_module mod_proxy.so", "proxy_fcgi_module mod_proxy_fcgi.so",
                               "socache_redis_module mod_socache_redis.so"])
    status, output = httpd.configtest(example_config(example, httpd, pki.ca.cert_path))
    assert status == 0, output


# Each protected example: its host, the paths it protects, and the names it asks for.
PROBES = {
    "azure-app-service-php.conf": ("app.example", ["/"], [("O", "Contoso"), ("CN", "alice")]),
    "behind-haproxy-or-nginx.conf": ("app.internal", ["/"], [("O", "Contoso"), ("CN", "alice")]),
    "exclusion-paths.conf": ("portal.example", ["/", "/public/", "/reports/", "/admin/"],
                             [("O", "Contoso"), ("OU", "Administrators"), ("OU", "Engineering"), ("CN", "alice")]),
    "shared-cache.conf": ("localhost", ["/api/"], [("O", "Contoso"), ("CN", "alice")]),
}


def test_every_protected_example_is_probed():
    protected = [os.path.basename(e) for e in EXAMPLES if "ArrCertVerifyClient" in open(e).read()]
    assert sorted(protected) == sorted(PROBES)


@pytest.mark.parametrize("example", sorted(PROBES))
def test_examples_as_written_refuse_a_self_made_certificate(example, pki):
    """A certificate made by anyone, carrying every name the example asks for, gets 403; the same
    names from the trusted CA get through."""
    host, paths, names = PROBES[example]
    look_alike = pki.issue(f"ex_ca_{example}", name(("O", "Contoso"), ("CN", "Contoso Test CA")), ca=True)
    forged = pki.issue(f"ex_forged_{example}", name(*names), issuer=look_alike)
    genuine = pki.issue(f"ex_genuine_{example}", name(*names), issuer=pki.ca)
    httpd = Httpd("")
    httpd.body = example_config(os.path.join(ROOT, "conf", "examples", example), httpd, pki.ca.cert_path)
    for path in paths:
        httpd.add_file(path.lstrip("/") + "index.html", "protected\n")
    with running(httpd):
        for path in paths:
            for cert, expected in ((forged, 403), (genuine, 200)):
                status, _ = send(httpd, path, cert, host=host)
                assert status == expected, (example, path, cert.name, httpd.error_log()[-2000:])
