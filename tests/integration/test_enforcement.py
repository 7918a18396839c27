"""ArrCertVerifyClient and the rules, enforced by a real httpd on every path a request can take."""
import datetime
import os
import re

import pytest

from harness.client import AZURE_HEADER, client_variables, forwarded, send
from harness.pki import Cert, LookAlike, certificate_set
from harness.servers import ENV_CGI, Httpd, make_workdir, running, write_file
SECRET = "TOP SECRET CONTENT"


certs = certificate_set(
    "enf",
    alice="alice",
    bob="bob",
    stranger=Cert("alice", issuer=LookAlike("Fabrikam")),  # its issuer: CN=Contoso Test CA, O=Fabrikam
    expired=Cert("alice", valid_from=-datetime.timedelta(days=10), valid_until=-datetime.timedelta(days=1)),
    future=Cert("alice", valid_from=datetime.timedelta(days=1), days=(1, 30)),
    soon=Cert("alice", valid_from=datetime.timedelta(seconds=300), days=(1, 30)),
)


@pytest.fixture(scope="module")
def server(certs):
    alice, bob = certs["alice"], certs["bob"]
    bare = make_workdir("arrcert-bare-")
    write_file(os.path.join(bare, "env.cgi"), ENV_CGI, 0o755)
    bob_sha256 = ":".join(re.findall("..", bob.sha256.lower()))
    httpd = Httpd(f"""
        ArrCertAcceptUnverified on
        RewriteEngine on
        RewriteRule ^/alias-pt/(.*)$ /require/$1 [PT]
        ErrorDocument 404 /require/secret.html
        Alias /bare {bare}
        <Directory {bare}>
            Options +ExecCGI
            AddHandler cgi-script .cgi
        </Directory>
        <Location /bare>
            ArrCertVerifyClient require
        </Location>
        <Location /require>
            ArrCertVerifyClient require
        </Location>
        <Location /require/health>
            ArrCertVerifyClient none
        </Location>
        <Location /optional>
            ArrCertVerifyClient optional
        </Location>
        <Location /report>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            ArrCertThumbprint {alice.sha1}
        </Location>
        <Location /pinned>
            ArrCertVerifyClient require
            ArrCertThumbprint {"0" * 40} {alice.sha1.lower()}
            ArrCertThumbprint {bob_sha256}
        </Location>
        <Location /issuer>
            ArrCertVerifyClient require
            ArrCertIssuer "CN=Contoso Test CA, O=Contoso"
        </Location>
        <Location /issuer-openssl>
            ArrCertVerifyClient require
            ArrCertIssuer "/O=Contoso/CN=Contoso Test CA"
        </Location>
        <Location /subject>
            ArrCertVerifyClient require
            ArrCertSubject "CN=bob"
            ArrCertSubject "CN=alice,O=Contoso"
        </Location>
        <Location /subject/inner>
            ArrCertSubject "CN=bob"
        </Location>
        <Location /skew>
            ArrCertVerifyClient require
            ArrCertClockSkew 600
        </Location>
        <Location /custom-header>
            ArrCertVerifyClient require
            ArrCertHeader X-Client-Cert
        </Location>
        <Location /small>
            ArrCertVerifyClient require
            ArrCertMaxHeaderLength 100
        </Location>
        <Location /user>
            ArrCertVerifyClient require
            ArrCertUserName SSL_CLIENT_S_DN_CN
        </Location>
        <Location /noenv>
            ArrCertVerifyClient require
            ArrCertOptions -StdEnvVars
        </Location>
        <Location /certdata>
            ArrCertVerifyClient require
            ArrCertOptions +ExportCertData
        </Location>
        <Location /granted>
            ArrCertVerifyClient require
            Require all granted
        </Location>
        <Location /satisfy-any>
            ArrCertVerifyClient require
            Satisfy Any
            Require all granted
        </Location>
        <Directory {{docroot}}/dirindex>
            DirectoryIndex secret.html
            <Files secret.html>
                ArrCertVerifyClient require
            </Files>
        </Directory>
        """.replace("{docroot}", "DOCROOT"), modules=["rewrite_module mod_rewrite.so",
                                                     "access_compat_module mod_access_compat.so"])
    httpd.body = httpd.body.replace("DOCROOT", httpd.docroot)
    for path in ["require", "require/health", "optional", "report", "pinned", "issuer", "issuer-openssl",
                 "subject", "subject/inner", "skew", "custom-header", "small", "user", "noenv", "certdata",
                 "granted", "satisfy-any", "htaccess"]:
        httpd.add_cgi(f"{path}/env.cgi")
    httpd.add_file("require/secret.html", SECRET)
    httpd.add_file("require/index.html", "index")
    httpd.add_file("dirindex/secret.html", SECRET)
    httpd.add_file("htaccess/.htaccess", 'ArrCertVerifyClient require\nArrCertSubject "CN=alice"\n')
    httpd.start()
    yield httpd
    httpd.stop()
    assert "Segmentation fault" not in httpd.error_log()
    assert "exit signal" not in httpd.error_log()


