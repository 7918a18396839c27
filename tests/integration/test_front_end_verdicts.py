"""What a front end says of its own check (ArrCertVerdictHeader, ArrCertFingerprintHeader, the
presets that set them): real HAProxy and nginx, and the cloud front ends' headers built as their
documentation shows them, sent from a trusted loopback peer."""
import base64
import hashlib
import urllib.parse

import pytest

from harness.client import send
from harness.pki import name
from harness.servers import HAProxy, Httpd, Nginx, free_port, location, running

UNVERIFIED = "front end did not verify the certificate"


@pytest.fixture(scope="module")
def stranger(pki):
    """A certificate no front end's CA issued."""
    root = pki.issue("v_root", name(("O", "Elsewhere"), ("CN", "Other Root")), ca=True)
    return pki.issue("v_stranger", name(("O", "Contoso"), ("CN", "alice")), issuer=root)


def rfc9440(cert):
    return f":{base64.b64encode(cert.der).decode()}:"


def sha256_hex(cert):
    return hashlib.sha256(cert.der).hexdigest()


# Each preset: the headers its front end sends for a certificate it verified (verified=True) or
# forwarded unverified, and the name of its fingerprint header (None: none, "": XFCC's Hash).
def cloudfront(cert, verified=True, fingerprint=None):
    return [("CloudFront-Viewer-Cert-Pem", urllib.parse.quote(cert.pem, safe="")),
            ("CloudFront-Viewer-Cert-Present", "1" if verified else "0"),
            ("CloudFront-Viewer-Cert-Sha256", fingerprint or sha256_hex(cert))]


def gcp(cert, verified=True, fingerprint=None):
    digest = base64.b64encode(hashlib.sha256(cert.der).digest()).decode()
    return [("X-Client-Cert-Leaf", rfc9440(cert)), ("X-Client-Cert-Present", "true"),
            ("X-Client-Cert-Chain-Verified", "true" if verified else "false"),
            ("X-Client-Cert-Hash", fingerprint or digest)] + \
        ([] if verified else [("X-Client-Cert-Error", "client_cert_validation_failed")])


def cloudflare(cert, verified=True, fingerprint=None):
    return [("Client-Cert", rfc9440(cert)), ("cf-cert-verified", "true" if verified else "false"),
            ("cf-cert-revoked", "false"), ("cf-cert-fingerprint-sha256", fingerprint or sha256_hex(cert))]


def ingress_nginx(cert, verified=True, fingerprint=None):
    return [("ssl-client-cert", urllib.parse.quote(cert.pem, safe="")),
            ("ssl-client-verify", "SUCCESS" if verified else "FAILED:unable to verify the first certificate")]


def kong(cert, verified=True, fingerprint=None):
    return [("X-Client-Cert", urllib.parse.quote(cert.pem, safe="")),
            ("X-Client-Cert-Fingerprint", fingerprint or hashlib.sha1(cert.der).hexdigest())]


def envoy(cert, verified=True, fingerprint=None):
    pem = urllib.parse.quote(cert.pem, safe="")
    return [("X-Forwarded-Client-Cert",
             f'By=spiffe://cluster.local/ns/a;Hash={fingerprint or sha256_hex(cert)};Cert="{pem}";Subject="CN=x"')]


def akamai(cert, verified=True, fingerprint=None):
    return [("Akamai-CC-DER", rfc9440(cert))]


def aws_alb_verify(cert, verified=True, fingerprint=None):
    return [("X-Amzn-Mtls-Clientcert-Leaf", cert.aws_header)]


PRESETS = {"cloudfront": cloudfront, "gcp": gcp, "cloudflare": cloudflare, "ingress-nginx": ingress_nginx,
           "kong": kong, "envoy": envoy, "akamai": akamai, "aws-alb-verify": aws_alb_verify}
WITH_VERDICT = ["cloudfront", "gcp", "cloudflare", "ingress-nginx"]
WITH_FINGERPRINT = ["cloudfront", "gcp", "cloudflare", "kong", "envoy"]
# The headers that are the front end's word, not the certificate: stripped from untrusted peers.
VERDICT_HEADERS = {"cloudfront": ["CloudFront-Viewer-Cert-Present", "CloudFront-Viewer-Cert-Sha256"],
                   "gcp": ["X-Client-Cert-Present", "X-Client-Cert-Chain-Verified", "X-Client-Cert-Hash"],
                   "cloudflare": ["cf-cert-verified", "cf-cert-revoked", "cf-cert-fingerprint-sha256"],
                   "ingress-nginx": ["ssl-client-verify"], "kong": ["X-Client-Cert-Fingerprint"]}


