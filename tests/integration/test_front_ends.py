"""Every front end: what each sends, read through presets and formats, with chains, through real
front ends where Debian has them (HAProxy, nginx, httpd with mod_ssl and mod_headers)."""
import base64
import json
import os
import re
import urllib.parse

import pytest

from harness.pki import name
from harness.client import send
from harness.servers import (MOD_SSL, ROOT, BackgroundServer, HAProxy, Httpd, Nginx, free_port, make_workdir,
                             running, tls_vhost, write_file)


class Chain:
    def __init__(self, pki):
        self.root = pki.issue("f_root", name(("O", "Contoso"), ("CN", "Front Root")), ca=True)
        self.upper = pki.issue("f_upper", name(("O", "Contoso"), ("CN", "Front Upper")), issuer=self.root, ca=True)
        self.lower = pki.issue("f_lower", name(("O", "Contoso"), ("CN", "Front Lower")), issuer=self.upper, ca=True)
        self.leaf = pki.issue("f_leaf", name(("O", "Contoso"), ("CN", "alice")), issuer=self.lower)

    def b64(self, cert):
        return base64.b64encode(cert.der).decode()

    def url_pem(self, *certs):
        return urllib.parse.quote("".join(c.pem for c in certs), safe="")


@pytest.fixture(scope="module")
def chain(pki):
    return Chain(pki)


def xfcc_element(cert, chain_certs=(), subject="CN=alice"):
    element = f'By=spiffe://cluster.local/ns/a;Hash={cert.sha256.lower()};Subject="{subject}"'
    element += f';Cert="{urllib.parse.quote(cert.pem, safe="")}"'
    if chain_certs:
        element += f';Chain="{urllib.parse.quote("".join(c.pem for c in chain_certs), safe="")}"'
    return element


@pytest.fixture(scope="module")
def server(chain):
    body = ""
    for preset in ("azure", "envoy", "traefik", "aws-alb", "rfc9440"):
        body += f"""
        <Location /{preset}>
            ArrCertFrontEnd {preset}
            ArrCertVerifyClient require
            ArrCertCACertificateFile {chain.root.cert_path}
        </Location>
        """
    body += f"""
        <Location /envoy-first>
            ArrCertFrontEnd envoy
            ArrCertXfccElement first
            ArrCertVerifyClient require
            ArrCertCACertificateFile {chain.root.cert_path}
        </Location>
        <Location /envoy-override>
            ArrCertFrontEnd envoy
            ArrCertHeader X-Mesh-Cert xfcc
            ArrCertVerifyClient require
            ArrCertCACertificateFile {chain.root.cert_path}
        </Location>
        <Location /chain-header>
            ArrCertHeader X-Leaf der-base64
            ArrCertChainHeader X-Chain
            ArrCertVerifyClient require
            ArrCertCACertificateFile {chain.root.cert_path}
        </Location>
        <Location /envoy-optional>
            ArrCertFrontEnd envoy
            ArrCertVerifyClient optional
            ArrCertCACertificateFile {chain.root.cert_path}
        </Location>
        <Location /haproxy-chain>
            ArrCertHeader X-ARR-ClientCert der-base64
            ArrCertChainHeader X-SSL-Client-Chain der-concat-base64
            ArrCertVerifyClient require
            ArrCertCACertificateFile {chain.root.cert_path}
            ArrCertOptions +ExportCertData
        </Location>
        """
    httpd = Httpd(body)
    for path in ("azure", "envoy", "traefik", "aws-alb", "rfc9440", "envoy-first", "envoy-override",
                 "chain-header", "envoy-optional", "haproxy-chain"):
        httpd.add_cgi(f"{path}/env.cgi")
    httpd.start()
    yield httpd
    httpd.stop()


def test_azure_preset(server, chain):
    # Azure forwards the leaf only: with a CA that needs intermediates it cannot chain.
    assert send(server, "/azure/env.cgi", chain.leaf).status == 403
    assert send(server, "/azure/env.cgi", chain.leaf, form="pem_spaces").status == 403  # strict format


