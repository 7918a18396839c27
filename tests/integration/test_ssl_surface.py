"""Everything in httpd that reads client-certificate state sees the forwarded certificate: mod_rewrite's
%{SSL:...} (directory, .htaccess, virtual host), mod_headers' %{...}s to a mod_proxy backend, mod_lua's
r:ssl_var_lookup, log formats, and, by the end of the access phase, mod_security2, mod_include and
Require env. First without mod_ssl, then beside a mod_ssl that terminates TLS on another virtual host."""
import os

import pytest

from harness.pki import name
from harness.servers import MOD_SSL, Httpd, curl, curl_json, free_port, tls_vhost

HEADER = "X-ARR-ClientCert"

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


@pytest.fixture(scope="module")
def certs(pki):
    look_alike_ca = pki.issue("sv_look_alike", name(("O", "Contoso"), ("CN", "Contoso Test CA")), ca=True)
    return {
        "alice": pki.leaf("sv_alice", "alice"),
        "bob": pki.leaf("sv_bob", "bob"),
        "forged_alice": pki.issue("sv_forged", name(("O", "Contoso"), ("CN", "alice")), issuer=look_alike_ca),
        "hop": pki.leaf("sv_hop", "frontend-lb"),
    }


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


def send(cert):
    return [(HEADER, cert.azure_header)] if cert is not None else []


def test_mod_security2_phase2_sees_the_forwarded_identity(surface, certs):
    assert curl(surface.url("/modsec/env.cgi"), headers=send(certs["alice"]))[0] == 200
    assert curl(surface.url("/modsec/env.cgi"), headers=send(certs["bob"]))[0] == 403
    assert curl(surface.url("/modsec/env.cgi"))[0] == 403
    assert "ModSecurity: Access denied" in surface.error_log()


@pytest.mark.parametrize("path", ["/modsec/env.cgi", "/modsec-setenv/env.cgi"])
def test_set_env_rewrite_and_setenvif_cannot_replace_the_identity(surface, certs, path):
    # SetEnvIf at server level and in the section, RewriteRule [E=] at virtual-host level: all
    # before the access phase; SetEnv in fixups, after mod_security2's phase 2.
    forge = [("X-Forge", "alice")]
    assert curl(surface.url(path), headers=send(certs["bob"]) + forge)[0] == 403
    assert curl(surface.url(path), headers=forge)[0] == 403
    env = curl_json(surface.url("/on/env.cgi"), headers=send(certs["bob"]) + forge)
    assert env["SSL_CLIENT_S_DN_CN"] == "bob"


def test_require_env_sees_the_variables(surface, certs):
    assert curl(surface.url("/reqenv/"), headers=send(certs["alice"])) == (200, "granted\n")
    assert curl(surface.url("/reqenv/"))[0] == 403
    assert curl(surface.url("/reqenv/"), headers=[("X-Forge", "alice")])[0] == 403


def test_mod_include_echo(surface, certs):
    assert curl(surface.url("/on/page.shtml"), headers=send(certs["alice"])) == (200, "alice\n")
    assert curl(surface.url("/off/page.shtml"), headers=send(certs["alice"])) == (200, "(none)\n")


def test_mod_rewrite_in_directory_and_htaccess(surface, certs):
    for path in ("/on/env.cgi", "/htrw/env.cgi"):
        env = curl_json(surface.url(path), headers=send(certs["alice"]))
        assert env["REWRITE_SAW"] == "alice", path
    # The connection is not claimed to be TLS.
    assert curl_json(surface.url("/on/env.cgi"), headers=send(certs["alice"]))["HTTPS_SAW"] == "off"
    assert curl_json(surface.url("/off/env.cgi"), headers=send(certs["alice"]))["REWRITE_SAW"] == ""


def test_mod_headers_passes_the_identity_to_a_proxied_backend(surface, certs):
    env = curl_json(surface.url("/proxied/env.cgi"), headers=send(certs["alice"]))
    assert env["HTTP_X_CLIENT_DN"] == "CN=alice,O=Contoso"
    assert env["HTTP_X_CLIENT_VERIFY"] == "SUCCESS"
    # Refused before mod_headers or mod_proxy run.
    assert curl(surface.url("/proxied/env.cgi"), headers=send(certs["forged_alice"]))[0] == 403
    assert curl_json(surface.url("/proxied-off/env.cgi"), headers=send(certs["alice"]))["HTTP_X_CLIENT_DN"] == "(null)"


