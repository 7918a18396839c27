"""Only the front end vouches for a certificate (issue 25, items 1, 3, 4 and 6).

Certificates are public: anyone may hold bob's genuine certificate, so only the header's origin
says that bob presented it to the front end. These tests send a genuine certificate (a self-made
one would be refused by the CA check and prove nothing) through every way httpd itself could
pass it on: another virtual host's proxy, a tenant's .htaccess, mod_headers, a rewrite [P].
Each failed on the code before the change."""
import json
import os

from harness.client import AZURE_HEADER, send
from harness.pki import certificate_set, name
from harness.servers import PROXY, REWRITE, HAProxy, Httpd, free_port, location, running

PROXY_MODULES = [*PROXY, "headers_module mod_headers.so", REWRITE]
OUTSIDER = "127.0.0.2"  # a client that is no front end

certs = certificate_set("pv", bob="bob", alice="alice")


def vouched_for(pki, *sections):
    """Server-wide: a front end on 127.0.0.1 vouches and the test CA is trusted; then `sections`."""
    return f"ArrCertTrustedProxy 127.0.0.1\nArrCertCACertificateFile {pki.ca.cert_path}\n" + "".join(sections)


def protected_vhost(pki, port, docroot, *lines):
    """Virtual host A: a front end on 127.0.0.1 vouches, bob's CA is required."""
    body = "\n".join(lines)
    return f"""
        Listen 127.0.0.1:{port}
        <VirtualHost 127.0.0.1:{port}>
            DocumentRoot {docroot}
            ArrCertTrustedProxy 127.0.0.1
            ArrCertVerifyClient require
            ArrCertCACertificateFile {pki.ca.cert_path}
            {body}
        </VirtualHost>
        """


# 1a. Another virtual host's proxy is no front end -----------------------------------------------
def test_a_vhost_without_a_list_relays_no_certificate(pki, certs):
    a_port, c_port = free_port(), free_port()
    httpd = Httpd("", modules=PROXY_MODULES)
    httpd.body = protected_vhost(pki, a_port, httpd.docroot) + f"""
        <VirtualHost 127.0.0.1:{httpd.port}>
            ProxyPass /app/ http://127.0.0.1:{a_port}/
        </VirtualHost>
        Listen 127.0.0.1:{c_port}
        <VirtualHost 127.0.0.1:{c_port}>
            # Opted in: the relay carries what the front end (127.0.0.1) sent, and only that.
            ArrCertTrustedProxy 127.0.0.1
            ArrCertRelayHeaders front-end
            ProxyPass /app/ http://127.0.0.1:{a_port}/
        </VirtualHost>
        """
    httpd.add_file("secret.html", "secret\n")
    bob = certs["bob"]
    with running(httpd):
        # B lists no front end while A does: B trusts no peer, so its hop to A carries nothing.
        status, body = send(httpd, "/app/secret.html", bob, interface=OUTSIDER)
        assert status == 403 and "secret" not in body
        assert "removed X-ARR-ClientCert sent by 127.0.0.2" in httpd.error_log()
        # Not even from the address A trusts: B is no front end, and a relay is not vouched for.
        assert send(httpd, "/app/secret.html", bob).status == 403
        assert send(httpd, "/secret.html", bob, port=a_port, interface=OUTSIDER).status == 403
        # Where the administrator opted in, what the front end sent goes through, and only that.
        assert send(httpd, "/app/secret.html", bob, port=c_port) == (200, "secret\n")
        assert send(httpd, "/app/secret.html", bob, port=c_port, interface=OUTSIDER).status == 403


# 1b. A tenant's .htaccess sets the header and relays to the protected host ------------------------
def test_a_tenants_header_relayed_by_rewrite_is_never_a_front_ends(pki, certs):
    a_port = free_port()
    httpd = Httpd("", modules=PROXY_MODULES, allow_override="FileInfo AuthConfig")
    httpd.body = "ArrCertTrustedProxy 127.0.0.1\n" + protected_vhost(pki, a_port, httpd.docroot)
    httpd.add_file("secret.html", "secret\n")
    httpd.add_file("tenant/.htaccess", f"""
RequestHeader set {AZURE_HEADER} "{certs['bob'].azure_header}"
RewriteEngine on
RewriteRule ^(.*)$ http://127.0.0.1:{a_port}/secret.html [P]
""")
    httpd.add_file("tenant/index.html", "tenant\n")
    with running(httpd):
        # From the front end's own address, sending nothing: the relay carries no certificate.
        status, body = send(httpd, "/tenant/x")
        assert status == 403 and "secret" not in body
        assert "refused: no client certificate" in httpd.error_log()


