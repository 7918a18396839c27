"""The environment an app sees is the verdict of the scope its request ends in, through every way httpd
moves a request or merges environments: mod_dir's DirectoryIndex (a fast internal redirect that
overlays the main request's environment), ErrorDocument, [PT], SSI include virtual, fixups of other
modules (mod_lua) that edit the environment between this module's fixups, and the virtual-host-level
answer where a section of any kind judges otherwise. Found by an attacker's review."""
import base64
import datetime as _dt
import json

import pytest
from cryptography import x509 as _x509
from cryptography.hazmat.primitives import hashes as _hashes
from cryptography.hazmat.primitives import serialization as _ser
from cryptography.hazmat.primitives.asymmetric import ec as _ec

from harness.client import send
from harness.pki import certificate_set
from harness.servers import MOD_SSL, PROXY, REWRITE, Httpd, PhpFpm, free_port, running, tls_vhost, vhost_rewrite

certs = certificate_set("r15", alice="alice", bob="bob")


# --- mod_dir's fast internal redirect brings back what the main request's environment held --
@pytest.fixture(scope="module")
def fast_redirect(pki):
    httpd = Httpd("", modules=["setenvif_module mod_setenvif.so"], allow_override="None")
    for d in ("fr", "fr2"):
        httpd.add_cgi(f"{d}/index.cgi")
    httpd.body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        SetEnvIf X-Forge "(.+)" SSL_CLIENT_S_DN_CN=$1
        <Directory "{httpd.docroot}/fr">
            DirectoryIndex index.cgi
        </Directory>
        # Only the script is protected; the directory itself is not.
        <Files "index.cgi">
            ArrCertVerifyClient optional
        </Files>
        """
    httpd.start()
    yield httpd
    httpd.stop()


def test_directory_index_does_not_bring_back_a_forged_entry(fast_redirect, certs):
    # Direct: the forged value is replaced.
    env = send(fast_redirect, "/fr/index.cgi", headers=[("X-Forge", "admin")]).env
    assert "SSL_CLIENT_S_DN_CN" not in env
    # Through DirectoryIndex (ap_internal_fast_redirect overlays the main request's env).
    env = send(fast_redirect, "/fr/", headers=[("X-Forge", "admin")]).env
    assert env.get("SSL_CLIENT_VERIFY") == "NONE"
    assert "SSL_CLIENT_S_DN_CN" not in env, "forged identity reached the protected index script"


# --- sections the audit might miss when answering with the virtual host's verdict ---------
SECTIONS = {
    "LocationMatch": '<LocationMatch "^/x">\n ArrCertSubject "CN=bob"\n</LocationMatch>',
    "DirectoryMatch": '<DirectoryMatch "^/nonexistent">\n ArrCertSubject "CN=bob"\n</DirectoryMatch>',
    "If": '<If "%{REQUEST_URI} =~ m#^/x#">\n ArrCertSubject "CN=bob"\n</If>',
    "ElseIf": '<If "false">\n</If>\n<ElseIf "%{REQUEST_URI} =~ m#^/x#">\n ArrCertSubject "CN=bob"\n</ElseIf>',
    "Else": '<If "%{REQUEST_URI} !~ m#^/x#">\n</If>\n<Else>\n ArrCertSubject "CN=bob"\n</Else>',
    "FilesMatch": '<FilesMatch "\\.php$">\n ArrCertSubject "CN=bob"\n</FilesMatch>',
    "NestedFiles": '<Directory "/tmp">\n <Files "x">\n  ArrCertSubject "CN=bob"\n </Files>\n</Directory>',
    "IfInLocation": '<Location /x>\n <If "true">\n  ArrCertSubject "CN=bob"\n </If>\n</Location>',
    "Proxy": '<Proxy "http://127.0.0.1:1/">\n ArrCertSubject "CN=bob"\n</Proxy>',
    "ProxyMatch": '<ProxyMatch "^http://">\n ArrCertSubject "CN=bob"\n</ProxyMatch>',
    "RequireOnly": '<Location /x>\n Require arrcert-subject "CN=bob"\n</Location>',
    "OffThenOn": '<Directory "/tmp">\n ArrCertVerifyClient none\n ArrCertSubject "CN=bob"\n</Directory>\n'
                 '<Location /x>\n ArrCertVerifyClient optional\n</Location>',
    "AllowOverrideDirMatch": '<DirectoryMatch "^/tmp">\n AllowOverride All\n</DirectoryMatch>',
}


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_vhost_answer_absent_where_a_section_judges_otherwise(pki, certs, section):
    httpd = vhost_rewrite(pki, SECTIONS[section], modules=[REWRITE, *PROXY])
    with running(httpd):
        assert send(httpd, "/who", certs["alice"]) == (200, "nobody\n")


def test_vhost_answer_in_a_virtual_host_under_a_main_server_with_sections(pki, certs):
    # The main server's sections apply to the virtual host too (core merges sec_dir/sec_url).
    port = free_port()
    httpd = vhost_rewrite(pki, f"""
        <Location /x>
            ArrCertSubject "CN=bob"
        </Location>
        Listen 127.0.0.1:{port}
        <VirtualHost 127.0.0.1:{port}>
            RewriteEngine On
            RewriteCond %{{SSL:SSL_CLIENT_S_DN_CN}} =alice
            RewriteRule ^/who$ /alice.html [L]
            RewriteRule ^/who$ /nobody.html [L]
        </VirtualHost>
        """, modules=[REWRITE, *PROXY])
    with running(httpd):
        assert send(httpd, "/who", certs["alice"], port=port) == (200, "nobody\n")


# --- the same through PHP (mod_php, PHP-FPM): duplicates, the main request's value last ----


@pytest.fixture(scope="module", params=["mod_php", "php_fpm"])
def php_fast_redirect(request, pki):
    others = []
    if request.param == "mod_php":
        handler, mpm, mods = "application/x-httpd-php", "prefork", ["php_module libphp8.2.so"]
    else:
        fpm = PhpFpm().start()
        others.append(fpm)
        handler, mpm = f"proxy:fcgi://127.0.0.1:{fpm.port}", "event"
        mods = ["proxy_module mod_proxy.so", "proxy_fcgi_module mod_proxy_fcgi.so"]
    httpd = Httpd("", mpm=mpm, modules=mods + ["setenvif_module mod_setenvif.so"], allow_override="None")
    httpd.add_php("app/index.php")
    httpd.body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        SetEnvIf X-Forge "(.+)" SSL_CLIENT_S_DN_CN=$1
        <FilesMatch "\\.php$">
            SetHandler "{handler}"
        </FilesMatch>
        <Directory "{httpd.docroot}/app">
            DirectoryIndex index.php
        </Directory>
        <Files "index.php">
            ArrCertVerifyClient require
            ArrCertSubject "CN=bob"
        </Files>
        """
    httpd.start()
    yield request.param, httpd
    httpd.stop()
    for o in others:
        o.stop()


