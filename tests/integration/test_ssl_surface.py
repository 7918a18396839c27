"""Everything in httpd that reads client-certificate state sees the forwarded certificate: mod_rewrite's
%{SSL:...} (directory, .htaccess, virtual host), mod_headers' %{...}s to a mod_proxy backend, mod_lua's
r:ssl_var_lookup, log formats, and, by the end of the access phase, mod_security2, mod_include and
Require env. First without mod_ssl, then beside a mod_ssl that terminates TLS on another virtual host."""
import os

import pytest

from harness.client import send
from harness.pki import LOOK_ALIKE, Cert, certificate_set
from harness.servers import MOD_SSL, Httpd, free_port, running, tls_vhost, vhost_rewrite

LUA = """function handle(r)
    r.content_type = "text/plain"
    r:puts("cn=" .. (r:ssl_var_lookup("SSL_CLIENT_S_DN_CN") or "nil") ..
           " verify=" .. (r:ssl_var_lookup("SSL_CLIENT_VERIFY") or "nil") .. "\\n")
    return apache2.OK
end
"""

SSI = '<!--#echo var="SSL_CLIENT_S_DN_CN" -->\n'

CONSUMER_MODULES = [
    "rewrite_module mod_rewrite.so", "headers_module mod_headers.so", "proxy_module mod_proxy.so",
    "proxy_http_module mod_proxy_http.so", "lua_module mod_lua.so", "include_module mod_include.so",
    "setenvif_module mod_setenvif.so", "env_module mod_env.so", "unique_id_module mod_unique_id.so",
    "security2_module mod_security2.so",
]


certs = certificate_set("sv", alice="alice", bob="bob", hop="frontend-lb",
                        forged_alice=Cert("alice", issuer=LOOK_ALIKE))