# 1c. Nothing httpd adds to the headers later is judged ------------------------------------------
def test_a_header_set_by_mod_headers_is_not_judged(pki, certs):
    httpd = Httpd("", modules=["headers_module mod_headers.so"], allow_override="FileInfo AuthConfig")
    httpd.body = vouched_for(pki, location("/tenant", "ArrCertVerifyClient optional"))
    httpd.add_file("tenant/.htaccess", f"""
RequestHeader set {AZURE_HEADER} "{certs['bob'].azure_header}"
Header always set X-CN "expr=%{{SSL_CLIENT_S_DN_CN}}"
Header always set X-Verify "expr=%{{SSL_CLIENT_VERIFY}}"
""")
    httpd.add_cgi("tenant/env.cgi")
    with running(httpd):
        status, body = send(httpd, "/tenant/env.cgi", extra=("-D", "-"))
        assert status == 200, body
        head, _, payload = body.partition("\n\n")  # curl -D -: the response head, then the body
        assert payload.startswith("{"), body
        env = json.loads(payload)
        assert env["SSL_CLIENT_VERIFY"] == "NONE" and "SSL_CLIENT_S_DN_CN" not in env
        assert "bob" not in head and "x-verify: none" in head.lower(), head
        # The front end's own header is still what counts.
        status, body = send(httpd, "/tenant/env.cgi", certs["alice"])
        assert status == 200 and json.loads(body)["SSL_CLIENT_S_DN_CN"] == "alice"


def test_trusted_proxy_none_and_its_mistakes(pki, certs):
    httpd = Httpd("")
    status, output = httpd.configtest("ArrCertTrustedProxy 127.0.0.1 none\n")
    assert status != 0 and "'none' stands alone" in output, output
    # A listener that trusts no peer changes nothing for the servers without a list.
    status_port = free_port()
    httpd.body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        ArrCertVerifyClient require
        Listen 127.0.0.1:{status_port}
        <VirtualHost 127.0.0.1:{status_port}>
            ArrCertTrustedProxy none
            DocumentRoot {httpd.docroot}
        </VirtualHost>
        """
    httpd.add_file("index.html", "hello\n")
    with running(httpd):
        assert send(httpd, "/", certs["bob"], interface=OUTSIDER) == (200, "hello\n")
        assert send(httpd, "/", certs["bob"], port=status_port).status == 403


def test_a_trusted_loopback_address_is_warned_about_with_mod_proxy(pki):
    httpd = Httpd("", modules=PROXY_MODULES)
    status, output = httpd.configtest("ArrCertTrustedProxy 127.0.0.0/8\n")
    assert status == 0 and "trusts a loopback address" in output, output
    status, output = httpd.configtest("ArrCertTrustedProxy 192.0.2.10\n")
    assert status == 0 and "loopback" not in output, output
    plain = Httpd("")
    status, output = plain.configtest("ArrCertTrustedProxy 127.0.0.1\n")
    assert status == 0 and "loopback" not in output, output


# 3. The status page never answers through a front end ---------------------------------------------
def test_status_page_is_not_served_through_the_front_end(pki, certs):
    status_port = free_port()
    httpd = Httpd("")
    httpd.body = vouched_for(pki, location("/app", "ArrCertVerifyClient require"), f"""
        # README's first snippet, as the demo layout had it: every relayed request is from 127.0.0.1.
        <Location /arrcert-status>
            SetHandler arrcert-status
            Require ip 127.0.0.1
        </Location>
        # What README recommends: a listener the front end does not route to.
        Listen 127.0.0.1:{status_port}
        <VirtualHost 127.0.0.1:{status_port}>
            ArrCertTrustedProxy none
            <Location /arrcert-status>
                SetHandler arrcert-status
                Require ip 127.0.0.1
            </Location>
        </VirtualHost>
        """)
    httpd.add_file("app/index.html", "app\n")
    with running(httpd):
        front = HAProxy(pki, httpd.port).start()
        try:
            assert send(front, "/app/", tls_cert=certs["bob"], cacert=pki.ca.cert_path) == (200, "app\n")
            # Anyone reaching the front end, with no certificate at all:
            status, body = send(front, "/arrcert-status?format=json", cacert=pki.ca.cert_path)
            assert status == 403 and certs["bob"].sha1 not in body and "bob" not in body
            assert "arrcert-status: refused a request relayed by the front end 127.0.0.1" in httpd.error_log()
        finally:
            front.stop()
        status, body = send(httpd, "/arrcert-status?format=json", port=status_port)
        assert status == 200, body
        assert certs["bob"].sha1 in body.upper().replace(":", "")


# 4. optional_no_ca trusts nothing, and .htaccess cannot choose it ---------------------------------
def test_optional_no_ca_needs_an_explicit_acceptance(pki):
    httpd = Httpd("")
    unaccepted = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        <Location /admin>
            ArrCertVerifyClient optional_no_ca
            Require expr %{{SSL_CLIENT_S_DN_CN}} == 'admin'
        </Location>
        """
    status, output = httpd.configtest(unaccepted)
    assert status != 0, output
    assert "'ArrCertVerifyClient optional_no_ca' lets through certificates that no CA or pin verified" in output
    status, output = httpd.configtest(unaccepted.replace("optional_no_ca", "optional_no_ca\nArrCertAcceptUnverified on"))
    assert status == 0, output