def test_php_behind_directory_index_sees_the_index_scripts_verdict(php_fast_redirect, certs):
    sapi, httpd = php_fast_redirect
    status, body = send(httpd, "/app/index.php", certs["bob"], headers=[("X-Forge", "admin")])
    assert status == 200 and json.loads(body)["SSL_CLIENT_S_DN_CN"] == "bob"
    status, body = send(httpd, "/app/", certs["bob"], headers=[("X-Forge", "admin")])
    assert status == 200
    assert json.loads(body)["SSL_CLIENT_S_DN_CN"] == "bob", sapi


# --- no forging configuration at all: mod_ssl's own values of the hop (StdEnvVars) ----------


def test_directory_index_behind_a_mod_ssl_hop_sees_the_forwarded_identity_mod_php(pki, certs):
    ssl_port = free_port()
    httpd = Httpd("", mpm="prefork", modules=MOD_SSL + ["php_module libphp8.2.so", "negotiation_module mod_negotiation.so"],
                  allow_override="None")
    httpd.add_php("app/index.php")
    httpd.add_php("mv/page.php")
    hop = pki.leaf("r15_hop", "frontend-lb")
    httpd.body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        AddHandler application/x-httpd-php .php
        <Directory "{httpd.docroot}/app">
            DirectoryIndex index.php
        </Directory>
        <Directory "{httpd.docroot}/mv">
            Options +MultiViews
            MultiviewsMatch Handlers
        </Directory>
        <Files "index.php">
            ArrCertVerifyClient require
        </Files>
        <Files "page.php">
            ArrCertVerifyClient require
        </Files>
        """ + tls_vhost(pki, ssl_port, "optional", "SSLOptions +StdEnvVars", f'DocumentRoot "{httpd.docroot}"')
    with running(httpd):
        base = f"https://localhost:{ssl_port}"
        for path in ("/app/index.php", "/mv/page", "/app/"):
            status, body = send(base, path, certs["alice"], tls_cert=hop, cacert=pki.ca.cert_path)
            assert status == 200
            assert json.loads(body)["SSL_CLIENT_S_DN_CN"] == "alice", path


# --- E7: hostile chains for SSL_CLIENT_CERT_CHAIN_n -------------------------------------------


def _tiny_cert(i):
    key = _ec.generate_private_key(_ec.SECP256R1())
    n = _x509.Name([_x509.NameAttribute(_x509.oid.NameOID.COMMON_NAME, f"j{i}")])
    now = _dt.datetime.now(_dt.timezone.utc)
    c = (_x509.CertificateBuilder().subject_name(n).issuer_name(n).public_key(key.public_key())
         .serial_number(i + 1).not_valid_before(now).not_valid_after(now + _dt.timedelta(days=1))
         .sign(key, _hashes.SHA256()))
    return c.public_bytes(_ser.Encoding.DER)


def test_a_chain_item_that_is_no_certificate_is_refused_even_unverified(pki, certs):
    # Unverified, the intermediates still become SSL_CLIENT_CERT_CHAIN_n: numbered as sent, or refused.
    junk = [_tiny_cert(i) for i in range(3)]
    bogus = bytes([0x30, 0x03, 0x02, 0x01, 0x01])  # a DER SEQUENCE { INTEGER 1 }: no certificate
    httpd = Httpd("""
        ArrCertHeader X-Client-Cert traefik
        ArrCertAcceptUnverified on
        ArrCertVerifyClient require
        ArrCertOptions +ExportCertData
        """, allow_override="None")
    with running(httpd):
        good = ",".join(base64.b64encode(d).decode() for d in [certs["alice"].der] + junk)
        env = send(httpd, "/env.cgi", header="X-Client-Cert", value=good).env
        assert sorted(k for k in env if k.startswith("SSL_CLIENT_CERT_CHAIN_")) == [
            f"SSL_CLIENT_CERT_CHAIN_{i}" for i in range(3)]
        bad = ",".join(base64.b64encode(d).decode() for d in [certs["alice"].der, bogus] + junk)
        assert send(httpd, "/env.cgi", header="X-Client-Cert", value=bad).status == 403


# --- ErrorDocument, SSI include virtual, [PT] into a stricter section ---------------------
def test_redirects_and_subrequests_keep_their_own_scope(pki, certs):
    httpd = Httpd("", modules=["rewrite_module mod_rewrite.so", "include_module mod_include.so",
                               "setenvif_module mod_setenvif.so", "env_module mod_env.so"], allow_override="None")
    for d in ("secure", "err", "strict", "on"):
        httpd.add_cgi(f"{d}/env.cgi")
    httpd.add_file("on/page.shtml", '<!--#include virtual="/strict/env.cgi" -->')
    httpd.body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        SetEnvIf X-Forge "(.+)" SSL_CLIENT_S_DN_CN=$1
        RewriteEngine On
        RewriteRule ^/pt$ /strict/env.cgi [PT]
        <Directory "{httpd.docroot}/secure">
            ArrCertVerifyClient require
            ArrCertSubject "CN=bob"
            ErrorDocument 403 /err/env.cgi
        </Directory>
        <Directory "{httpd.docroot}/strict">
            ArrCertVerifyClient require
            ArrCertSubject "CN=bob"
            SetEnv SSL_CLIENT_S_DN_CN setenv-forged
        </Directory>
        <Directory "{httpd.docroot}/on">
            ArrCertVerifyClient optional
            Options +Includes
            AddOutputFilter INCLUDES .shtml
        </Directory>
        """
    with running(httpd):
        forge = [("X-Forge", "admin")]
        st, body = send(httpd, "/secure/env.cgi", certs["alice"], headers=forge)
        env = json.loads(body)
        leaked = {k: v for k, v in env.items() if "SSL_CLIENT" in k}
        assert st == 403 and not leaked
        assert send(httpd, "/pt", certs["alice"]).status == 403
        assert json.loads(send(httpd, "/pt", certs["bob"], headers=forge).body)["SSL_CLIENT_S_DN_CN"] == "bob"
        st, body = send(httpd, "/on/page.shtml", certs["alice"], headers=forge)
        assert "alice" not in body and "admin" not in body
        st, body = send(httpd, "/on/page.shtml", certs["bob"], headers=forge)
        assert json.loads(body)["SSL_CLIENT_S_DN_CN"] == "bob"


