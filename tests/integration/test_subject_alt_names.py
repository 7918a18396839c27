"""Identity beyond the DN: ArrCertSubjectAltName and Require arrcert-san, with every SAN kind, through a
real HAProxy (TLS from curl) and through generated XFCC, and the ARRCERT_SAN_* variables."""
import urllib.parse

import pytest

from harness.client import send
from harness.pki import Cert, certificate_set
from harness.servers import HAProxy, Httpd, running

SRV_NAME = "1.3.6.1.5.5.7.8.7"


certs = certificate_set(
    "san",
    svc=Cert("svc", uris=["spiffe://prod.example/ns/payments/sa/api"]),
    two_spiffe=Cert("two_spiffe", uris=["spiffe://prod.example/ns/payments/sa/a",
                                        "spiffe://prod.example/ns/payments/sa/b"]),
    other_ns=Cert("other_ns", uris=["spiffe://prod.example/ns/payroll/sa/api", "https://id.example/x"]),
    device=Cert("device", ips=["192.0.2.7", "2001:db8::1:0:0:1"]),
    mapped=Cert("mapped", ips=["::ffff:192.0.2.7"]),
    wild=Cert("wild", dns=["*.Example.com"]),
    host=Cert("host", dns=["API.Example.COM"]),
    person=Cert("person", emails=["Zoe@example.com"], upns=["zoe@corp.example"]),
    # An otherName that is not a UPN, holding what a UPN rule asks for.
    not_upn=Cert("not_upn", other_names=[(SRV_NAME, bytes([0x16, 16]) + b"zoe@corp.example")]),
    none="none",
)


RULES = {
    "/spiffe-ns": 'ArrCertSubjectAltName "uri:spiffe://prod.example/ns/payments/*"',
    "/uri-exact": "ArrCertSubjectAltName uri:https://id.example/x",
    "/ip4": "ArrCertSubjectAltName ip:192.0.2.0/24",
    "/ip6": "ArrCertSubjectAltName ip:2001:db8::/32",
    "/mapped": "ArrCertSubjectAltName ip:::ffff:192.0.2.0/120",
    "/dns-wild": "ArrCertSubjectAltName dns:*.example.com",
    "/dns-exact": "ArrCertSubjectAltName dns:api.example.com",
    "/email": "ArrCertSubjectAltName email:Zoe@example.com",
    "/upn": "ArrCertSubjectAltName upn:zoe@corp.example",
    # Any listed value, on one line or several; AND with the other rules.
    "/any": "ArrCertSubjectAltName upn:nobody@corp.example ip:10.0.0.0/8\nArrCertSubjectAltName dns:api.example.com",
    "/and-subject": 'ArrCertSubjectAltName dns:api.example.com\nArrCertSubject "CN=wild"',
    "/and-subject-too": 'ArrCertSubjectAltName dns:api.example.com\nArrCertSubject "CN=host"',
}

PROVIDERS = {
    "/require-spiffe": "Require arrcert-san uri:spiffe://prod.example/ns/payments/*",
    "/require-any": "Require arrcert-san ip:198.51.100.0/24 email:Zoe@example.com",
}

# path -> the certificates let through; every other certificate is refused.
ALLOWED = {
    "/spiffe-ns": {"svc", "two_spiffe"},
    "/uri-exact": {"other_ns"},
    "/ip4": {"device"},
    "/ip6": {"device"},
    "/mapped": {"mapped"},
    # A '*' in the certificate is text: "*.Example.com" is one label ("*") under example.com, so it
    # passes the one-label rule as any label would, and never stands for api.example.com.
    "/dns-wild": {"host", "wild"},
    "/dns-exact": {"host"},
    "/email": {"person"},
    "/upn": {"person"},
    "/any": {"host"},
    "/and-subject": set(),
    "/and-subject-too": {"host"},
    "/require-spiffe": {"svc", "two_spiffe"},
    "/require-any": {"person"},
}


@pytest.fixture(scope="module")
def server(pki):
    body = f"ArrCertCACertificateFile {pki.ca.cert_path}\n"
    for path, rule in RULES.items():
        body += f"<Location {path}>\nArrCertVerifyClient require\n{rule}\n</Location>\n"
    for path, line in PROVIDERS.items():
        body += f"<Location {path}>\n{line}\n</Location>\n"
    body += "<Location /vars>\nArrCertVerifyClient require\n</Location>\n"
    httpd = Httpd(body)
    for path in list(RULES) + list(PROVIDERS) + ["/vars"]:
        httpd.add_cgi(f"{path.lstrip('/')}/env.cgi")
    httpd.start()
    front = HAProxy(pki, httpd.port).start()
    yield httpd, front
    front.stop()
    httpd.stop()