def test_htaccess_cannot_choose_optional_no_ca(pki, certs):
    look_alike = pki.issue("pv_look_alike", name(("O", "Contoso"), ("CN", "Contoso Test CA")), ca=True)
    admin = pki.issue("pv_admin_self", name(("O", "Contoso"), ("CN", "admin")), issuer=look_alike)
    httpd = Httpd("", allow_override="AuthConfig")
    httpd.body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        <Directory {httpd.docroot}/tenant>
            AllowOverrideList ArrCertVerifyClient
            ArrCertVerifyClient require
            Require expr %{{SSL_CLIENT_S_DN_CN}} == 'admin'
        </Directory>
        """
    httpd.add_file("tenant/.htaccess", "ArrCertVerifyClient optional_no_ca\n")
    httpd.add_file("tenant/index.html", "admin area\n")
    httpd.add_file("strict/.htaccess", "ArrCertVerifyClient optional\n")  # tightening stays allowed
    httpd.add_file("strict/index.html", "strict\n")
    with running(httpd):
        status, body = send(httpd, "/tenant/", admin)
        assert status == 500 and "admin area" not in body
        assert "optional_no_ca cannot be chosen in .htaccess" in httpd.error_log()
        assert send(httpd, "/strict/", certs["alice"]) == (200, "strict\n")


# 6. The chain header's format is part of the verdict's key ------------------------------------------
def test_the_chain_format_is_in_the_cache_key(pki):
    root = pki.issue("pv_root", name(("O", "Contoso"), ("CN", "Key Root")), ca=True)
    middle = pki.issue("pv_middle", name(("O", "Contoso"), ("CN", "Key Middle")), issuer=root, ca=True)
    leaf = pki.issue("pv_leaf", name(("O", "Contoso"), ("CN", "carol")), issuer=middle)
    httpd = Httpd("", modules=["socache_shmcb_module mod_socache_shmcb.so"])
    httpd.body = f"""
        ArrCertCache shmcb:{httpd.dir}/verdicts(512000)
        ArrCertCACertificateFile {root.cert_path}
        ArrCertVerifyClient require
        <Location /pem>
            ArrCertHeader X-Leaf der-base64
            ArrCertChainHeader X-Chain pem
        </Location>
        <Location /rfc9440>
            ArrCertHeader X-Leaf der-base64
            ArrCertChainHeader X-Chain rfc9440
        </Location>
        """
    for path in ("pem", "rfc9440"):
        httpd.add_file(f"{path}/index.html", f"{path}\n")
    headers = [("X-Leaf", leaf.azure_header), ("X-Chain", middle.pem_spaces)]
    with running(httpd):
        assert send(httpd, "/pem/", headers=headers) == (200, "pem\n")
        # The same values, read as RFC 9440: not a chain at all, whatever /pem judged.
        assert send(httpd, "/rfc9440/", headers=headers).status == 403


# After an attacker's review of the change ---------------------------------------------------------
def test_status_page_is_not_reached_through_the_front_end_by_host(pki, certs):
    """A name-based status host on the front end's listener: the client's Host header chooses the
    server, so every server's front ends count, not only the chosen one's."""
    httpd = Httpd("")
    httpd.body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        <VirtualHost 127.0.0.1:{httpd.port}>
            ServerName app.example
            ArrCertTrustedProxy 127.0.0.1
            DocumentRoot {httpd.docroot}
        </VirtualHost>
        <VirtualHost 127.0.0.1:{httpd.port}>
            ServerName status.example
            ArrCertTrustedProxy none
            <Location /arrcert-status>
                SetHandler arrcert-status
                ArrCertVerifyClient none
                Require ip 127.0.0.1
            </Location>
        </VirtualHost>
        """
    with running(httpd):
        front = HAProxy(pki, httpd.port).start()
        try:
            status, body = send(front, "/arrcert-status?format=json", host="status.example", cacert=pki.ca.cert_path)
            assert status == 403, body[:300]
        finally:
            front.stop()