def cgi_name(header):
    return "HTTP_" + header.upper().replace("-", "_")


@pytest.fixture(scope="module")
def server(pki):
    body = "ArrCertTrustedProxy 127.0.0.1\n"
    for preset in PRESETS:
        reading = f"ArrCertFrontEnd {preset}"
        trust = f"ArrCertCACertificateFile {pki.ca.cert_path}"
        body += location(f"/{preset}", reading, "ArrCertVerifyClient require", trust)
        body += location(f"/{preset}-optional", reading, "ArrCertVerifyClient optional", trust)
        # The front end's verdict is reported where nothing else is checked.
        body += location(f"/{preset}-no-ca", reading, "ArrCertVerifyClient optional_no_ca", "ArrCertAcceptUnverified on",
                         "ArrCertVerdictHeader X-Never-Sent yes")
    httpd = Httpd(body)
    for preset in PRESETS:
        for path in (preset, f"{preset}-optional", f"{preset}-no-ca"):
            httpd.add_cgi(f"{path}/env.cgi")
    with running(httpd):
        yield httpd


@pytest.mark.parametrize("preset", PRESETS)
def test_verified_certificate_passes(server, pki, preset):
    alice = pki.leaf("v_alice", "alice")
    response = send(server, f"/{preset}/env.cgi", headers=PRESETS[preset](alice))
    assert response.variables["SSL_CLIENT_VERIFY"] == "SUCCESS"
    assert response.variables["SSL_CLIENT_S_DN_CN"] == "alice"


@pytest.mark.parametrize("preset", WITH_VERDICT)
def test_unverified_verdict_refuses_before_anything_else(server, pki, stranger, preset):
    alice = pki.leaf("v_alice", "alice")
    response = send(server, f"/{preset}/env.cgi", headers=PRESETS[preset](alice, verified=False))
    assert response.status == 403
    assert UNVERIFIED in response.refusal and "ARRCERT0102" in response.refusal
    assert "ARRCERT0120" in response.log
    # Even a certificate of the trusted CA: the front end's word comes first. And one of another
    # CA is refused for that first reason too, not for its chain.
    response = send(server, f"/{preset}/env.cgi", headers=PRESETS[preset](stranger, verified=False))
    assert response.status == 403 and UNVERIFIED in response.refusal


@pytest.mark.parametrize("preset", WITH_VERDICT)
def test_absent_verdict_refuses(server, pki, preset):
    alice = pki.leaf("v_alice", "alice")
    headers = [(n, v) for n, v in PRESETS[preset](alice) if n not in VERDICT_HEADERS[preset][:1]]
    response = send(server, f"/{preset}/env.cgi", headers=headers)
    assert response.status == 403 and UNVERIFIED in response.refusal


@pytest.mark.parametrize("preset", WITH_VERDICT)
def test_no_certificate_is_no_certificate(server, preset):
    # The verdict is about a certificate: without one, optional lets the request through.
    response = send(server, f"/{preset}-optional/env.cgi")
    assert response.variables["SSL_CLIENT_VERIFY"] == "NONE"


@pytest.mark.parametrize("preset", WITH_VERDICT)
def test_optional_no_ca_reports_the_front_ends_refusal(server, pki, preset):
    alice = pki.leaf("v_alice", "alice")
    env = send(server, f"/{preset}-no-ca/env.cgi", headers=PRESETS[preset](alice)).variables
    assert env["SSL_CLIENT_VERIFY"] == f"FAILED:{UNVERIFIED}"


@pytest.mark.parametrize("preset", WITH_FINGERPRINT)
def test_mismatching_fingerprint_refuses(server, pki, preset):
    alice, bob = pki.leaf("v_alice", "alice"), pki.leaf("v_bob", "bob")
    other = {"kong": hashlib.sha1(bob.der).hexdigest(),
             "gcp": base64.b64encode(hashlib.sha256(bob.der).digest()).decode()}.get(preset, sha256_hex(bob))
    response = send(server, f"/{preset}/env.cgi", headers=PRESETS[preset](alice, fingerprint=other))
    assert response.status == 403
    assert "does not match the front end's fingerprint" in response.refusal
    assert "ARRCERT0121" in response.log
    # Colons and upper case are the same fingerprint.
    if preset in ("cloudfront", "cloudflare"):
        spelled = ":".join(sha256_hex(alice)[i:i + 2] for i in range(0, 64, 2)).upper()
        assert send(server, f"/{preset}/env.cgi", headers=PRESETS[preset](alice, fingerprint=spelled)).status == 200