def test_envoy_xfcc(server, chain):
    value = xfcc_element(chain.leaf, [chain.leaf, chain.lower, chain.upper])
    env = send(server, "/envoy/env.cgi", header="X-Forwarded-Client-Cert", value=value).env
    assert env["SSL_CLIENT_VERIFY"] == "SUCCESS" and env["SSL_CLIENT_S_DN_CN"] == "alice"
    # The chain may omit the leaf.
    value = xfcc_element(chain.leaf, [chain.lower, chain.upper])
    assert send(server, "/envoy/env.cgi", header="X-Forwarded-Client-Cert", value=value).status == 200


def test_envoy_element_choice(server, chain, pki):
    other = pki.leaf("f_other", "mallory")
    good = xfcc_element(chain.leaf, [chain.lower, chain.upper])
    bad = xfcc_element(other)
    assert send(server, "/envoy/env.cgi", header="X-Forwarded-Client-Cert", value=f"{bad},{good}").status == 200
    assert send(server, "/envoy/env.cgi", header="X-Forwarded-Client-Cert", value=f"{good},{bad}").status == 403
    first = send(server, "/envoy-first/env.cgi", header="X-Forwarded-Client-Cert", value=f"{good},{bad}")
    assert first.status == 200
    # Two header lines are two elements; the last one (nearest proxy) decides.
    assert send(server, "/envoy/env.cgi", headers=[("X-Forwarded-Client-Cert", bad),
                                                   ("X-Forwarded-Client-Cert", good)]).status == 200


def test_envoy_subject_injection(server, chain, pki):
    other = pki.leaf("f_injected", "mallory")
    # A quoted Subject that tries to smuggle another Cert and element.
    injected = f'CN=x;Cert={urllib.parse.quote(chain.leaf.pem, safe="")},By=evil'
    value = xfcc_element(other, subject=injected.replace('"', '\\"'))
    assert send(server, "/envoy/env.cgi", header="X-Forwarded-Client-Cert", value=value).status == 403


def test_xfcc_element_without_cert_is_refused_naming_envoys_settings(server, chain):
    """Istio's sidecars forward Hash, Subject and URI only: a client presented a certificate, yet
    none is here. Refused under optional too (not read as "no certificate")."""
    value = 'By=spiffe://cluster.local/ns/a;Hash=0123;Subject="CN=alice";URI=spiffe://cluster.local/ns/b'
    for path in ("/envoy/env.cgi", "/envoy-optional/env.cgi"):
        response = send(server, path, header="X-Forwarded-Client-Cert", value=value)
        assert response.status == 403
        assert ("XFCC element carries no Cert: set Envoy's set_current_client_cert_details cert: true "
                "(forward_client_cert_details SANITIZE_SET or APPEND_FORWARD)") in response.refusal
    # Without the header at all, optional lets the request through without a certificate.
    assert send(server, "/envoy-optional/env.cgi").env["SSL_CLIENT_VERIFY"] == "NONE"


def test_traefik_before_2_9_2_url_escaped_items(server, chain):
    """Traefik up to 2.9.1 url.QueryEscape'd each item (+ / = as %2B %2F %3D), joined by ','."""
    items = [chain.b64(c) for c in (chain.leaf, chain.lower, chain.upper)]
    for value in (",".join(urllib.parse.quote(i, safe="") for i in items), urllib.parse.quote(",".join(items), safe="")):
        assert "%2B" in value or "%2F" in value or "%3D" in value
        env = send(server, "/traefik/env.cgi", header="X-Forwarded-Tls-Client-Cert", value=value).env
        assert env["SSL_CLIENT_VERIFY"] == "SUCCESS"


def test_traefik_with_intermediates_out_of_order(server, chain):
    value = ",".join(chain.b64(c) for c in (chain.leaf, chain.upper, chain.lower))
    env = send(server, "/traefik/env.cgi", header="X-Forwarded-Tls-Client-Cert", value=value).env
    assert env["SSL_CLIENT_VERIFY"] == "SUCCESS"
    assert send(server, "/traefik/env.cgi", chain.leaf, header="X-Forwarded-Tls-Client-Cert").status == 403


def test_aws_alb_passthrough_chain(server, chain):
    value = urllib.parse.quote(chain.leaf.pem + chain.lower.pem + chain.upper.pem, safe="+/=")
    assert "+" in value or "/" in value
    assert send(server, "/aws-alb/env.cgi", header="X-Amzn-Mtls-Clientcert", value=value).status == 200