# Modes -----------------------------------------------------------------------------------------

def test_require(server, certs):
    assert send(server, "/require/env.cgi").status == 403
    env = send(server, "/require/env.cgi", certs["alice"]).env
    assert env["SSL_CLIENT_VERIFY"] == "SUCCESS"
    assert env["SSL_CLIENT_S_DN_CN"] == "alice"
    assert env["ARRCERT_THUMBPRINT"] == certs["alice"].sha1


def test_optional(server, certs):
    env = send(server, "/optional/env.cgi").env
    assert client_variables(env) == {"SSL_CLIENT_VERIFY": "NONE"}
    assert send(server, "/optional/env.cgi", certs["alice"]).env["SSL_CLIENT_VERIFY"] == "SUCCESS"
    assert send(server, "/optional/env.cgi", certs["expired"]).status == 403
    assert send(server, "/optional/env.cgi", value="garbage!").status == 403


def test_optional_no_ca_reports_and_never_refuses(server, certs):
    env = send(server, "/report/env.cgi", certs["bob"]).env
    assert env["SSL_CLIENT_VERIFY"] == "FAILED:certificate thumbprint is not pinned"
    assert env["SSL_CLIENT_S_DN_CN"] == "bob"
    env = send(server, "/report/env.cgi", value="not base64!").env
    assert env["SSL_CLIENT_VERIFY"].startswith("FAILED:malformed certificate header")
    assert "SSL_CLIENT_S_DN" not in env
    env = send(server, "/report/env.cgi", certs["alice"]).env
    assert env["SSL_CLIENT_VERIFY"] == "SUCCESS"


def test_none_is_the_default_and_does_nothing(server, certs):
    env = send(server, "/env.cgi", certs["expired"]).env
    assert client_variables(env) == {}


def test_inner_scope_excludes_a_path(server, certs):
    env = send(server, "/require/health/env.cgi").env
    assert client_variables(env) == {}
    assert send(server, "/require/env.cgi").status == 403


def test_htaccess_under_allowoverride_authconfig(server, certs):
    assert send(server, "/htaccess/env.cgi").status == 403
    assert send(server, "/htaccess/env.cgi", certs["alice"]).status == 200
    assert send(server, "/htaccess/env.cgi", certs["bob"]).status == 403


# Rules -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,who,status", [
    # ArrCertThumbprint: any listed value, in any form.
    ("/pinned/env.cgi", "alice", 200),  # SHA-1, lower case
    ("/pinned/env.cgi", "bob", 200),  # SHA-256 with colons
    ("/pinned/env.cgi", "stranger", 403),
    # ArrCertIssuer, in RFC 2253 and OpenSSL form.
    ("/issuer/env.cgi", "alice", 200),
    ("/issuer-openssl/env.cgi", "alice", 200),
    ("/issuer/env.cgi", "stranger", 403),  # same CN, other O: the name differs, so the rule fails
    # ArrCertSubject: any line matches; an inner scope's rule replaces the outer one.
    ("/subject/env.cgi", "alice", 200),
    ("/subject/env.cgi", "bob", 200),
    ("/subject/inner/env.cgi", "alice", 403),
    ("/subject/inner/env.cgi", "bob", 200),
    # Validity, against the time of the request.
    ("/require/env.cgi", "expired", 403),
    ("/require/env.cgi", "future", 403),
    ("/require/env.cgi", "soon", 403),
    # ArrCertClockSkew widens the window.
    ("/skew/env.cgi", "soon", 200),
    ("/skew/env.cgi", "future", 403),
])
def test_rules(server, certs, path, who, status):
    assert send(server, path, certs[who]).status == status