def consumers(httpd, pki, port):
    """The consumers, where the module is on (/on..., /modsec...) and where it is off (/off)."""
    docroot = httpd.docroot
    for path in ("on", "off", "htrw", "modsec", "modsec-setenv", "reqenv"):
        httpd.add_cgi(f"{path}/env.cgi")
    httpd.add_file("on/who.lua", LUA)
    httpd.add_file("off/who.lua", LUA)
    httpd.add_file("on/page.shtml", SSI)
    httpd.add_file("off/page.shtml", SSI)
    httpd.add_file("reqenv/index.html", "granted\n")
    httpd.add_file("htrw/.htaccess", "RewriteEngine On\n"
                   "RewriteRule ^env\\.cgi$ - [E=REWRITE_SAW:%{SSL:SSL_CLIENT_S_DN_CN}]\n")
    httpd.add_cgi("backend/env.cgi")
    sec_dir = os.path.join(httpd.dir, "modsec")
    os.makedirs(sec_dir, exist_ok=True)
    os.chmod(sec_dir, 0o777)
    return f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        SecRuleEngine On
        SecDataDir {sec_dir}
        SecTmpDir {sec_dir}
        LogFormat "%U x=%{{SSL_CLIENT_S_DN_CN}}x e=%{{SSL_CLIENT_S_DN_CN}}e" surface
        CustomLog {httpd.dir}/surface.log surface
        # Attempts to forge the identity before the access phase: post_read_request, translate_name.
        SetEnvIf X-Forge "(.+)" SSL_CLIENT_S_DN_CN=$1
        RewriteEngine On
        RewriteCond %{{HTTP:X-Forge}} (.+)
        RewriteRule ^ - [E=SSL_CLIENT_S_DN_CN:%1]
        <Directory "{docroot}/on">
            ArrCertVerifyClient optional
            Options +Includes
            AddOutputFilter INCLUDES .shtml
            AddHandler lua-script .lua
            RewriteEngine On
            RewriteRule ^env\\.cgi$ - [E=REWRITE_SAW:%{{SSL:SSL_CLIENT_S_DN_CN}},E=HTTPS_SAW:%{{HTTPS}}]
        </Directory>
        <Directory "{docroot}/off">
            Options +Includes
            AddOutputFilter INCLUDES .shtml
            AddHandler lua-script .lua
            RewriteEngine On
            RewriteRule ^env\\.cgi$ - [E=REWRITE_SAW:%{{SSL:SSL_CLIENT_S_DN_CN}}]
        </Directory>
        <Directory "{docroot}/htrw">
            ArrCertVerifyClient optional
            AllowOverride FileInfo AuthConfig
        </Directory>
        <Location /modsec>
            ArrCertVerifyClient optional
            # and in the header_parser phase
            SetEnvIf X-Forge "(.+)" SSL_CLIENT_S_DN_CN=$1
            SecRule ENV:SSL_CLIENT_S_DN_CN "!@streq alice" "phase:2,deny,status:403,id:1"
            # ModSecurity runs no operator on a variable that is not there: refuse its absence too.
            SecRule &ENV:SSL_CLIENT_S_DN_CN "@eq 0" "phase:2,deny,status:403,id:3"
        </Location>
        <Location /modsec-setenv>
            ArrCertVerifyClient optional
            SetEnv SSL_CLIENT_S_DN_CN alice
            SecRule ENV:SSL_CLIENT_S_DN_CN "!@streq alice" "phase:2,deny,status:403,id:2"
            SecRule &ENV:SSL_CLIENT_S_DN_CN "@eq 0" "phase:2,deny,status:403,id:4"
        </Location>
        <Location /reqenv>
            ArrCertVerifyClient optional
            Require env SSL_CLIENT_S_DN_CN
        </Location>
        <Location /proxied>
            ArrCertVerifyClient require
            RequestHeader set X-Client-DN "%{{SSL_CLIENT_S_DN}}s"
            RequestHeader set X-Client-Verify "%{{SSL_CLIENT_VERIFY}}s"
            ProxyPass http://127.0.0.1:{port}/backend
        </Location>
        <Location /proxied-off>
            RequestHeader set X-Client-DN "%{{SSL_CLIENT_S_DN}}s"
            ProxyPass http://127.0.0.1:{port}/backend
        </Location>
        """


@pytest.fixture(scope="module")
def surface(pki):
    httpd = Httpd("", modules=CONSUMER_MODULES)
    httpd.body = consumers(httpd, pki, httpd.port)
    httpd.start()
    yield httpd
    httpd.stop()


def test_mod_security2_phase2_sees_the_forwarded_identity(surface, certs):
    assert send(surface, "/modsec/env.cgi", certs["alice"]).status == 200
    assert send(surface, "/modsec/env.cgi", certs["bob"]).status == 403
    assert send(surface, "/modsec/env.cgi").status == 403
    assert "ModSecurity: Access denied" in surface.error_log()


@pytest.mark.parametrize("path", ["/modsec/env.cgi", "/modsec-setenv/env.cgi"])
def test_set_env_rewrite_and_setenvif_cannot_replace_the_identity(surface, certs, path):
    # SetEnvIf at server level and in the section, RewriteRule [E=] at virtual-host level: all
    # before the access phase; SetEnv in fixups, after mod_security2's phase 2.
    forge = [("X-Forge", "alice")]
    assert send(surface, path, certs["bob"], headers=forge).status == 403
    assert send(surface, path, headers=forge).status == 403
    env = send(surface, "/on/env.cgi", certs["bob"], headers=forge).env
    assert env["SSL_CLIENT_S_DN_CN"] == "bob"


def test_require_env_sees_the_variables(surface, certs):
    assert send(surface, "/reqenv/", certs["alice"]) == (200, "granted\n")
    assert send(surface, "/reqenv/").status == 403
    assert send(surface, "/reqenv/", headers=[("X-Forge", "alice")]).status == 403


def test_mod_include_echo(surface, certs):
    assert send(surface, "/on/page.shtml", certs["alice"]) == (200, "alice\n")
    assert send(surface, "/off/page.shtml", certs["alice"]) == (200, "(none)\n")


def test_mod_rewrite_in_directory_and_htaccess(surface, certs):
    for path in ("/on/env.cgi", "/htrw/env.cgi"):
        env = send(surface, path, certs["alice"]).env
        assert env["REWRITE_SAW"] == "alice", path
    # The connection is not claimed to be TLS.
    assert send(surface, "/on/env.cgi", certs["alice"]).env["HTTPS_SAW"] == "off"
    assert send(surface, "/off/env.cgi", certs["alice"]).env["REWRITE_SAW"] == ""


def test_mod_headers_passes_the_identity_to_a_proxied_backend(surface, certs):
    env = send(surface, "/proxied/env.cgi", certs["alice"]).env
    assert env["HTTP_X_CLIENT_DN"] == "CN=alice,O=Contoso"
    assert env["HTTP_X_CLIENT_VERIFY"] == "SUCCESS"
    # Refused before mod_headers or mod_proxy run.
    assert send(surface, "/proxied/env.cgi", certs["forged_alice"]).status == 403
    assert send(surface, "/proxied-off/env.cgi", certs["alice"]).env["HTTP_X_CLIENT_DN"] == "(null)"


def test_mod_lua_ssl_var_lookup(surface, certs):
    assert send(surface, "/on/who.lua", certs["alice"]) == (200, "cn=alice verify=SUCCESS\n")
    assert send(surface, "/on/who.lua") == (200, "cn= verify=NONE\n")
    assert send(surface, "/on/who.lua", certs["forged_alice"]).status == 403
    assert send(surface, "/off/who.lua", certs["alice"]) == (200, "cn=nil verify=nil\n")


def test_log_formats_x_and_e(surface, certs):
    send(surface, "/on/page.shtml?logged", certs["alice"])
    send(surface, "/off/page.shtml?logged", certs["alice"])
    lines = [line for line in open(os.path.join(surface.dir, "surface.log")).read().splitlines()
             if "page.shtml" in line]
    assert "/on/page.shtml x=alice e=alice" in lines
    assert "/off/page.shtml x=- e=-" in lines


# --- Virtual-host context: which rules answer before the section is known ----------------------
def test_virtual_host_rewrite_sees_the_virtual_hosts_verdict(pki, certs):
    httpd = vhost_rewrite(pki).start()
    try:
        assert send(httpd, "/who", certs["alice"]) == (200, "alice\n")
        assert send(httpd, "/who", certs["bob"]) == (200, "nobody\n")
        assert send(httpd, "/who").body == "nobody\n"
        assert send(httpd, "/who", certs["forged_alice"]).status == 403
    finally:
        httpd.stop()


@pytest.mark.parametrize("extra,allow_override", [
    # A section judges with other rules: the virtual host's verdict is not that section's.
    ('<Location /strict>\n ArrCertSubject "CN=bob"\n</Location>', "None"),
    # .htaccess files may change the rules where no start-up check sees them.
    ("", "AuthConfig"),
])
def test_virtual_host_rewrite_sees_nothing_where_sections_judge_otherwise(pki, certs, extra, allow_override):
    httpd = vhost_rewrite(pki, extra)
    httpd.allow_override = allow_override
    with running(httpd):
        assert send(httpd, "/who", certs["alice"]) == (200, "nobody\n")


# --- Beside mod_ssl: its own values stay its own where the module is off --------------------
@pytest.fixture(scope="module")
def beside_mod_ssl(pki):
    ssl_port = free_port()
    httpd = Httpd("", modules=MOD_SSL + CONSUMER_MODULES)
    body = consumers(httpd, pki, httpd.port)
    httpd.body = body + tls_vhost(
        pki, ssl_port, "optional", "SSLOptions +StdEnvVars",
        f'DocumentRoot "{httpd.docroot}"', "RewriteEngine On",
        "RewriteRule ^/off/env.cgi$ - [E=VHOST_SAW:%{SSL:SSL_CLIENT_S_DN_CN}]",
        'RequestHeader set X-Client-DN "%{SSL_CLIENT_S_DN}s"', "ProxyPass /tls-proxied http://127.0.0.1:"
        f"{httpd.port}/backend")
    httpd.start()
    yield httpd, ssl_port
    httpd.stop()


def test_mod_ssl_answers_for_its_own_connection_where_the_module_is_off(beside_mod_ssl, pki, certs):
    httpd, ssl_port = beside_mod_ssl
    tls = dict(tls_cert=certs["hop"], cacert=pki.ca.cert_path)
    base = f"https://localhost:{ssl_port}"
    assert send(base, "/off/who.lua", **tls) == (200, "cn=frontend-lb verify=SUCCESS\n")
    env = send(base, "/off/env.cgi", **tls).env
    assert env["REWRITE_SAW"] == "frontend-lb"
    # At virtual-host level the section is not known yet, and a section of this server turns the
    # module on: neither answers there (the hop's identity is not the forwarded client's).
    assert env["VHOST_SAW"] == ""
    assert send(base, "/tls-proxied/env.cgi", **tls).env["HTTP_X_CLIENT_DN"] == "CN=frontend-lb,O=Contoso"
    # Where the module is on, the forwarded certificate, never the hop's.
    assert send(base, "/on/who.lua", certs["alice"], **tls) == (200, "cn=alice verify=SUCCESS\n")
    assert send(base, "/on/who.lua", **tls) == (200, "cn= verify=NONE\n")
    # And on the plain-HTTP virtual host, the forwarded certificate as without mod_ssl.
    assert send(httpd, "/on/who.lua", certs["alice"]) == (200, "cn=alice verify=SUCCESS\n")
    assert send(httpd, "/proxied/env.cgi", certs["alice"]).env["HTTP_X_CLIENT_DN"] == \
        "CN=alice,O=Contoso"
    assert send(httpd, "/modsec/env.cgi", certs["bob"]).status == 403