# --- trying to fool ExportRecord::stands between the first fixup and the later ones ---------------
LUA_FORGE = """
function forge(r)
    local mode = r.headers_in['X-Mode'] or ''
    if mode == 'set' then
        r.subprocess_env['SSL_CLIENT_S_DN_CN'] = 'admin'
    elseif mode == 'swap' then
        r.subprocess_env['SSL_CLIENT_S_DN_O'] = nil
        r.subprocess_env['ssl_client_s_dn_cn_1'] = 'admin'
    elseif mode == 'unrelated' then
        r.subprocess_env['UNIQUE_THING'] = nil
        r.subprocess_env['SSL_CLIENT_S_DN_CN'] = 'admin'
    end
    return apache2.DECLINED
end
"""


def test_lua_fixup_forgery_is_replaced(pki, certs):
    httpd = Httpd("", modules=["lua_module mod_lua.so", "env_module mod_env.so"], allow_override="None")
    httpd.add_file("forge.lua", LUA_FORGE)
    httpd.add_cgi("on/env.cgi")
    httpd.body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        <Directory "{httpd.docroot}/on">
            ArrCertVerifyClient optional
            SetEnv UNIQUE_THING 1
            LuaHookFixups {httpd.docroot}/forge.lua forge
        </Directory>
        """
    with running(httpd):
        for mode in ("set", "swap", "unrelated"):
            env = json.loads(send(httpd, "/on/env.cgi", certs["bob"], headers=[("X-Mode", mode)]).body)
            got = {k: v for k, v in env.items() if k.lower().startswith("ssl_client_s_dn")}
            assert got == {"SSL_CLIENT_S_DN": "CN=bob,O=Contoso", "SSL_CLIENT_S_DN_CN": "bob",
                           "SSL_CLIENT_S_DN_O": "Contoso"}, mode
