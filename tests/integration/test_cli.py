"""arrcert, the command-line companion: the module's formats and decisions, from the same core."""
import base64
import datetime
import os
import subprocess
import urllib.parse

import pytest

from harness.pki import name, now
from harness.client import send
from harness.servers import CLI, Httpd, make_workdir, running


def arrcert(*args, stdin=None):
    return subprocess.run([CLI, *args], input=stdin, capture_output=True, text=True, timeout=30)


@pytest.fixture(scope="module")
def files(pki):
    directory = make_workdir("arrcert-cli-")
    alice = pki.issue("cli_alice", name(("O", "Contoso"), ("OU", "R&D"), ("CN", "Zoë, Jr")), issuer=pki.ca,
                      dns=["a.example"], emails=["zoe@example.com"])
    der_path = os.path.join(directory, "alice.der")
    with open(der_path, "wb") as f:
        f.write(alice.der)
    expired = pki.leaf("cli_expired", not_before=now() - datetime.timedelta(days=5),
                       not_after=now() - datetime.timedelta(days=1))
    return {"alice": alice, "der": der_path, "expired": expired, "dir": directory}


def test_thumbprint_pem_and_der(files):
    alice = files["alice"]
    for path in (alice.cert_path, files["der"]):
        run = arrcert("thumbprint", path)
        assert run.returncode == 0, run.stderr
        assert run.stdout == f"SHA-1    {alice.sha1}\nSHA-256  {alice.sha256}\n"


def test_header_is_what_azure_sends(files):
    run = arrcert("header", files["alice"].cert_path)
    assert run.returncode == 0
    assert run.stdout.strip() == files["alice"].azure_header
    assert base64.b64decode(run.stdout) == files["alice"].der


def test_inspect_prints_what_the_module_exports(files):
    alice = files["alice"]
    httpd = Httpd("""
        ArrCertAcceptUnverified on
        <Location /report>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
        </Location>
        """)
    httpd.add_cgi("report/env.cgi")
    with running(httpd):
        module = send(httpd, "/report/env.cgi", alice).variables
    for source in ([alice.cert_path], ["-"]):
        run = arrcert("inspect", *source, stdin=alice.nginx_header if source == ["-"] else None)
        assert run.returncode == 0, run.stderr
        lines = run.stdout.splitlines()
        assert lines[0] == ("format: pem" if source != ["-"] else "format: url-pem")
        printed = dict(line.split("=", 1) for line in lines[1:])
        # No verdict: inspect checks no rules, and an impostor would read just as well.
        assert printed.pop("SSL_CLIENT_VERIFY") == "NONE (inspect checks no rules: use arrcert verify --ca FILE)"
        assert module["SSL_CLIENT_VERIFY"] == "SUCCESS"
        assert printed == {k: v for k, v in module.items() if k != "SSL_CLIENT_VERIFY"}


def test_inspect_names_a_refused_value(files):
    run = arrcert("inspect", "-", stdin="not base64!")
    assert run.returncode == 1
    assert "SSL_CLIENT_VERIFY=FAILED:malformed certificate header: invalid base64" in run.stdout


@pytest.mark.parametrize("options,expected", [
    ([], "FAILED:no CA or pinned thumbprint is configured to verify the certificate with"),
    (["--accept-unverified"], "SUCCESS"),
    (["--accept-unverified", "--subject", "CN=Zoë\\, Jr", "--issuer", "/O=Contoso/CN=Contoso Test CA"], "SUCCESS"),
    (["--thumbprint", "00" * 20], "FAILED:certificate thumbprint is not pinned"),
    (["--accept-unverified", "--subject", "CN=bob"], "FAILED:subject does not match"),
    (["--ca", "{ca}"], "SUCCESS"),
    (["--ca", "{stranger}"], "FAILED:unable to get local issuer certificate"),
])
def test_verify_takes_the_module_decision(pki, files, options, expected):
    stranger = pki.issue("cli_stranger_ca", name(("CN", "Stranger")), ca=True)
    options = [o.replace("{ca}", pki.ca.cert_path).replace("{stranger}", stranger.cert_path) for o in options]
    run = arrcert("verify", *options, files["alice"].cert_path)
    assert run.stdout.splitlines()[0] == expected, run.stdout + run.stderr
    assert run.returncode == (0 if expected == "SUCCESS" else 1)


def test_verify_with_intermediates_apart(pki, files):
    """--chain is a chain header: decoded and merged by the module's own decode_request."""
    issuing = pki.issue("cli_issuing", name(("O", "Contoso"), ("CN", "CLI Issuing")), issuer=pki.ca, ca=True)
    carol = pki.issue("cli_carol", name(("O", "Contoso"), ("CN", "carol")), issuer=issuing)
    run = arrcert("verify", "--ca", pki.ca.cert_path, "--chain", issuing.cert_path, carol.cert_path)
    assert (run.returncode, run.stdout) == (0, "SUCCESS\n"), run.stdout + run.stderr
    run = arrcert("verify", "--ca", pki.ca.cert_path, carol.cert_path)
    assert run.stdout.startswith("FAILED:unable to get local issuer certificate"), run.stdout