def test_rfc9440_with_chain_header(server, chain):
    headers = [("Client-Cert", f":{chain.b64(chain.leaf)}:"),
               ("Client-Cert-Chain", f":{chain.b64(chain.lower)}:, :{chain.b64(chain.upper)}:")]
    assert send(server, "/rfc9440/env.cgi", headers=headers).status == 200
    assert send(server, "/rfc9440/env.cgi", headers=headers[:1]).status == 403
    not_a_list = [headers[0], ("Client-Cert-Chain", "not:a:list")]
    assert send(server, "/rfc9440/env.cgi", headers=not_a_list).status == 403


def test_explicit_header_overrides_preset(server, chain):
    value = xfcc_element(chain.leaf, [chain.lower, chain.upper])
    assert send(server, "/envoy-override/env.cgi", header="X-Mesh-Cert", value=value).status == 200
    assert send(server, "/envoy-override/env.cgi", header="X-Forwarded-Client-Cert", value=value).status == 403


def test_separate_chain_header(server, chain):
    headers = [("X-Leaf", chain.b64(chain.leaf)), ("X-Chain", chain.url_pem(chain.lower, chain.upper))]
    assert send(server, "/chain-header/env.cgi", headers=headers).status == 200


def backend(pki, reading, server=""):
    """httpd behind a real front end: /app/env.cgi requires a certificate of the test CA, read as
    the line `reading` says (ArrCertHeader, ArrCertFrontEnd); `server`: a server-level line."""
    httpd = Httpd(f"""
        {server}
        <Location /app>
            {reading}
            ArrCertVerifyClient require
            ArrCertCACertificateFile {pki.ca.cert_path}
        </Location>
        """)
    httpd.add_cgi("app/env.cgi")
    return httpd


def test_through_nginx(pki):
    httpd = backend(pki, "ArrCertHeader X-SSL-Client-Cert url-pem", server="ArrCertTrustedProxy 127.0.0.1")
    with running(httpd), running(Nginx(pki, httpd.port)) as front:
        alice = pki.leaf("f_nginx", "alice")
        status_code, body = send(front, "/app/env.cgi", tls_cert=alice, cacert=pki.ca.cert_path)
        assert status_code == 200, body
        env = json.loads(body)
        assert env["ARRCERT_THUMBPRINT"] == alice.sha1
        assert send(front, "/app/env.cgi", cacert=pki.ca.cert_path).status == 403


def test_through_httpd_mod_ssl_and_mod_headers(pki):
    httpd = backend(pki, "ArrCertHeader X-Client-Cert pem").start()
    tls_port = free_port()
    front = Httpd(tls_vhost(pki, tls_port, "optional_no_ca", 'RequestHeader set X-Client-Cert "%{SSL_CLIENT_CERT}s"',
                            f"ProxyPass / http://127.0.0.1:{httpd.port}/"),
                  with_module=False, modules=MOD_SSL + ["headers_module mod_headers.so", "proxy_module mod_proxy.so",
                                                        "proxy_http_module mod_proxy_http.so"])
    with running(front, httpd):
        alice = pki.leaf("f_modheaders", "alice")
        url = f"https://localhost:{tls_port}/app/env.cgi"
        status_code, body = send(url, tls_cert=alice, cacert=pki.ca.cert_path)
        assert status_code == 200, body
        assert json.loads(body)["ARRCERT_THUMBPRINT"] == alice.sha1
        # No certificate: mod_headers sends "(null)", which means no certificate.
        assert send(url, cacert=pki.ca.cert_path).status == 403


def test_through_haproxy_with_the_azure_preset(pki):
    httpd = backend(pki, "ArrCertFrontEnd azure")
    with running(httpd), running(HAProxy(pki, httpd.port)) as front:
        alice = pki.leaf("f_haproxy", "alice")
        variables = send(front, "/app/env.cgi", tls_cert=alice, cacert=pki.ca.cert_path).variables
        assert variables["SSL_CLIENT_S_DN_CN"] == "alice"


def test_untrusted_peer_loses_preset_headers(pki, chain):
    port = free_port()
    httpd = Httpd(f"""
        Listen 127.0.0.1:{port}
        <VirtualHost 127.0.0.1:{port}>
            ArrCertTrustedProxy 127.0.0.1
            ArrCertFrontEnd rfc9440
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            ArrCertCACertificateFile {chain.root.cert_path}
        </VirtualHost>
        """)
    httpd.add_cgi("env.cgi")
    with running(httpd):
        headers = [("Client-Cert", f":{chain.b64(chain.leaf)}:"), ("Client-Cert-Chain", f":{chain.b64(chain.lower)}:")]
        env = json.loads(send(httpd, "/env.cgi", headers=headers, port=port, interface="127.0.0.2").body)
        assert "HTTP_CLIENT_CERT" not in env and "HTTP_CLIENT_CERT_CHAIN" not in env
        assert env["SSL_CLIENT_VERIFY"] == "NONE"