@pytest.mark.parametrize("preset", [p for p in WITH_FINGERPRINT if p != "envoy"])
def test_absent_fingerprint_refuses(server, pki, preset):
    alice = pki.leaf("v_alice", "alice")
    fingerprint = VERDICT_HEADERS[preset][-1]
    headers = [(n, v) for n, v in PRESETS[preset](alice) if n != fingerprint]
    response = send(server, f"/{preset}/env.cgi", headers=headers)
    assert response.status == 403 and "sent no fingerprint" in response.refusal


@pytest.mark.parametrize("preset", list(VERDICT_HEADERS))
def test_untrusted_peer_loses_verdict_and_fingerprint(server, pki, preset):
    alice = pki.leaf("v_alice", "alice")
    forged = PRESETS[preset](alice)
    response = send(server, f"/{preset}-optional/env.cgi", headers=forged, interface="127.0.0.2")
    env = response.env
    for header in VERDICT_HEADERS[preset]:
        assert cgi_name(header) not in env, header
    assert env["SSL_CLIENT_VERIFY"] == "NONE"
    assert send(server, f"/{preset}/env.cgi", headers=forged, interface="127.0.0.2").status == 403


# Real front ends ------------------------------------------------------------------------------------
def backend(pki, *lines):
    httpd = Httpd("ArrCertTrustedProxy 127.0.0.1\n<Location /app>\n" + "\n".join(lines) + """
        ArrCertVerifyClient require
        ArrCertAcceptUnverified on
        </Location>
        """)
    httpd.add_cgi("app/env.cgi")
    return httpd


def test_haproxy_ssl_c_verify(pki, stranger):
    # verify optional with every error ignored: HAProxy forwards what it could not verify, and
    # says so in ssl_c_verify (0: verified).
    httpd = backend(pki, "ArrCertHeader X-SSL-Client-Cert der-base64", "ArrCertVerdictHeader X-SSL-Client-Verify 0")
    front = HAProxy(pki, httpd.port, header="X-SSL-Client-Cert",
                    extra=["http-request set-header X-SSL-Client-Verify %[ssl_c_verify] if { ssl_c_used }"])
    with running(httpd), running(front):
        alice = pki.leaf("v_haproxy", "alice")
        response = send(front, "/app/env.cgi", tls_cert=alice, cacert=pki.ca.cert_path)
        assert response.status == 200, response.body
        assert response.env["SSL_CLIENT_S_DN_CN"] == "alice"
        assert response.env["HTTP_X_SSL_CLIENT_VERIFY"] == "0"
        status, body = send(front, "/app/env.cgi", tls_cert=stranger, cacert=pki.ca.cert_path)
        assert status == 403, body
        log = httpd.error_log()
        assert UNVERIFIED in log and "X-SSL-Client-Verify is \"" in log
        # A client that forges the verdict through HAProxy: HAProxy's own value replaces it.
        forged = send(front, "/app/env.cgi", tls_cert=stranger, cacert=pki.ca.cert_path,
                      headers=[("X-SSL-Client-Verify", "0")])
        assert forged.status == 403


def test_nginx_as_ingress_nginx(pki, stranger):
    httpd = backend(pki, "ArrCertFrontEnd ingress-nginx")
    front = Nginx(pki, httpd.port, header="ssl-client-cert", extra=[("ssl-client-verify", "$ssl_client_verify")])
    with running(httpd), running(front):
        alice = pki.leaf("v_nginx", "alice")
        response = send(front, "/app/env.cgi", tls_cert=alice, cacert=pki.ca.cert_path)
        assert response.status == 200, response.body
        assert response.env["HTTP_SSL_CLIENT_VERIFY"] == "SUCCESS"
        status, body = send(front, "/app/env.cgi", tls_cert=stranger, cacert=pki.ca.cert_path)
        assert status == 403, body
        log = httpd.error_log()
        assert UNVERIFIED in log and 'ssl-client-verify is "FAILED:' in log