def test_a_look_alike_header_name_is_removed(pki, certs):
    """X_ARR_ClientCert: httpd keeps it apart, some backends (WSGI servers) do not."""
    a_port = free_port()
    httpd = Httpd("", modules=PROXY_MODULES, allow_override="FileInfo AuthConfig")
    httpd.body = protected_vhost(pki, a_port, httpd.docroot, f'CustomLog {httpd.dir}/relayed.log "%{{X_ARR_ClientCert}}i"') + f"""
        ArrCertTrustedProxy 127.0.0.1
        ProxyPass /app/ http://127.0.0.1:{a_port}/
        """
    httpd.add_file("secret.html", "secret\n")
    httpd.add_file("tenant/.htaccess", f"""
RequestHeader set X_ARR_ClientCert "{certs['bob'].azure_header}"
RewriteEngine on
RewriteRule ^(.*)$ http://127.0.0.1:{a_port}/secret.html [P]
""")
    look_alike = dict(cert=certs["bob"], header="X_ARR_ClientCert")
    with running(httpd):
        assert send(httpd, "/app/secret.html", **look_alike, interface=OUTSIDER).status == 403
        assert send(httpd, "/app/secret.html", **look_alike).status == 403  # from the front end too
        assert send(httpd, "/tenant/x").status == 403
        relayed = open(os.path.join(httpd.dir, "relayed.log")).read().split()
        assert relayed == ["-", "-", "-"], relayed
        assert "removed X_ARR_ClientCert: a look-alike of a certificate header" in httpd.error_log()


def test_a_handler_before_mod_proxy_cannot_add_the_header(pki, certs):
    """mod_lua's map handler runs after insert_filter and before mod_proxy's handler: the headers
    are settled again where mod_proxy_http copies them."""
    a_port = free_port()
    httpd = Httpd("", modules=PROXY_MODULES + ["lua_module mod_lua.so"])
    script = os.path.join(httpd.dir, "forge.lua")
    with open(script, "w") as f:
        f.write(f"""
function handle(r)
    r.headers_in['{AZURE_HEADER}'] = '{certs['bob'].azure_header}'
    return apache2.DECLINED
end
""")
    httpd.body = protected_vhost(pki, a_port, httpd.docroot) + f"""
        ArrCertTrustedProxy 127.0.0.1
        <Location /lua/>
            LuaMapHandler ^/lua/ {script} handle
            ProxyPass http://127.0.0.1:{a_port}/
        </Location>
        """
    httpd.add_file("secret.html", "secret\n")
    with running(httpd):
        status, body = send(httpd, "/lua/secret.html", interface=OUTSIDER)
        assert status == 403 and "secret" not in body


def test_optional_no_ca_reports_no_unverified_names_without_the_acceptance(pki):
    """A <Directory> that accepts and a <Location> that takes it back: a merge the start-up
    check does not make. At request time a refused certificate's names are then not reported."""
    look_alike = pki.issue("pv_merge_ca", name(("O", "Contoso"), ("CN", "Contoso Test CA")), ca=True)
    admin = pki.issue("pv_merge_admin", name(("O", "Contoso"), ("CN", "admin")), issuer=look_alike)
    httpd = Httpd("")
    httpd.body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        <Directory {httpd.docroot}>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
        </Directory>
        <Location /admin>
            ArrCertAcceptUnverified off
            Require expr %{{SSL_CLIENT_S_DN_CN}} == 'admin'
        </Location>
        """
    httpd.add_cgi("admin/env.cgi")
    with running(httpd):
        assert send(httpd, "/admin/env.cgi", admin).status == 403
