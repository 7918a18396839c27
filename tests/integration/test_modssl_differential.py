"""mod_ssl is the oracle: for the same certificate, mod_arrcert exports the same SSL_CLIENT_* values.

A real mod_ssl vhost verifies the certificate that curl presents over TLS; the same certificate,
sent as Azure sends it, goes through mod_arrcert. Both dump their CGI environment.
"""
import base64
import datetime
import json
import subprocess
import urllib.parse

import pytest
from cryptography import x509
from cryptography.x509.name import _ASN1Type
from cryptography.x509.oid import NameOID

from harness.pki import name, now
from harness.client import send
from harness.servers import MOD_SSL, Httpd, free_port, tls_vhost

EVERY_ATTRIBUTE = [f"2.5.4.{n}" for n in (3, 4, 7, 8, 9, 10, 11, 12, 13, 15, 17, 18, 19, 20, 41, 42, 43, 44, 51,
                                             54, 65, 72)] + [
    "C", "2.5.4.5", "2.5.4.46",  # PrintableString
    "0.9.2342.19200300.100.1.1", "0.9.2342.19200300.100.1.25", "0.9.2342.19200300.100.1.3",  # UID, DC, mail
    "1.2.840.113549.1.9.1", "1.2.840.113549.1.9.2",  # emailAddress, unstructuredName
    "1.3.6.1.4.1.311.60.2.1.1", "1.3.6.1.4.1.311.60.2.1.2", "1.3.6.1.4.1.311.60.2.1.3", "2.5.4.97"]

CERTIFICATES = {
    # RSA; escaped comma; repeated OUs; emailAddress in the DN; every SAN type; a 20-byte serial.
    "rsa_rich": dict(
        key="rsa",
        subject=name(("C", "CH"), ("ST", "Zürich"), ("L", "Zürich"), ("O", "Contoso, Ltd"), ("OU", "Eng"),
                     ("OU", "Ops"), ("OU", "Web"), ("CN", "Doe, John"), ("Email", "john@example.com")),
        serial=0x7FEEDDCCBBAA99887766554433221100FFEEDDCC,
        dns=["a.example", "b.example"], emails=["john@example.com", "j.doe@example.com"],
        upns=["john@corp.example"], uris=["https://id.example/john"], ips=["192.0.2.7"]),
    # ECDSA; UTF-8 everywhere; a multi-valued RDN; title, initials, given name, surname, description.
    "ec_utf8": dict(
        key="ec",
        subject=name(("DC", "example"), ("O", "株式会社テスト"), ("OU", "R&D"),
                     [("CN", "Zoë Ünïcödé"), ("UID", "zoe")], ("T", "Dr"), ("I", "Z"), ("G", "Zoë"),
                     ("SN", "Müller"), ("D", "desc; with = signs")),
        serial=0x01),
    # Ed25519; notAfter after 2049 (GeneralizedTime); RFC 2253 specials that need escaping.
    "ed25519_2055": dict(
        key="ed25519",
        subject=name(("O", "Contoso"), ("OU", "a+b=c<d>"), ("OU", '#lead "quoted";semi\\back'),
                     ("CN", " padded ")),
        not_after=datetime.datetime(2055, 6, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)),
    # Every string attribute OpenSSL names (X.520, RFC 4519, PKCS #9, EV's jurisdiction), twice: the
    # exported set is mod_ssl's table, not the attributes these cases happen to hold.
    "every_attribute": dict(key="ec", subject=name(*[(oid, value) for oid in EVERY_ATTRIBUTE for value in ("x1", "x2")])),
    # The least a certificate can carry.
    "minimal": dict(key="ec", subject=name(("CN", "m"))),
}


@pytest.fixture(scope="module")
def servers(pki):
    ssl_port = free_port()
    httpd = Httpd(f"""
        <Location /arrcert>
            ArrCertVerifyClient optional_no_ca
            ArrCertAcceptUnverified on
            ArrCertCACertificateFile {pki.ca.cert_path}
            ArrCertOptions +StdEnvVars +ExportCertData
        </Location>
        """ + tls_vhost(pki, ssl_port, "optional", "SSLVerifyDepth 3", "SSLOptions +StdEnvVars +ExportCertData"),
                  modules=MOD_SSL)
    httpd.add_cgi("arrcert/env.cgi")
    httpd.start()
    yield httpd, ssl_port
    httpd.stop()


def ssl_client(env):
    return {k: v for k, v in env.items() if k.startswith("SSL_CLIENT_")}