def test_mod_lua_ssl_var_lookup(surface, certs):
    assert curl(surface.url("/on/who.lua"), headers=send(certs["alice"])) == (200, "cn=alice verify=SUCCESS\n")
    assert curl(surface.url("/on/who.lua")) == (200, "cn= verify=NONE\n")
    assert curl(surface.url("/on/who.lua"), headers=send(certs["forged_alice"]))[0] == 403
    assert curl(surface.url("/off/who.lua"), headers=send(certs["alice"])) == (200, "cn=nil verify=nil\n")


def test_log_formats_x_and_e(surface, certs):
    curl(surface.url("/on/page.shtml?logged"), headers=send(certs["alice"]))
    curl(surface.url("/off/page.shtml?logged"), headers=send(certs["alice"]))
    lines = [line for line in open(os.path.join(surface.dir, "surface.log")).read().splitlines()
             if "page.shtml" in line]
    assert "/on/page.shtml x=alice e=alice" in lines
    assert "/off/page.shtml x=- e=-" in lines


# --- Virtual-host context: which rules answer before the section is known ----------------------
def vhost_rewrite(pki, extra=""):
    httpd = Httpd(f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        ArrCertVerifyClient optional
        RewriteEngine On
        RewriteCond %{{SSL:SSL_CLIENT_S_DN_CN}} =alice
        RewriteRule ^/who$ /alice.html [L]
        RewriteRule ^/who$ /nobody.html [L]
        {extra}
        """, modules=["rewrite_module mod_rewrite.so"], allow_override="None")
    httpd.add_file("alice.html", "alice\n")
    httpd.add_file("nobody.html", "nobody\n")
    return httpd


def test_virtual_host_rewrite_sees_the_virtual_hosts_verdict(pki, certs):
    httpd = vhost_rewrite(pki).start()
    try:
        assert curl(httpd.url("/who"), headers=send(certs["alice"])) == (200, "alice\n")
        assert curl(httpd.url("/who"), headers=send(certs["bob"])) == (200, "nobody\n")
        assert curl(httpd.url("/who"))[1] == "nobody\n"
        assert curl(httpd.url("/who"), headers=send(certs["forged_alice"]))[0] == 403
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
    httpd.start()
    try:
        assert curl(httpd.url("/who"), headers=send(certs["alice"])) == (200, "nobody\n")
    finally:
        httpd.stop()


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
    tls = dict(cert=certs["hop"], cacert=pki.ca.cert_path)
    base = f"https://localhost:{ssl_port}"
    assert curl(f"{base}/off/who.lua", **tls) == (200, "cn=frontend-lb verify=SUCCESS\n")
    env = curl_json(f"{base}/off/env.cgi", **tls)
    assert env["REWRITE_SAW"] == "frontend-lb"
    # At virtual-host level the section is not known yet, and a section of this server turns the
    # module on: neither answers there (the hop's identity is not the forwarded client's).
    assert env["VHOST_SAW"] == ""
    assert curl_json(f"{base}/tls-proxied/env.cgi", **tls)["HTTP_X_CLIENT_DN"] == "CN=frontend-lb,O=Contoso"
    # Where the module is on, the forwarded certificate, never the hop's.
    assert curl(f"{base}/on/who.lua", headers=send(certs["alice"]), **tls) == (200, "cn=alice verify=SUCCESS\n")
    assert curl(f"{base}/on/who.lua", **tls) == (200, "cn= verify=NONE\n")
    # And on the plain-HTTP virtual host, the forwarded certificate as without mod_ssl.
    assert curl(httpd.url("/on/who.lua"), headers=send(certs["alice"])) == (200, "cn=alice verify=SUCCESS\n")
    assert curl_json(httpd.url("/proxied/env.cgi"), headers=send(certs["alice"]))["HTTP_X_CLIENT_DN"] == \
        "CN=alice,O=Contoso"
    assert curl(httpd.url("/modsec/env.cgi"), headers=send(certs["bob"]))[0] == 403