def test_custom_header(server, certs):
    assert send(server, "/custom-header/env.cgi", certs["alice"]).status == 403
    assert send(server, "/custom-header/env.cgi", certs["alice"], header="X-Client-Cert").status == 200


def test_user_name(server, certs):
    env = send(server, "/user/env.cgi", certs["alice"]).env
    assert env["REMOTE_USER"] == "alice"
    assert re.search(r'127\.0\.0\.1 alice "GET /user/env.cgi', server.access_log())


def test_options(server, certs):
    env = send(server, "/noenv/env.cgi", certs["alice"]).env
    assert client_variables(env) == {}
    env = send(server, "/certdata/env.cgi", certs["alice"]).env
    assert env["SSL_CLIENT_CERT"] == certs["alice"].pem
    assert env["SSL_CLIENT_VERIFY"] == "SUCCESS"


# Formats and bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize("form", ["azure_header", "pem_spaces", "nginx_header", "aws_header"])
def test_formats_front_ends_send(server, certs, form):
    env = send(server, "/require/env.cgi", certs["alice"], form=form).env
    assert env["ARRCERT_THUMBPRINT"] == certs["alice"].sha1


def bad_values(certs):
    alice = certs["alice"]
    return {
        "invalid base64": "!!!!",
        "truncated": alice.azure_header[:-40],
        "plus became space": alice.azure_header.replace("+", " ", 1) if "+" in alice.azure_header else "A A",
        "trailing bytes": __import__("base64").b64encode(alice.der + b"\x00\x00").decode(),
        "a key": "-----BEGIN PRIVATE KEY----- QUJD -----END PRIVATE KEY-----",
        "not a certificate": "MAMCAQU=",
        "bad percent": alice.nginx_header + "%G1",
        "junk after pem": alice.pem_spaces + " junk",
    }


def test_malformed_values_are_refused_with_a_reason_never_500(server, certs):
    for label, value in bad_values(certs).items():
        refused = send(server, "/require/env.cgi", value=value)
        assert refused.status == 403, label
        assert value[:60] not in refused.body
        log = refused.log
        assert "refused (rule header)" in log or "refused (rule certificate)" in log, (label, log)
        # optional_no_ca lets the request through, saying why it failed.
        env = send(server, "/report/env.cgi", value=value).env
        assert env["SSL_CLIENT_VERIFY"].startswith("FAILED:malformed certificate"), label


def test_null_and_empty_mean_no_certificate(server):
    for value in ["(null)", " "]:
        env = send(server, "/optional/env.cgi", value=value).env
        assert env["SSL_CLIENT_VERIFY"] == "NONE"
        assert send(server, "/require/env.cgi", value=value).status == 403


def test_two_header_lines_fail_closed(server, certs):
    alice = certs["alice"]
    response = send(server, "/require/env.cgi", alice, headers=forwarded(alice))  # the header twice
    assert response.status == 403
    assert "several values in one header" in response.log


def test_over_the_bound(server, certs):
    response = send(server, "/small/env.cgi", certs["alice"])
    assert response.status == 403
    assert "over the limit of 100" in response.log


def test_refusal_log_line_names_rule_thumbprint_subject_not_the_header(server, certs):
    bob = certs["bob"]
    response = send(server, "/pinned/env.cgi", certs["stranger"])
    status, body = response
    assert status == 403
    log = response.log
    lines = [l for l in log.splitlines() if "[arrcert:info]" in l]
    assert len(lines) == 1, log
    assert "refused (rule thumbprint)" in lines[0]
    assert certs["stranger"].sha1 in lines[0]
    assert 'subject "CN=alice,O=Contoso"' in lines[0]
    assert certs["stranger"].azure_header[:40] not in log
    assert certs["stranger"].azure_header[:40] not in body and "CN=alice" not in body
    assert bob.sha1 not in body


# Enforcement that cannot be skipped --------------------------------------------------------------

def test_with_require_all_granted(server, certs):
    assert send(server, "/granted/env.cgi").status == 403
    assert send(server, "/granted/env.cgi", certs["alice"]).status == 200


def test_with_no_require_at_all(server, certs):
    assert send(server, "/bare/env.cgi").status == 403
    assert send(server, "/bare/env.cgi", certs["alice"]).status == 200


def test_satisfy_any_does_not_bypass(server, certs):
    assert send(server, "/satisfy-any/env.cgi").status == 403
    assert send(server, "/satisfy-any/env.cgi", certs["alice"]).status == 200