@pytest.mark.parametrize("label", sorted(CERTIFICATES))
def test_same_variables_as_mod_ssl(pki, servers, label):
    httpd, ssl_port = servers
    spec = dict(CERTIFICATES[label])
    subject = spec.pop("subject")
    leaf = pki.issue(f"diff_{label}", subject, issuer=pki.ca, **spec)

    oracle = ssl_client(send(f"https://localhost:{ssl_port}", "/env.cgi", tls_cert=leaf, cacert=pki.ca.cert_path).env)
    ours_env = send(httpd, "/arrcert/env.cgi", leaf).env
    ours = ssl_client(ours_env)

    # curl's OpenSSL completes the chain from --cacert and sends the CA too, so mod_ssl exports it
    # as SSL_CLIENT_CERT_CHAIN_0; Azure forwards the leaf only. Set aside, after checking that it is.
    chain = {k: oracle.pop(k) for k in list(oracle) if k.startswith("SSL_CLIENT_CERT_CHAIN_")}
    assert set(chain.values()) <= {pki.ca.pem}
    assert oracle["SSL_CLIENT_VERIFY"] == "SUCCESS"
    assert "SSL_CLIENT_CERT" in oracle and "SSL_CLIENT_S_DN" in oracle
    assert ours == oracle
    assert ours_env["ARRCERT_THUMBPRINT"] == leaf.sha1
    assert ours_env["ARRCERT_THUMBPRINT_SHA256"] == leaf.sha256


def test_no_certificate_is_none_as_in_mod_ssl(pki, servers):
    httpd, ssl_port = servers
    oracle = ssl_client(send(f"https://localhost:{ssl_port}", "/env.cgi", cacert=pki.ca.cert_path).env)
    ours = ssl_client(send(httpd, "/arrcert/env.cgi").env)
    assert oracle == {"SSL_CLIENT_VERIFY": "NONE", "SSL_CLIENT_CERT": ""}
    assert ours == oracle


def test_expired_days_remaining_is_zero(pki, servers):
    httpd, _ = servers
    leaf = pki.leaf("diff_expired", not_before=now() - datetime.timedelta(days=10),
                    not_after=now() - datetime.timedelta(days=2))
    ours = ssl_client(send(httpd, "/arrcert/env.cgi", leaf).env)
    assert ours["SSL_CLIENT_V_REMAIN"] == "0"
    assert ours["SSL_CLIENT_VERIFY"] == "FAILED:certificate has expired"


# --- The chain, and names read by lookup rather than from the environment ---------------------

SRV_NAME = "1.3.6.1.5.5.7.8.7"  # RFC 4985 SRVName, an IA5String


