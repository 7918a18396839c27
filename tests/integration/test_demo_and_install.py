"""`make demo` serves the page it promises; `make install` puts the module where a2enmod finds it."""
import os
import subprocess
import sys

import glob

import pytest

from harness.servers import HTTPD, MODULES, ROOT, Httpd, make_workdir


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


@pytest.mark.parametrize("example", sorted(glob.glob(os.path.join(ROOT, "conf", "examples", "*.conf"))),
                         ids=os.path.basename)
def test_examples_are_valid_configuration(example):
    httpd = Httpd(f"Include {example}\n", modules=["proxy_module mod_proxy.so", "proxy_fcgi_module mod_proxy_fcgi.so",
                                                   "socache_redis_module mod_socache_redis.so"])
    status, output = httpd.configtest(f"Include {example}\n")
    assert status == 0, output