def test_verify_with_a_san_rule(pki):
    device = pki.issue("cli_device", name(("CN", "device")), issuer=pki.ca, ips=["192.0.2.7"])
    run = arrcert("verify", "--ca", pki.ca.cert_path, "--san", "ip:192.0.2.0/24", device.cert_path)
    assert (run.returncode, run.stdout) == (0, "SUCCESS\n"), run.stdout + run.stderr
    run = arrcert("verify", "--ca", pki.ca.cert_path, "--san", "dns:device.example", device.cert_path)
    assert (run.returncode, run.stdout) == (1, "FAILED:subject alternative name does not match\nrule: san\n")


def test_verify_with_a_crl(pki, files):
    crl = pki.write_crl(os.path.join(files["dir"], "ca.crl"), pki.ca, revoked=[files["alice"]])
    run = arrcert("verify", "--ca", pki.ca.cert_path, "--crl", crl, files["alice"].cert_path)
    assert run.returncode == 1
    assert run.stdout == "FAILED:certificate revoked\nrule: chain\n"


def test_verify_expired(files):
    run = arrcert("verify", files["expired"].cert_path)
    assert run.returncode == 1
    assert run.stdout == "FAILED:certificate has expired\nrule: validity\n"


@pytest.mark.parametrize("args,message", [
    (["thumbprint", "/nonexistent.pem"], "arrcert: cannot read /nonexistent.pem"),
    (["verify", "--thumbprint", "12", "x.pem"], "arrcert: thumbprint '12' has 2 hex digits"),
    (["verify", "--ca", "/nonexistent/ca.pem", "x.pem"], "/nonexistent/ca.pem: no such file"),
    (["verify", "--subject"], "arrcert: --subject needs a value"),
    (["verify", "--san", "ip:10.0.0.1/8", "x.pem"], "arrcert: 'ip:10.0.0.1/8': the address has bits set beyond"),
    (["frobnicate", "x"], "arrcert: unknown command 'frobnicate'"),
    (["header"], "arrcert: arrcert header takes one FILE (or -)"),
])
def test_usage_errors_exit_2(args, message):
    run = arrcert(*args)
    assert run.returncode == 2
    assert message in run.stderr


def test_header_of_something_else_is_refused(files):
    run = arrcert("header", "-", stdin="-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n")
    assert run.returncode == 2
    assert "not a CERTIFICATE" in run.stderr


@pytest.mark.parametrize("command", ["thumbprint", "header", "inspect", "verify"])
def test_help_for_each_command(command):
    run = arrcert(command, "--help")
    assert run.returncode == 0
    assert run.stdout.startswith(f"usage: arrcert {command}")


def test_inspect_reads_every_format(pki, files):
    """Whatever a front end sends, pasted as it is: the format read is named, alice's names follow."""
    alice, ca = files["alice"], pki.ca
    b64 = base64.b64encode
    quoted = urllib.parse.quote
    values = {
        "der-base64": alice.azure_header,
        "url-pem": alice.nginx_header,
        "xfcc": f'By=spiffe://a;Hash=00;Cert="{quoted(alice.pem, safe="")}";Subject="CN=x"',
        "rfc9440": f":{alice.azure_header}:",
        "traefik": f"{alice.azure_header},{b64(ca.der).decode()}",
        "der-concat-base64": b64(alice.der + ca.der).decode(),
    }
    escaped_traefik = f"{quoted(alice.azure_header, safe='')},{quoted(b64(ca.der).decode(), safe='')}"
    for expected, value in [*values.items(), ("traefik", escaped_traefik)]:
        run = arrcert("inspect", "-", stdin=value)
        assert run.returncode == 0, (expected, run.stdout, run.stderr)
        lines = run.stdout.splitlines()
        assert lines[0] == f"format: {expected}", (value, lines[0])
        assert "SSL_CLIENT_S_DN_CN=Zoë, Jr" in lines
    # A chosen format reads only its own form.
    run = arrcert("inspect", "--format", "der-concat-base64", "-", stdin=values["der-concat-base64"])
    assert run.stdout.splitlines()[0] == "format: der-concat-base64"
    run = arrcert("inspect", "--format", "der-base64", "-", stdin=values["der-concat-base64"])
    assert run.returncode == 1 and "trailing bytes after the DER certificate" in run.stdout
    run = arrcert("inspect", "--format", "base32", "-", stdin="x")
    assert run.returncode == 2 and "'base32' is not a format" in run.stderr


def test_inspect_names_envoys_settings_for_an_element_without_cert():
    run = arrcert("inspect", "-", stdin='By=spiffe://a;Hash=00;Subject="CN=x";URI=spiffe://b')
    assert run.returncode == 1
    assert "XFCC element carries no Cert: set Envoy's set_current_client_cert_details cert: true" in run.stdout