@pytest.fixture(scope="module")
def chain(pki, tmp_path_factory):
    root = pki.issue("d_root", name(("O", "Contoso"), ("CN", "Diff Root")), ca=True)
    upper = pki.issue("d_upper", name(("O", "Contoso"), ("CN", "Diff Upper")), issuer=root, ca=True)
    lower = pki.issue("d_lower", name(("O", "Contoso"), ("CN", "Diff Lower")), issuer=upper, ca=True)
    bmp = x509.NameAttribute(NameOID.COMMON_NAME, "Zoë BMP", _ASN1Type.BMPString)
    subject = x509.Name([x509.RelativeDistinguishedName([a]) for a in (
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CH"), x509.NameAttribute(NameOID.STATE_OR_PROVINCE_NAME, "ZH"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Eng"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Ops"),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "Web"), bmp)])
    srv = b"_ldap._tcp.example"
    leaf = pki.issue("d_leaf", subject, issuer=lower, dns=["a.example", "b.example"], upns=["zoe@corp.example"],
                     other_names=[(SRV_NAME, bytes([0x16, len(srv)]) + srv)])
    sent = tmp_path_factory.mktemp("chain") / "leaf-and-intermediates.crt"
    sent.write_text(leaf.pem + lower.pem + upper.pem)
    anchors = tmp_path_factory.mktemp("anchors") / "anchors.crt"
    anchors.write_text(pki.ca.pem + root.pem)
    return dict(root=root, upper=upper, lower=lower, leaf=leaf, sent=str(sent), anchors=str(anchors))


# mod_ssl's lookup grammar (ssl_var_lookup): case, aliases, _RAW, indexes, names only a lookup knows.
LOOKUPS = [
    "SSL_CLIENT_S_DN_CN", "SSL_CLIENT_S_DN_CN_RAW", "SSL_CLIENT_S_DN_CN_0", "SSL_CLIENT_S_DN_CN_",
    "SSL_CLIENT_S_DN_SP", "SSL_CLIENT_S_DN_ST_RAW", "SSL_CLIENT_S_DN_OU_2", "SSL_CLIENT_S_DN_OU_02",
    "SSL_CLIENT_S_DN_OU_3", "SSL_CLIENT_S_DN_cn", "SSL_CLIENT_s_DN_CN", "ssl_client_S_dn_CN", "SSL_CLIENT_I_DN_CN",
    "SSL_CLIENT_I_DN_O_RAW", "SSL_CLIENT_SAN_dns_1", "SSL_CLIENT_SAN_DNS_0001", "SSL_CLIENT_SAN_DNS_2",
    "SSL_CLIENT_SAN_DNS_", "SSL_CLIENT_SAN_DNS_12345", "SSL_CLIENT_SAN_OTHER_msUPN_0", "SSL_CLIENT_SAN_other_msUPN_0",
    "SSL_CLIENT_SAN_OTHER_MSUPN_0", "SSL_CLIENT_SAN_OTHER_dnsSRV_0", "SSL_CLIENT_cert_chain_1",
    "SSL_CLIENT_CERT_CHAIN_2", "SSL_CLIENT_CERT_CHAIN_", "ssl_client_verify", "SSL_CLIENT_m_serial",
    "SSL_CLIENT_CERT_RFC4523_CEA", "SSL_CLIENT_S_DN_SerialNumber", "SSL_CLIENT_A_KEY", "SSL_CLIENT_V_Remain",
]


@pytest.fixture(scope="module")
def chain_servers(pki, chain):
    ssl_port = free_port()
    lookups = "\n".join(f'RequestHeader set X-Lookup-{i} "%{{{n}}}s"' for i, n in enumerate(LOOKUPS))
    body = ""
    for preset in ("envoy", "traefik", "aws-alb", "rfc9440", "pem-chain"):
        front = ("ArrCertHeader X-Leaf der-base64\n ArrCertChainHeader X-Chain" if preset == "pem-chain"
                 else f"ArrCertFrontEnd {preset}")
        body += f"""
        <Location /{preset}>
            {front}
            ArrCertVerifyClient require
            ArrCertCACertificateFile {chain['root'].cert_path}
            ArrCertOptions +StdEnvVars +ExportCertData
            {lookups}
        </Location>
        """
    httpd = Httpd(body + tls_vhost(pki, ssl_port, "require", "SSLVerifyDepth 4",
                                   f"SSLCACertificateFile {chain['anchors']}",
                                   "SSLOptions +StdEnvVars +ExportCertData", lookups),
                  modules=MOD_SSL + ["headers_module mod_headers.so"])
    for preset in ("envoy", "traefik", "aws-alb", "rfc9440", "pem-chain"):
        httpd.add_cgi(f"{preset}/env.cgi")
    httpd.add_cgi("env.cgi")
    httpd.start()
    yield httpd, ssl_port
    httpd.stop()


def oracle_env(chain, ssl_port):
    run = subprocess.run(["curl", "-sS", "--max-time", "20", "--cert", chain["sent"], "--key", chain["leaf"].key_path,
                          "--cacert", chain["anchors"], f"https://localhost:{ssl_port}/env.cgi"],
                         capture_output=True, text=True, timeout=30, check=True)
    return json.loads(run.stdout)


def preset_headers(chain, preset):
    """The headers each preset's front end sends for the chain."""
    leaf, lower, upper = chain["leaf"], chain["lower"], chain["upper"]
    b64 = lambda c: base64.b64encode(c.der).decode()  # noqa: E731
    if preset == "envoy":  # Envoy's Chain holds the leaf too
        pem = urllib.parse.quote(leaf.pem + lower.pem + upper.pem, safe="")
        return [("X-Forwarded-Client-Cert",
                 f'Hash={leaf.sha256.lower()};Cert="{urllib.parse.quote(leaf.pem, safe="")}";Chain="{pem}";Subject="CN=x"')]
    if preset == "traefik":
        return [("X-Forwarded-Tls-Client-Cert", ",".join(b64(c) for c in (leaf, lower, upper)))]
    if preset == "aws-alb":
        return [("X-Amzn-Mtls-Clientcert", urllib.parse.quote(leaf.pem + lower.pem + upper.pem, safe="+/="))]
    if preset == "rfc9440":
        return [("Client-Cert", f":{b64(leaf)}:"), ("Client-Cert-Chain", f":{b64(lower)}:, :{b64(upper)}:")]
    return [("X-Leaf", b64(leaf)), ("X-Chain", (lower.pem + upper.pem).replace("\n", " "))]


@pytest.mark.parametrize("preset", ["envoy", "traefik", "aws-alb", "rfc9440", "pem-chain"])
def test_chain_and_lookups_as_mod_ssl(chain, chain_servers, preset):
    httpd, ssl_port = chain_servers
    oracle = oracle_env(chain, ssl_port)
    ours = send(httpd, f"/{preset}/env.cgi", headers=preset_headers(chain, preset)).env

    def chain_of(env):
        return {k: v for k, v in env.items() if k.startswith("SSL_CLIENT_CERT_CHAIN_")}

    # mod_ssl exports what the client sent after its leaf, in that order; so does the module.
    assert chain_of(oracle) == {"SSL_CLIENT_CERT_CHAIN_0": chain["lower"].pem,
                                "SSL_CLIENT_CERT_CHAIN_1": chain["upper"].pem}
    assert chain_of(ours) == chain_of(oracle)
    assert ssl_client(ours) == ssl_client(oracle)

    def lookups(env):
        return {LOOKUPS[i]: env.get(f"HTTP_X_LOOKUP_{i}") for i in range(len(LOOKUPS))}

    expected = lookups(oracle)
    # The test means something: raw and converted differ, an alias and a lookup-only SAN answer.
    assert expected["SSL_CLIENT_S_DN_CN_RAW"] != expected["SSL_CLIENT_S_DN_CN"]
    assert expected["SSL_CLIENT_S_DN_SP"] == "ZH" and expected["SSL_CLIENT_SAN_OTHER_dnsSRV_0"] == "_ldap._tcp.example"
    assert expected["SSL_CLIENT_S_DN_cn"] == "(null)"
    assert lookups(ours) == expected