# Start-up -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["aws-alb", "envoy", "gcp", "cloudflare", "ingress-nginx", "akamai"])
def test_accept_unverified_behind_a_passthrough_front_end_needs_a_verdict(preset):
    httpd = Httpd("")
    lines = f"ArrCertFrontEnd {preset}\nArrCertVerifyClient require\nArrCertAcceptUnverified on\n"
    if preset in WITH_VERDICT:
        assert httpd.configtest(f"<Location /x>\n{lines}</Location>\n")[0] == 0
        lines += "ArrCertVerdictHeader none\n"
    httpd.refuses(f"<Location /x>\n{lines}</Location>\n", "can forward certificates it did not verify")
    status, output = httpd.configtest(f"<Location /x>\n{lines}</Location>\n")
    assert "ArrCertVerdictHeader NAME VALUE" in output and f"ArrCertFrontEnd {preset}" in output
    # Naming the verdict header is the fix.
    assert httpd.configtest(f"<Location /x>\n{lines}ArrCertVerdictHeader X-Verified yes\n</Location>\n")[0] == 0


@pytest.mark.parametrize("preset", ["aws-alb-verify", "cloudfront", "kong"])
def test_accept_unverified_behind_a_verifying_front_end_starts(preset):
    lines = f"ArrCertFrontEnd {preset}\nArrCertVerifyClient require\nArrCertAcceptUnverified on\n"
    status, output = Httpd("").configtest(f"<Location /x>\n{lines}</Location>\n")
    assert status == 0, output


def test_explicit_verdict_lines_replace_the_presets(pki):
    httpd = Httpd(f"""
        <Location /x>
            ArrCertFrontEnd ingress-nginx
            ArrCertVerdictHeader X-Checked yes ok
            ArrCertVerdictHeader X-Error ""
            ArrCertVerifyClient require
            ArrCertCACertificateFile {pki.ca.cert_path}
        </Location>
        """)
    httpd.add_cgi("x/env.cgi")
    with running(httpd):
        alice = pki.leaf("v_alice", "alice")
        cert = [("ssl-client-cert", alice.nginx_header)]
        assert send(httpd, "/x/env.cgi", headers=cert + [("X-Checked", "OK")]).status == 200
        assert send(httpd, "/x/env.cgi", headers=cert + [("X-Checked", "yes"), ("X-Error", "")]).status == 200
        assert send(httpd, "/x/env.cgi", headers=cert + [("X-Checked", "yes"), ("X-Error", "bad")]).status == 403
        assert send(httpd, "/x/env.cgi", headers=cert + [("ssl-client-verify", "SUCCESS")]).status == 403


# Relays -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("relay", ["front-end", "none"])
def test_relay_carries_the_front_ends_verdict_or_none(pki, relay):
    back = free_port()
    httpd = Httpd("")
    reader = [f"ArrCertFrontEnd ingress-nginx\nArrCertCACertificateFile {pki.ca.cert_path}",
              f"ArrCertVerifyClient optional\nDocumentRoot {httpd.docroot}"]
    # What a module of this httpd sets is never what the back end judges.
    relay_lines = [f"ProxyPass /b/ http://127.0.0.1:{back}/", "RequestHeader set ssl-client-verify SUCCESS",
                   f"ArrCertRelayHeaders {relay}"]
    httpd.body = "\n".join(["ArrCertTrustedProxy 127.0.0.1", f"Listen 127.0.0.1:{back}",
                             f"<VirtualHost 127.0.0.1:{back}>", *reader, "</VirtualHost>",
                             f"<VirtualHost 127.0.0.1:{httpd.port}>", *relay_lines, "</VirtualHost>", ""])
    httpd.modules = ["proxy_module mod_proxy.so", "proxy_http_module mod_proxy_http.so",
                     "headers_module mod_headers.so"]
    httpd.add_cgi("env.cgi")
    with running(httpd):
        alice = pki.leaf("v_alice", "alice")
        sent = ingress_nginx(alice, verified=False)
        response = send(httpd, "/b/env.cgi", headers=sent)
        if relay == "front-end":
            assert response.status == 403
            assert UNVERIFIED in httpd.error_log()
        else:
            env = response.env
            assert "HTTP_SSL_CLIENT_VERIFY" not in env and "HTTP_SSL_CLIENT_CERT" not in env
            assert env["SSL_CLIENT_VERIFY"] == "NONE"


def test_cloudflare_never_reads_its_first_request_header(server, pki):
    # Cf-Client-Cert-Der-Base64 comes only with a connection's first request: the preset reads the
    # RFC 9440 pair, so a request with only that header has no certificate.
    alice = pki.leaf("v_alice", "alice")
    headers = [("Cf-Client-Cert-Der-Base64", alice.azure_header)] + cloudflare(alice)[1:]
    response = send(server, "/cloudflare/env.cgi", headers=headers)
    assert response.status == 403
    assert "no client certificate in Client-Cert" in response.log