def xfcc(cert, uri="spiffe://prod.example/ns/payments/sa/api", dns="api.example.com"):
    # The front end's URI= and DNS= fields are informational: the certificate decides.
    return [("X-Forwarded-Client-Cert",
             f'Hash={cert.sha256.lower()};Cert="{urllib.parse.quote(cert.pem, safe="")}";URI={uri};DNS={dns};Subject="CN=x"')]


@pytest.mark.parametrize("path", sorted(ALLOWED))
def test_rules_and_providers_through_haproxy(server, certs, pki, path):
    _, front = server
    for label, cert in certs.items():
        status, _ = send(front, f"{path}/env.cgi", tls_cert=cert, cacert=pki.ca.cert_path)
        assert status == (200 if label in ALLOWED[path] else 403), (path, label)


def test_xfcc_fields_do_not_stand_for_the_certificate(pki, certs):
    body = f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        ArrCertFrontEnd envoy
        <Location /spiffe-ns>
            ArrCertVerifyClient require
            ArrCertSubjectAltName "uri:spiffe://prod.example/ns/payments/*"
        </Location>
        <Location /dns-exact>
            ArrCertVerifyClient require
            ArrCertSubjectAltName dns:api.example.com
        </Location>
        """
    httpd = Httpd(body)
    httpd.add_cgi("spiffe-ns/env.cgi")
    httpd.add_cgi("dns-exact/env.cgi")
    with running(httpd):
        for path, good in (("/spiffe-ns", "svc"), ("/dns-exact", "host")):
            env = send(httpd, f"{path}/env.cgi", headers=xfcc(certs[good])).env
            assert env["SSL_CLIENT_VERIFY"] == "SUCCESS"
            # The XFCC fields claim what the rule wants; the certificate does not hold it.
            assert send(httpd, f"{path}/env.cgi", headers=xfcc(certs["none"])).status == 403
        env = send(httpd, "/spiffe-ns/env.cgi", headers=xfcc(certs["svc"], uri="spiffe://evil/x")).env
        assert env["ARRCERT_SPIFFE_ID"] == "spiffe://prod.example/ns/payments/sa/api"


def test_variables(server, certs, pki):
    _, front = server

    def env(label):
        return send(front, "/vars/env.cgi", tls_cert=certs[label], cacert=pki.ca.cert_path).env

    svc = env("svc")
    assert svc["ARRCERT_SAN_URI_0"] == "spiffe://prod.example/ns/payments/sa/api"
    assert svc["ARRCERT_SPIFFE_ID"] == "spiffe://prod.example/ns/payments/sa/api"
    two = env("two_spiffe")
    assert two["ARRCERT_SAN_URI_1"] == "spiffe://prod.example/ns/payments/sa/b"
    assert "ARRCERT_SPIFFE_ID" not in two  # an X.509-SVID holds exactly one
    device = env("device")
    assert (device["ARRCERT_SAN_IP_0"], device["ARRCERT_SAN_IP_1"]) == ("192.0.2.7", "2001:db8::1:0:0:1")
    assert env("mapped")["ARRCERT_SAN_IP_0"] == "::ffff:192.0.2.7"
    person = env("person")
    assert person["SSL_CLIENT_SAN_Email_0"] == "Zoe@example.com"
    assert person["SSL_CLIENT_SAN_OTHER_msUPN_0"] == "zoe@corp.example"
    assert "SSL_CLIENT_SAN_OTHER_msUPN_0" not in env("not_upn")
    assert env("wild")["SSL_CLIENT_SAN_DNS_0"] == "*.Example.com"
    # mod_ssl's names carry no URI or IP.
    assert not any(k.startswith("SSL_CLIENT_SAN_") for k in device)


@pytest.mark.parametrize("line,message", [
    ("ArrCertSubjectAltName dns:a.*.example", "whole first label"),
    ("ArrCertSubjectAltName host:a.example", "unknown type 'host'"),
    ("ArrCertSubjectAltName dns:", "empty value"),
    ("ArrCertSubjectAltName ip:192.0.2.1/24", "bits set beyond"),
    ("ArrCertSubjectAltName ip:300.0.0.1", "not an IPv4 or IPv6 address"),
    ('ArrCertSubjectAltName "uri:spiffe://*/x"', "may only end"),
    ("Require arrcert-san email:*@example.com", "no wildcard"),
    ("Require arrcert-san", "need at least one value"),
])
def test_bad_values_stop_start_up(pki, line, message):
    httpd = Httpd("")
    status, output = httpd.configtest(f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        <Location /x>
            ArrCertVerifyClient require
            {line}
        </Location>
        """)
    assert status != 0
    assert message in output, output
    directive = line.split()[0] if line.startswith("ArrCert") else "arrcert-san"
    assert directive in output, output