# The complete HAProxy and nginx configurations of docs/front-ends.md, run as written ---------------
def documented_blocks():
    """{fence: [block, ...]} of the section "Complete front ends" of docs/front-ends.md."""
    text = open(os.path.join(ROOT, "docs", "front-ends.md"), encoding="utf-8").read()
    section = text[text.index("## Complete front ends"):]
    section = section[:section.find("\n## ", 5)] if "\n## " in section[5:] else section
    blocks = {}
    for fence, body in re.findall(r"```(\w+)\n(.*?)```", section, re.S):
        blocks.setdefault(fence, []).append(body)
    return blocks


def replaced(text, pairs):
    for old, new in pairs:
        assert old in text, old  # the documentation still says what the test points elsewhere
        text = text.replace(old, new)
    return text


def start_front_end(kind, module_verifies, pki, backend_port):
    blocks = documented_blocks()
    front = BackgroundServer()
    front.port = free_port()
    workdir = make_workdir(f"arrcert-doc-{kind}-")
    config = os.path.join(workdir, f"{kind}.conf")
    if kind == "haproxy":
        text = blocks["haproxy"][0]
        if module_verifies:
            verifying = next(line for line in text.splitlines() if line.strip().startswith("bind "))
            text = text.replace(verifying, blocks["haproxy"][1].rstrip("\n"))
        bundle = os.path.join(workdir, "site.pem")
        write_file(bundle, open(pki.server.cert_path).read() + open(pki.server.key_path).read(), 0o600)
        text = replaced(text, [("bind :443", f"bind 127.0.0.1:{front.port}"), ("/etc/haproxy/site.pem", bundle),
                               ("/etc/haproxy/client-ca.pem", pki.ca.cert_path),
                               ("10.0.0.20:8080", f"127.0.0.1:{backend_port}")])
        args = ["haproxy", "-db", "-f", config]
    else:
        text = blocks["nginx"][0]
        if module_verifies:
            text = replaced(text, [("ssl_verify_client on;", "ssl_verify_client optional_no_ca;")])
        text = replaced(text, [("listen 443 ssl;", f"listen 127.0.0.1:{front.port} ssl;"),
                               ("/etc/nginx/site.crt", pki.server.cert_path),
                               ("/etc/nginx/site.key", pki.server.key_path),
                               ("/etc/nginx/client-ca.pem", pki.ca.cert_path),
                               ("10.0.0.20:8080", f"127.0.0.1:{backend_port}")])
        args = ["nginx", "-c", config, "-p", workdir, "-g",
                f"daemon off; pid {workdir}/nginx.pid; error_log {workdir}/error.log;"]
    write_file(config, text)
    return front.spawn(args, kind)


def documented_httpd(kind, module_verifies, pki):
    apache = documented_blocks()["apache"][1 if module_verifies else 0]
    httpd = Httpd("")
    header = [("ArrCertHeader X-SSL-Client-Cert url-pem\n", "")] if kind == "haproxy" else []
    httpd.body = replaced(apache, [("*:8080>", f"*:{httpd.port}>"), ("10.0.0.10", "127.0.0.1")] + header +
                          ([("/etc/apache2/client-ca.pem", pki.ca.cert_path)] if module_verifies else []))
    return httpd


def through(front, pki, cert):
    """The status through the front end; "TLS" when the front end refused the handshake."""
    try:
        status, body = send(front, "/env.cgi", tls_cert=cert, cacert=pki.ca.cert_path)
    except RuntimeError:
        return "TLS", ""
    return status, body


