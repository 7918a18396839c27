"""Fail closed everywhere: no configuration, phase, cache or neighbouring module turns an
unverified certificate into an identity. One test (or more) per weakness found by attacking a
real httpd; each failed on the code before the fix."""
import datetime
import os
import re
import time
import urllib.parse

import pytest

from harness.client import send
from harness.pki import LOOK_ALIKE, Cert, certificate_set, name, now
from harness.servers import MOD_SSL, Httpd, free_port, judged_afresh, location, running, tls_vhost


# admin_self is self-made: signed by a CA that merely carries the real CA's name.
certs = certificate_set("fc", alice="alice", bob="bob", admin_self=Cert("admin", issuer=LOOK_ALIKE), lb="frontend-lb")


# 1. Values are visible only where the module is on, as that scope's verdict gives them ---------
@pytest.fixture(scope="module")
def scoped(pki):
    httpd = Httpd(f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        # Evaluated at post_read_request, before <Location> rules are known.
        SetEnvIfExpr "%{{SSL_CLIENT_VERIFY}} == 'SUCCESS'" CERT_OK
        SetEnvIfExpr "%{{SSL_CLIENT_S_DN_CN}} != ''" EARLY_CN_SEEN
        <Location /off>
            Require expr %{{SSL_CLIENT_S_DN_CN}} == 'admin'
        </Location>
        <Location /off-function>
            Require expr arrcert('SSL_CLIENT_S_DN_CN') == 'admin'
        </Location>
        <Location /on>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            Require expr %{{SSL_CLIENT_S_DN_CN}} == 'alice' && %{{SSL_CLIENT_VERIFY}} == 'SUCCESS'
        </Location>
        <Location /ssi>
            Options +Includes
            AddOutputFilter INCLUDES .shtml
        </Location>
        <Location /ssi-on>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            Options +Includes
            AddOutputFilter INCLUDES .shtml
        </Location>
        <Location /strict>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            ArrCertSubject "CN=alice"
            Require env CERT_OK
        </Location>
        <Location /strict-here>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            ArrCertSubject "CN=alice"
            SetEnvIfExpr "%{{SSL_CLIENT_VERIFY}} == 'SUCCESS'" HERE_OK
            Require env HERE_OK
        </Location>
        <Location /strict-report>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            ArrCertSubject "CN=alice"
        </Location>
        """, modules=["include_module mod_include.so", "setenvif_module mod_setenvif.so"])
    ssi = """<!--#if expr="%{SSL_CLIENT_S_DN_CN} == 'admin'" -->ADMIN<!--#elif expr="%{SSL_CLIENT_S_DN_CN} == 'alice'" -->ALICE<!--#else -->NOBODY<!--#endif -->\n"""
    for path in ("off", "off-function", "on", "strict", "strict-here"):
        httpd.add_file(f"{path}/index.html", "granted\n")
    httpd.add_file("ssi/page.shtml", ssi)
    httpd.add_file("ssi-on/page.shtml", ssi)
    httpd.add_cgi("strict-report/env.cgi")
    httpd.start()
    yield httpd
    httpd.stop()


def test_expressions_see_nothing_where_the_module_is_off(scoped, certs):
    for path in ("/off/", "/off-function/"):
        assert send(scoped, path, certs["admin_self"]).status == 403
        # Not even a good certificate: the module is off there.
        assert send(scoped, path, certs["alice"]).status == 403
    assert send(scoped, "/ssi/page.shtml", certs["admin_self"]) == \
        (200, "NOBODY\n")


def test_expressions_see_the_verdict_where_the_module_is_on(scoped, certs):
    assert send(scoped, "/on/", certs["alice"]) == (200, "granted\n")
    assert send(scoped, "/on/", certs["bob"]).status == 403
    assert send(scoped, "/ssi-on/page.shtml", certs["alice"]) == \
        (200, "ALICE\n")


def test_server_level_setenvif_cannot_vouch_for_a_location(scoped, certs):
    # bob passes the server's rules but not the location's: nothing is known at post_read_request.
    assert send(scoped, "/strict/", certs["bob"]).status == 403
    env = send(scoped, "/strict-report/env.cgi", certs["bob"]).env
    assert env["SSL_CLIENT_VERIFY"] == "FAILED:subject does not match"
    assert "CERT_OK" not in env and "EARLY_CN_SEEN" not in env
    # Inside the location the same test sees the location's verdict.
    assert send(scoped, "/strict-here/", certs["alice"]) == (200, "granted\n")
    assert send(scoped, "/strict-here/", certs["bob"]).status == 403


# 2. Configurations that protect nothing do not start; the shipped examples are secure ----------
UNPROVEN = [
    ("ArrCertVerifyClient require\nArrCertSubject \"O=Contoso\"", "'ArrCertVerifyClient require'"),
    ("<Location /x>\nArrCertVerifyClient optional\n</Location>", "'ArrCertVerifyClient optional'"),
    ("<Location /x>\nArrCertVerifyClient optional_no_ca\n</Location>", "'ArrCertVerifyClient optional_no_ca'"),
    ("<Location /x>\nRequire arrcert-subject \"CN=alice\"\n</Location>", "'Require arrcert-subject \"CN=alice\"'"),
    ("<Location /x>\nRequire arrcert\n</Location>", "'Require arrcert'"),
    ("<Directory /tmp>\n<Files x>\nArrCertVerifyClient require\n</Files>\n</Directory>",
     "'ArrCertVerifyClient require'"),
    ("<Proxy \"http://127.0.0.1:9/*\">\nArrCertVerifyClient require\n</Proxy>", "'ArrCertVerifyClient require'"),
    ("<Proxy \"*\">\nRequire arrcert-subject \"CN=admin\"\n</Proxy>", "'Require arrcert-subject \"CN=admin\"'"),
]


@pytest.fixture(scope="module")
def configtest_httpd():
    return Httpd("", modules=["proxy_module mod_proxy.so"])


@pytest.mark.parametrize("body,what", UNPROVEN, ids=[str(i) for i in range(len(UNPROVEN))])
def test_a_scope_that_trusts_nothing_stops_start_up(configtest_httpd, body, what):
    status, output = configtest_httpd.configtest(body + "\n")
    assert status != 0, output
    assert re.search(r"configtest\.conf:\d+: " + re.escape(what), output), output
    assert "ArrCertAcceptUnverified on" in output and "Syntax OK" not in output


@pytest.mark.parametrize("body", [
    "ArrCertAcceptUnverified on\nArrCertVerifyClient require\nArrCertSubject \"O=Contoso\"",
    "<Location /x>\nArrCertAcceptUnverified on\nRequire arrcert-subject \"CN=alice\"\n</Location>",
    "<Location /x>\nRequire arrcert-thumbprint " + "A" * 40 + "\n</Location>",
    "ArrCertThumbprint " + "B" * 64 + "\n<Location /x>\nArrCertVerifyClient require\n</Location>",
    # A location inherits the trust of the locations that contain it.
    "<Location /a>\nArrCertCACertificatePath /etc/ssl/certs\n</Location>\n"
    "<Location /a/b>\nArrCertVerifyClient require\n</Location>",
], ids=["accept-unverified", "accept-unverified-in-scope", "inline-pins", "server-pins", "outer-location"])
def test_a_scope_with_trust_starts(configtest_httpd, body):
    status, output = configtest_httpd.configtest(body + "\n")
    assert status == 0, output


def test_accept_unverified_is_not_for_htaccess(pki, certs):
    httpd = Httpd(f"ArrCertCACertificateFile {pki.ca.cert_path}\n"
                  + location("/guarded", "ArrCertVerifyClient require"))
    httpd.add_file("guarded/.htaccess", "ArrCertAcceptUnverified on\n")
    httpd.add_file("guarded/index.html", "secret\n")
    with running(httpd):
        status, body = send(httpd, "/guarded/", certs["admin_self"])
        assert status == 500 and "secret" not in body
        assert "ArrCertAcceptUnverified not allowed here" in httpd.error_log()


# 3. mod_ssl's variables of a TLS hop never stand for the forwarded certificate --------------------
@pytest.fixture(scope="module", params=[False, True], ids=["mod_ssl-loaded-first", "arrcert-loaded-first"])
def tls_hop(request, pki):
    tls_port = free_port()
    httpd = Httpd(tls_vhost(pki, tls_port, "optional",
                            "SSLOptions +StdEnvVars +ExportCertData",
                            "ArrCertVerifyClient optional",
                            f"ArrCertCACertificateFile {pki.ca.cert_path}",
                            "<Location /expr>",
                            "    Require expr %{SSL_CLIENT_S_DN_CN} == 'frontend-lb'",
                            "</Location>",
                            "<Location /expr-ssl-function>",
                            "    Require expr SSL('SSL_CLIENT_S_DN_CN') == 'frontend-lb' || "
                            "%{SSL:SSL_CLIENT_S_DN_CN} == 'frontend-lb' || %{ssl_client_s_dn_cn} == 'frontend-lb'",
                            "</Location>",
                            "<Location /expr-protocol>",
                            "    Require expr SSL('SSL_PROTOCOL') =~ /^TLSv1/",
                            "</Location>",
                            "<Location /header>",
                            "    Header always set X-Client-CN \"%{SSL_CLIENT_S_DN_CN}s\"",
                            "    Header always set X-Protocol \"%{SSL_PROTOCOL}s\"",
                            "</Location>"),
                  modules=MOD_SSL + ["headers_module mod_headers.so"], module_first=request.param)
    httpd.body += f'CustomLog {httpd.dir}/hop.log "%U cn=%{{SSL_CLIENT_S_DN_CN}}x protocol=%{{SSL_PROTOCOL}}x"\n'
    httpd.add_file("expr/index.html", "frontend-lb\n")
    httpd.add_file("expr-ssl-function/index.html", "frontend-lb\n")
    httpd.add_file("expr-protocol/index.html", "tls\n")
    httpd.add_file("header/index.html", "ok\n")
    httpd.tls_port = tls_port
    httpd.start()
    yield httpd
    httpd.stop()


def hop(httpd, pki, certs, path, forwarded=None, extra=()):
    """Through the TLS hop, which presents lb's certificate and forwards `forwarded`'s in the header."""
    return send(f"https://127.0.0.1:{httpd.tls_port}", path, certs[forwarded] if forwarded else None,
                tls_cert=certs["lb"], cacert=pki.ca.cert_path, extra=extra)


def test_tls_hop_identity_never_reaches_the_app(tls_hop, pki, certs):
    import json
    status, body = hop(tls_hop, pki, certs, "/env.cgi", "alice")
    env = json.loads(body)
    assert env["SSL_CLIENT_S_DN_CN"] == "alice" and env["SSL_CLIENT_VERIFY"] == "SUCCESS"
    assert "BEGIN CERTIFICATE" not in env.get("SSL_CLIENT_CERT", "")  # mod_ssl's PEM of the hop is gone
    assert env["SSL_PROTOCOL"].startswith("TLS")  # the connection's own values stay mod_ssl's
    status, body = hop(tls_hop, pki, certs, "/env.cgi")
    env = json.loads(body)
    assert env["SSL_CLIENT_VERIFY"] == "NONE"
    assert "SSL_CLIENT_S_DN_CN" not in env and "SSL_CLIENT_I_DN" not in env
    assert not any(key.startswith("SSL_CLIENT_CERT_CHAIN") for key in env)


def test_tls_hop_identity_never_reaches_expressions_or_lookups(tls_hop, pki, certs):
    assert hop(tls_hop, pki, certs, "/expr/")[0] == 403
    assert hop(tls_hop, pki, certs, "/expr/", "alice")[0] == 403
    # mod_ssl's SSL() function and the other spellings follow the same rule; its other names stay.
    assert hop(tls_hop, pki, certs, "/expr-ssl-function/")[0] == 403
    assert hop(tls_hop, pki, certs, "/expr-ssl-function/", "alice")[0] == 403
    assert hop(tls_hop, pki, certs, "/expr-protocol/") == (200, "tls\n")
    status, headers_and_body = hop(tls_hop, pki, certs, "/header/", "alice", extra=("-D", "-"))
    assert status == 200
    assert re.search(r"(?im)^x-client-cn: alice\r?$", headers_and_body), headers_and_body
    assert re.search(r"(?im)^x-protocol: TLSv1\.[23]\r?$", headers_and_body), headers_and_body
    status, headers_and_body = hop(tls_hop, pki, certs, "/header/", extra=("-D", "-"))
    assert "frontend-lb" not in headers_and_body
    # mod_ssl's own log tag reads through the same rule; its connection values stay its own.
    time.sleep(0.2)
    log = open(os.path.join(tls_hop.dir, "hop.log")).read()
    assert "/header/index.html cn=alice protocol=TLSv1." in log, log
    assert "frontend-lb" not in log, log


def test_subrequests_and_redirects_inherit_no_certificate_variables(pki, certs):
    """A page where the module is on includes (SSI) or redirects (ErrorDocument) to a CGI where it is
    off: the CGI sees no certificate value under any name; and a TLS hop's values renamed
    REDIRECT_* by an ErrorDocument never reach a scope where the module is on."""
    tls_port = free_port()
    httpd = Httpd("")
    httpd.body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        <Directory {httpd.docroot}/prot>
            ArrCertVerifyClient require
            Options +Includes
            AddOutputFilter INCLUDES .shtml
            ErrorDocument 404 /pub/env.cgi
        </Directory>
        <Directory {httpd.docroot}/hop>
            ErrorDocument 404 /on/env.cgi
        </Directory>
        <Directory {httpd.docroot}/on>
            ArrCertVerifyClient optional
        </Directory>
        """ + tls_vhost(pki, tls_port, "optional", "SSLOptions +StdEnvVars")
    httpd.modules = MOD_SSL + ["include_module mod_include.so"]
    httpd.add_cgi("pub/env.cgi")
    httpd.add_cgi("on/env.cgi")
    httpd.add_file("prot/page.shtml", '<!--#include virtual="/pub/env.cgi" -->')
    os.makedirs(os.path.join(httpd.docroot, "hop"))
    with running(httpd):
        import json
        for path in ("/prot/page.shtml", "/prot/missing"):
            status, body = send(httpd, path, certs["alice"])
            env = json.loads(body)
            leaked = {k: v for k, v in env.items() if "SSL_CLIENT_" in k or "ARRCERT_" in k}
            assert leaked == {}, (path, status, leaked)
        status, body = send(f"https://127.0.0.1:{tls_port}", "/hop/missing", tls_cert=certs["lb"],
                            cacert=pki.ca.cert_path)
        env = json.loads(body)
        assert env["SSL_CLIENT_VERIFY"] == "NONE"
        assert not [k for k in env if "SSL_CLIENT_S_DN" in k], env


# 4. Every certificate header any server reads is stripped from untrusted peers -------------------
def test_a_header_one_vhost_ignores_is_not_relayed_to_one_that_reads_it(pki, certs):
    back = free_port()
    httpd = Httpd("")
    httpd.body = f"""
        ArrCertTrustedProxy 127.0.0.1
        Listen 127.0.0.1:{back}
        <VirtualHost 127.0.0.1:{back}>
            ArrCertHeader X-SSL-Client-Cert
            ArrCertCACertificateFile {pki.ca.cert_path}
            ArrCertVerifyClient require
            DocumentRoot {httpd.docroot}
        </VirtualHost>
        <VirtualHost 127.0.0.1:{httpd.port}>
            ProxyPass /b/ http://127.0.0.1:{back}/
            # A relay carries what the front end sent only where the administrator says so.
            ArrCertRelayHeaders front-end
        </VirtualHost>
        """
    httpd.modules = ["proxy_module mod_proxy.so", "proxy_http_module mod_proxy_http.so"]
    httpd.add_file("secret.html", "secret\n")
    with running(httpd):
        forged = dict(cert=certs["alice"], header="X-SSL-Client-Cert")
        assert send(httpd, "/b/secret.html", **forged, interface="127.0.0.2").status == 403
        assert "removed X-SSL-Client-Cert sent by 127.0.0.2" in httpd.error_log()
        # From the trusted front end the same request goes through.
        assert send(httpd, "/b/secret.html", **forged) == (200, "secret\n")


# 5. httpd's cache never answers for the module ------------------------------------------------------
@pytest.mark.parametrize("store", ["disk", "socache"])
def test_mod_cache_never_serves_a_protected_response(pki, certs, store):
    httpd = Httpd("")
    cache_dir = os.path.join(httpd.dir, "cache")
    os.makedirs(cache_dir)
    os.chmod(cache_dir, 0o777)
    storage = (f"CacheRoot {cache_dir}\nCacheEnable disk /" if store == "disk" else
               f"CacheSocache shmcb:{httpd.dir}/cache.shm(512000)\nCacheEnable socache /")
    httpd.body = f"""
        {storage}
        CacheHeader on
        CacheIgnoreNoLastMod On
        Header set Cache-Control "public, max-age=600"
        ArrCertCACertificateFile {pki.ca.cert_path}
        <Location /protected>
            ArrCertVerifyClient require
        </Location>
        """
    httpd.modules = ["cache_module mod_cache.so", "headers_module mod_headers.so",
                     *(["cache_disk_module mod_cache_disk.so"] if store == "disk" else
                       ["cache_socache_module mod_cache_socache.so", "socache_shmcb_module mod_socache_shmcb.so"])]
    httpd.add_file("public/page.html", "public\n")
    httpd.add_file("protected/page.html", "secret\n")
    with running(httpd):
        # The cache works: a public page is served from it the second time.
        send(httpd, "/public/page.html")
        headers = send(httpd, "/public/page.html").headers
        assert "HIT" in " ".join(headers.get("x-cache", [])), headers
        response = send(httpd, "/protected/page.html", certs["alice"])
        assert response == (200, "secret\n")
        assert any("private" in value for value in response.headers.get("cache-control", [])), response.headers
        for attempt in (None, certs["admin_self"]):
            response = send(httpd, "/protected/page.html", attempt)
            assert response.status == 403 and "secret" not in response.body, response.headers


# 6. A client's certificate cannot buy CPU ------------------------------------------------------------
@pytest.fixture(scope="module")
def costly(pki):
    httpd = Httpd("")
    httpd.body = judged_afresh(pki, f"<Directory {httpd.docroot}/report/index>\n"
                                    "    DirectoryIndex env.cgi\n"
                                    "</Directory>\n")
    httpd.add_cgi("report/env.cgi")
    httpd.add_cgi("report/index/env.cgi")
    httpd.add_file("require/index.html", "ok\n")
    httpd.start()
    yield httpd
    httpd.stop()


def test_san_variables_are_bounded_in_requests_and_subrequests(costly, pki):
    many = pki.leaf("fc_many_sans", "many", dns=["a"] * 1850)
    for path in ("/report/env.cgi", "/report/index/"):
        env = send(costly, path, many).env
        assert env["SSL_CLIENT_VERIFY"] == "SUCCESS"
        names = [key for key in env if key.startswith("SSL_CLIENT_SAN_DNS_")]
        assert len(names) == 100, (path, len(names))
        assert "SSL_CLIENT_SAN_DNS_99" in env and "SSL_CLIENT_SAN_DNS_100" not in env


def test_a_chain_longer_than_the_depth_is_refused_before_parsing(costly, pki, certs):
    fakes = [pki.issue(f"fc_fake_ca_{i}", name(("CN", f"Fake CA {i}")), ca=True) for i in range(25)]
    chain = " ".join(c.pem_spaces for c in [certs["alice"], *fakes])
    response = send(costly, "/require/", value=chain)
    assert response.status == 403
    assert "certificate chain too long" in response.log
    # Within the depth the same leaf passes.
    assert send(costly, "/require/", certs["alice"]) == (200, "ok\n")


# 7. A cached success never outlives the path or the CRLs it was judged on ---------------------------
def test_cached_success_ends_with_the_crl_and_the_intermediate(pki):
    soon = now() + datetime.timedelta(seconds=6)
    short_ca = pki.issue("fc_short_ca", name(("O", "Contoso"), ("CN", "Short-lived CA")), issuer=pki.ca, ca=True,
                         not_after=soon)
    under_short = pki.issue("fc_under_short", name(("O", "Contoso"), ("CN", "carol")), issuer=short_ca)
    alice = pki.leaf("fc_crl_alice", "alice")
    httpd = Httpd("")
    crl = pki.write_crl(os.path.join(httpd.dir, "ca.crl"), pki.ca, next_update=soon)
    httpd.body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        ArrCertCacheTimeout 3600
        <Location /crl>
            ArrCertVerifyClient require
            ArrCertCARevocationFile {crl}
            ArrCertCARevocationCheck leaf
        </Location>
        <Location /path>
            ArrCertVerifyClient require
        </Location>
        """
    httpd.add_file("crl/index.html", "ok\n")
    httpd.add_file("path/index.html", "ok\n")
    chain = under_short.pem_spaces + " " + short_ca.pem_spaces
    with running(httpd):
        assert send(httpd, "/crl/", alice) == (200, "ok\n")
        assert send(httpd, "/path/", value=chain) == (200, "ok\n")
        time.sleep(max(0.0, (soon - now()).total_seconds()) + 1.5)
        mark = httpd.log_mark()
        assert send(httpd, "/crl/", alice).status == 403
        assert send(httpd, "/path/", value=chain).status == 403
        log = httpd.log_since(mark)
        assert "CRL has expired" in log and "certificate has expired" in log, log


# 8. Nothing the client wrote reaches SSL_CLIENT_VERIFY --------------------------------------------
def test_malformed_header_reason_is_fixed_text(scoped):
    evil = "-----BEGIN <b>EVIL</b>----- AAAA -----END <b>EVIL</b>-----"
    encoded = urllib.parse.quote("-----BEGIN EVIL\nLINE-----\nAAAA\n-----END EVIL\nLINE-----\n", safe="")
    for value in (evil, encoded):
        response = send(scoped, "/strict-report/env.cgi", value=value)
        env = response.env
        assert env["SSL_CLIENT_VERIFY"] == "FAILED:malformed certificate header: PEM block is not a CERTIFICATE"
        log = response.log
        assert "EVIL" in log  # the detail is logged
        assert "EVIL\nLINE" not in log  # escaped
    assert "<b>EVIL</b>" in scoped.error_log()


# 9. Every format the decoder reports is shared through a shared cache ---------------------------
def test_url_encoded_base64_is_shared(pki, certs):
    httpd = Httpd("")
    httpd.body = f"""
        ArrCertCache shmcb:{httpd.dir}/verdicts(512000) none
        ArrCertCACertificateFile {pki.ca.cert_path}
        <Location /api>
            ArrCertVerifyClient require
        </Location>
        """
    httpd.modules = ["socache_shmcb_module mod_socache_shmcb.so"]
    httpd.add_file("api/index.html", "ok\n")
    value = urllib.parse.quote(certs["alice"].azure_header, safe="")
    assert "%" in value
    with running(httpd):
        for _ in range(2):
            assert send(httpd, "/api/", value=value) == (200, "ok\n")
        log = httpd.error_log()
        assert "format url-der-base64" in log and "from shared cache" in log, log
        assert "not sealed" not in log


# 10. .htaccess cannot loosen how a certificate is verified ------------------------------------------
LOOSENING = ["ArrCertCARevocationCheck none", "ArrCertXfccElement first", "ArrCertVerifyDepth 100",
             "ArrCertClockSkew 86400", "ArrCertThumbprint " + "C" * 40, "ArrCertMaxHeaderLength 1048576",
             "ArrCertAcceptUnverified on", "ArrCertVerdictHeader none", "ArrCertFingerprintHeader none"]


def test_htaccess_cannot_loosen_verification(pki, certs):
    httpd = Httpd("")
    crl = pki.write_crl(os.path.join(httpd.dir, "ca.crl"), pki.ca, revoked=[certs["bob"]])
    httpd.body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        ArrCertCARevocationFile {crl}
        ArrCertVerifyClient require
        """
    for i, line in enumerate(LOOSENING):
        httpd.add_file(f"loose{i}/.htaccess", line + "\n")
        httpd.add_file(f"loose{i}/index.html", "secret\n")
    httpd.add_file("off/.htaccess", "ArrCertVerifyClient none\n")  # as SSLVerifyClient: allowed
    httpd.add_file("off/index.html", "public\n")
    with running(httpd):
        for i, line in enumerate(LOOSENING):
            status, body = send(httpd, f"/loose{i}/", certs["bob"])
            assert status == 500 and "secret" not in body, line
            assert f"{line.split()[0]} not allowed here" in httpd.error_log()
        assert send(httpd, "/off/") == (200, "public\n")


# Also: ArrCertExport takes exactly the names the module exports; keywords in any case ---------------
@pytest.mark.parametrize("line,message", [
    ("ArrCertExport SSL_CLIENT_S_DN_CNN", "'SSL_CLIENT_S_DN_CNN' is not a variable mod_arrcert exports"),
    ("ArrCertExport SSL_CLIENT_SAN_DNS_x", "'SSL_CLIENT_SAN_DNS_x' is not a variable mod_arrcert exports"),
    ("ArrCertUserName SSL_CLIENT_VERIFY", "'SSL_CLIENT_VERIFY' is not a variable of the certificate"),
])
def test_export_names_are_checked(configtest_httpd, line, message):
    configtest_httpd.refuses(location("/", line), message)


def test_export_accepts_every_name_the_module_sets_and_keywords_in_any_case(configtest_httpd):
    status, output = configtest_httpd.configtest(
        "<Location />\n"
        "ArrCertExport ARRCERT_THUMBPRINT ARRCERT_THUMBPRINT_SHA256 SSL_CLIENT_SAN_DNS_0 SSL_CLIENT_S_DN_OU_2\n"
        "ArrCertVerifyClient REQUIRE\nArrCertAcceptUnverified on\nArrCertOptions +stdenvvars\n"
        "ArrCertHeader X-Client-Cert PEM\nArrCertCARevocationCheck Leaf\nArrCertXfccElement LAST\n"
        "</Location>\n")
    assert status == 0, output


# mod_ssl's log tag without mod_ssl (issue 15's logs, on the same rule) ------------------------------
def test_log_tag_x_without_mod_ssl(pki, certs):
    httpd = Httpd("")
    httpd.body = (
        f"ArrCertCACertificateFile {pki.ca.cert_path}\n"
        'LogFormat "%U cn=%{SSL_CLIENT_S_DN_CN}x verify=%{SSL_CLIENT_VERIFY}x thumb=%{ARRCERT_THUMBPRINT}x" certs\n'
        f"CustomLog {httpd.dir}/certs.log certs\n"
        + location("/on", "ArrCertVerifyClient optional"))
    httpd.add_file("on/index.html", "on\n")
    httpd.add_file("off/index.html", "off\n")
    with running(httpd):
        assert send(httpd, "/on/", certs["alice"]) == (200, "on\n")
        assert send(httpd, "/on/") == (200, "on\n")
        assert send(httpd, "/off/", certs["alice"]) == (200, "off\n")
    lines = open(os.path.join(httpd.dir, "certs.log")).read().splitlines()
    assert lines == [f"/on/index.html cn=alice verify=SUCCESS thumb={certs['alice'].sha1}",
                     "/on/index.html cn=- verify=NONE thumb=-",
                     "/off/index.html cn=- verify=- thumb=-"], lines