def test_directory_index_subrequest(server, certs):
    status, body = send(server, "/dirindex/")
    assert SECRET not in body
    assert status in (403, 404)
    status, body = send(server, "/dirindex/", certs["alice"])
    assert status == 200 and SECRET in body


def test_rewrite_passthrough(server, certs):
    assert send(server, "/alias-pt/env.cgi").status == 403
    assert send(server, "/alias-pt/env.cgi", certs["alice"]).status == 200


def test_error_document_redirect(server, certs):
    status, body = send(server, "/no-such-page")
    assert status == 404 and SECRET not in body
    status, body = send(server, "/no-such-page", certs["alice"])
    assert status == 404 and SECRET in body


def test_judged_once_per_request(server, certs):
    response = send(server, "/require/", certs["alice"])  # main request + DirectoryIndex subrequest
    assert response == (200, "index")
    assert response.log.count("judged X-ARR-ClientCert") == 1


def test_header_at_and_beyond_limit_request_field_size(server, certs):
    """httpd refuses an over-long header line (400) before any module; one that fits is judged."""
    name = f"{AZURE_HEADER}: "
    fits = "A" * (8190 - len(name) - 2)  # LimitRequestFieldSize counts the whole line
    judged = send(server, "/require/env.cgi", value=fits)
    assert judged.status == 403
    assert "judged X-ARR-ClientCert" in judged.log and "refused (rule header)" in judged.log
    too_long = send(server, "/require/env.cgi", value="A" * 9000)
    assert too_long.status == 400
    assert "judged X-ARR-ClientCert" not in too_long.log


def test_export_only_the_listed_variables(certs):
    """ArrCertExport: an app that reads two variables gets those two (PHP imports every one)."""
    httpd = Httpd("""
        ArrCertAcceptUnverified on
        <Location /few>
            ArrCertVerifyClient require
            ArrCertExport SSL_CLIENT_S_DN_CN SSL_CLIENT_VERIFY
        </Location>
        <Location /few/inner>
            ArrCertExport SSL_CLIENT_M_SERIAL
        </Location>
        <Location /all>
            ArrCertVerifyClient require
        </Location>
        """)
    for path in ("few", "few/inner", "all"):
        httpd.add_cgi(f"{path}/env.cgi")
    with running(httpd):
        alice = certs["alice"]
        assert send(httpd, "/few/env.cgi", alice).variables == {
            "SSL_CLIENT_S_DN_CN": "alice", "SSL_CLIENT_VERIFY": "SUCCESS"}
        inner = send(httpd, "/few/inner/env.cgi", alice).variables
        assert list(inner) == ["SSL_CLIENT_M_SERIAL"]
        everything = send(httpd, "/all/env.cgi", alice).variables
        assert len(everything) > 15 and everything["SSL_CLIENT_S_DN_CN"] == "alice"


@pytest.mark.parametrize("module_first", [True, False], ids=["loaded-before-mod_env", "loaded-after-mod_env"])
def test_setenv_cannot_replace_the_variables(certs, module_first):
    """The verdict's variables win over SetEnv (which .htaccess may use) whatever the load order.

    Debian loads modules in alphabetical order, so mod_arrcert registers its fixups before mod_env.
    Where the module is on, every SSL_CLIENT_*/ARRCERT_* name is the certificate's: SetEnv's go,
    even those the module does not set (no certificate: no SSL_CLIENT_S_DN_CN).
    """
    httpd = Httpd("""
        ArrCertAcceptUnverified on
        <Location />
            ArrCertVerifyClient optional
            SetEnv SSL_CLIENT_VERIFY SUCCESS
            SetEnv SSL_CLIENT_S_DN_CN mallory
            SetEnv ARRCERT_THUMBPRINT 00
        </Location>
        """, modules=["env_module mod_env.so"], module_first=module_first)
    with running(httpd):
        alice = send(httpd, "/env.cgi", certs["alice"]).variables
        assert (alice["SSL_CLIENT_VERIFY"], alice["SSL_CLIENT_S_DN_CN"]) == ("SUCCESS", "alice")
        assert alice["ARRCERT_THUMBPRINT"] == certs["alice"].sha1
        nobody = send(httpd, "/env.cgi").variables
        assert nobody == {"SSL_CLIENT_VERIFY": "NONE"}