@pytest.mark.parametrize("kind", ["haproxy", "nginx"])
@pytest.mark.parametrize("module_verifies", [False, True], ids=["front-end-verifies", "module-verifies"])
def test_documented_front_ends_run_as_written(pki, kind, module_verifies):
    alice = pki.leaf(f"doc_fe_alice_{kind}_{module_verifies}", "alice")
    stranger_ca = pki.issue(f"doc_fe_ca_{kind}_{module_verifies}", name(("O", "Contoso"), ("CN", "Other CA")), ca=True)
    stranger = pki.issue(f"doc_fe_stranger_{kind}_{module_verifies}", name(("O", "Contoso"), ("CN", "alice")),
                         issuer=stranger_ca)
    httpd = documented_httpd(kind, module_verifies, pki)
    httpd.start()
    front = start_front_end(kind, module_verifies, pki, httpd.port)
    try:
        status, body = through(front, pki, alice)
        assert status == 200, (status, body, httpd.error_log()[-2000:])
        assert json.loads(body)["SSL_CLIENT_S_DN_CN"] == "alice"
        # Another CA's certificate with the same names, and no certificate: never through.
        for cert in (stranger, None):
            status, _ = through(front, pki, cert)
            expected = {403} if module_verifies else {"TLS", 400, 403}
            assert status in expected, (cert, status)
        # A client's own header is replaced by what the front end sets (nothing, without a certificate).
        if module_verifies:
            forged = [("X-SSL-Client-Cert", alice.nginx_header)]
            assert send(front, "/env.cgi", alice, headers=forged, cacert=pki.ca.cert_path).status == 403
    finally:
        front.stop()
        httpd.stop()


# HAProxy's chain: %[ssl_c_chain_der,base64], DER certificates back to back in one base64 value ----------
def der_concat(*parts):
    return base64.b64encode(b"".join(parts)).decode()


def test_through_haproxy_with_its_chain(pki, chain, server):
    """A real HAProxy forwards the leaf and the intermediates curl presented; only the root is
    trusted, so the chain header is what lets the leaf through."""
    with running(HAProxy(pki, server.port, chain_header="X-SSL-Client-Chain")) as front:
        workdir = make_workdir("arrcert-haproxy-chain-")
        bundle = os.path.join(workdir, "alice-chain.pem")
        write_file(bundle, chain.leaf.pem + chain.lower.pem + chain.upper.pem)
        presented = type("Presented", (), {"cert_path": bundle, "key_path": chain.leaf.key_path})
        response = send(front, "/haproxy-chain/env.cgi", tls_cert=presented, cacert=pki.ca.cert_path)
        assert response.status == 200, (response.body, server.error_log()[-2000:])
        variables = json.loads(response.body)
        assert variables["SSL_CLIENT_VERIFY"] == "SUCCESS" and variables["SSL_CLIENT_S_DN_CN"] == "alice"
        assert variables["SSL_CLIENT_CERT_CHAIN_0"] == chain.lower.pem.strip() or \
            variables["SSL_CLIENT_CERT_CHAIN_0"] == chain.lower.pem
        # The leaf alone: nothing chains it to the root.
        assert send(front, "/haproxy-chain/env.cgi", tls_cert=chain.leaf, cacert=pki.ca.cert_path).status == 403


@pytest.mark.parametrize("case, reason", [
    ("truncated", "certificate 2 is truncated"),
    ("garbage between", "certificate 2 does not start with a definite-length SEQUENCE"),
    ("not a certificate", "malformed chain certificate 2: DER is not an X.509 certificate"),
    ("too many", "more than 101 certificates"),
    ("base64 items joined by ','", "chain header: invalid base64 character"),
])
def test_broken_haproxy_chains_are_refused(server, chain, case, reason):
    lower, upper = chain.lower.der, chain.upper.der
    value = {
        "truncated": der_concat(lower, upper[:-20]),
        "garbage between": der_concat(lower, b"\x00\x01", upper),
        "not a certificate": der_concat(lower, bytes([0x30, 0x03, 0x02, 0x01, 0x01])),
        "too many": der_concat(*[bytes([0x30, 0x00])] * 102),
        "base64 items joined by ','": f"{chain.b64(chain.lower)},{chain.b64(chain.upper)}",
    }[case]
    headers = [("X-ARR-ClientCert", chain.b64(chain.leaf)), ("X-SSL-Client-Chain", value)]
    response = send(server, "/haproxy-chain/env.cgi", headers=headers)
    assert response.status == 403
    assert reason in response.refusal, response.log[-1500:]
    good = [headers[0], ("X-SSL-Client-Chain", der_concat(lower, upper))]
    assert send(server, "/haproxy-chain/env.cgi", headers=good).status == 200
