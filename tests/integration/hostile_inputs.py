"""The table of hostile and broken inputs (reliability issue): each with the answer the server must
give and why. Built from real certificates of the test PKI by re-encoding, cutting and re-signing."""
import base64
import datetime
import urllib.parse
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from harness.forged import forged_chain, url_encoded_pem
from harness.pki import name, now


@dataclass
class Hostile:
    label: str
    value: str           # the X-ARR-ClientCert header value as sent ("" sends an empty header)
    status: int          # the answer it must get
    why: str
    path: str = "/any/"  # /any/: require + the CA; /alice/: also ArrCertSubject "CN=alice"


# DER -----------------------------------------------------------------------------------------
def der_length(n):
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def tlv(tag, content):
    return bytes([tag]) + der_length(len(content)) + content


def read_tlv(data, offset=0):
    """(tag, start of content, end of content) of the element at offset."""
    tag, first = data[offset], data[offset + 1]
    if first < 0x80:
        return tag, offset + 2, offset + 2 + first
    count = first & 0x7F
    length = int.from_bytes(data[offset + 2:offset + 2 + count], "big")
    start = offset + 2 + count
    return tag, start, start + length


def children(data):
    """The elements inside a constructed element's content, as bytes."""
    items, offset = [], 0
    while offset < len(data):
        _, start, end = read_tlv(data, offset)
        items.append(data[offset:end])
        offset = end
    return items


def parts(der):
    """(tbs, signature algorithm, signature) of a certificate."""
    _, start, end = read_tlv(der)
    return children(der[start:end])


def content(element):
    _, start, end = read_tlv(element)
    return element[start:end]


def sign_tbs(tbs, issuer_key):
    """A certificate from a (possibly altered) TBS, signed by the issuer's EC key."""
    algorithm = tlv(0x30, tlv(0x06, bytes.fromhex("2a8648ce3d040302")))  # ecdsa-with-SHA256
    signature = issuer_key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return tlv(0x30, tbs + algorithm + tlv(0x03, b"\x00" + signature))


def with_tbs_field(der, index, replacement, issuer_key):
    fields = children(content(parts(der)[0]))
    fields[index] = replacement
    return sign_tbs(tlv(0x30, b"".join(fields)), issuer_key)


def b64(der):
    return base64.b64encode(der).decode()


# Certificates ----------------------------------------------------------------------------------
def leaf(ca, subject=None, days=(-1, 30), extensions=(), eku=ExtendedKeyUsageOID.CLIENT_AUTH, signer=None):
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder()
               .subject_name(subject or name(("O", "Contoso"), ("CN", "alice")))
               .issuer_name(ca.cert.subject)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now() + datetime.timedelta(days=days[0]))
               .not_valid_after(now() + datetime.timedelta(days=days[1]))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True))
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer or ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def replace_in_tbs(der, old, new, ca):
    tbs = parts(der)[0]
    assert len(old) == len(new) and tbs.count(old) == 1
    return sign_tbs(tbs.replace(old, new), ca.key)


def table(pki):
    ca = pki.ca
    good = leaf(ca)
    good64 = b64(good)
    tbs, algorithm, signature = parts(good)
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(good64[i:i + 64] for i in range(0, len(good64), 64)) + \
          "\n-----END CERTIFICATE-----\n"
    impostor_ca_key = ec.generate_private_key(ec.SECP256R1())
    placeholder = name(("O", "Contoso"), ("CN", "PLACEHOLDER-CN"))
    with_placeholder = leaf(ca, subject=placeholder)
    fields = children(content(tbs))
    serial_index = 1
    not_before, not_after = children(content(fields[4]))
    bad_validity = tlv(0x30, not_before[:2] + b"AB" + not_before[4:] + not_after)
    nested = b"\x30\x80" * 1400 + b"\x00\x00" * 1400
    deep = b""
    for _ in range(1000):
        deep = tlv(0x30, deep)
    issuer_long_form = bytes([0x30, 0x81, len(content(fields[3]))]) + content(fields[3])
    crl = (x509.CertificateRevocationListBuilder().issuer_name(ca.cert.subject)
           .last_update(now()).next_update(now() + datetime.timedelta(days=1))
           .sign(ca.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    csr = (x509.CertificateSigningRequestBuilder().subject_name(placeholder)
           .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256()).public_bytes(serialization.Encoding.DER))
    public_key = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    huge_subject = name(("O", "Contoso"), *[("OU", f"unit-{i:03d}-" + "x" * 20) for i in range(60)], ("CN", "alice"))

    rows = [
        # The header's encoding ------------------------------------------------------------------
        Hostile("control: a good certificate", good64, 200, "the CA signed it; every rule passes"),
        Hostile("control: optional whitespace around the value", f"  {good64}\t", 200,
                "RFC 9110: whitespace around a field value is not part of it (httpd strips it)"),
        Hostile("empty header", "", 403, "no certificate under require"),
        Hostile("only spaces", "    ", 403, "no certificate under require"),
        Hostile("not base64", "@@@@!!!!", 403, "not base64, PEM or any known format"),
        Hostile("base64 with wrong padding", good64 + "=", 403, "padding beyond the data: not base64"),
        Hostile("base64url alphabet", good64.replace("+", "-").replace("/", "_") + "-_", 403,
                "a different alphabet is not the header's base64"),
        Hostile("tab inside the base64", good64[:40] + "\t" + good64[40:], 200,
                "the base64 decoder skips whitespace (as PEM and MIME do): the bytes are the same certificate"),
        Hostile("space inside the base64", good64[:40] + " " + good64[40:], 200,
                "as above: the decoded DER is exactly the signed certificate"),
        Hostile("DEL character inside", good64[:40] + "\x7f" + good64[40:], 400,
                "httpd refuses control characters in a field value before any module runs"),
        Hostile("a control character (0x01) inside", good64[:40] + "\x01" + good64[40:], 400,
                "as above"),
        Hostile("two certificates glued", good64 + good64, 403,
                "the base64 of two certificates is not one DER certificate"),
        Hostile("percent-encoded base64", good64.replace("+", "%2B").replace("/", "%2F"), 200,
                "ArrCertHeader's automatic format reads URL-encoded base64 (some front ends send it); "
                "the same certificate"),
        Hostile("percent-encoded base64 with a bad escape", good64[:40] + "%2G" + good64[40:], 403,
                "%2G is not a percent escape"),
        Hostile("url-pem with a bad escape", urllib.parse.quote(pem, safe="").replace("%0A", "%ZZ", 1), 403,
                "%ZZ is not a percent escape"),
        Hostile("url-pem cut inside an escape", urllib.parse.quote(pem, safe="")[:-1], 403,
                "a truncated escape at the end"),
        Hostile("url-pem with an encoded NUL", urllib.parse.quote(pem, safe="").replace("%0A", "%00", 1), 403,
                "a NUL inside PEM armour"),
        Hostile("PEM armour without a body", "-----BEGIN CERTIFICATE----- -----END CERTIFICATE-----", 403,
                "an empty PEM block"),
        Hostile("PEM with mismatched armour", pem.replace("END CERTIFICATE", "END X509 CRL").replace("\n", " "),
                403, "BEGIN and END do not match"),
        Hostile("a private-key PEM block", pem.replace("CERTIFICATE", "PRIVATE KEY").replace("\n", " "), 403,
                "not a certificate block"),
        Hostile("base64 then PEM armour in one value", good64 + " " + pem.replace("\n", " "), 403,
                "mixed formats in one header"),
        Hostile("XFCC in the Azure header", f'Hash=00;Cert="{urllib.parse.quote(pem, safe="")}"', 403,
                "the Azure header carries base64 DER only"),
        Hostile("garbage at the module's limit", "A" * 7996 + "====", 403,
                "not a certificate (within ArrCertMaxHeaderLength, decoded and refused)"),
        Hostile("longer than ArrCertMaxHeaderLength", "A" * 8100, 403,
                "over the module's bound: refused before decoding"),
        Hostile("longer than LimitRequestFieldSize", "A" * 9000, 400,
                "httpd refuses the request line before any module runs"),
        # DER ------------------------------------------------------------------------------------
        Hostile("DER cut by one byte", b64(good[:-1]), 403, "truncated DER"),
        Hostile("DER cut in half", b64(good[:len(good) // 2]), 403, "truncated DER"),
        Hostile("DER with a trailing byte", b64(good + b"\x00"), 403, "bytes after the certificate"),
        Hostile("outer length larger than the data", b64(bytes([0x30, 0x82, 0x7F, 0xFF]) + good[4:]), 403,
                "the length claims more than was sent"),
        Hostile("outer SEQUENCE with indefinite length", b64(b"\x30\x80" + b"".join(parts(good)) + b"\x00\x00"),
                403, "BER indefinite length is not DER"),
        Hostile("outer length in a non-minimal form", b64(b"\x30\x84" + len(content(good)).to_bytes(4, "big")
                                                            + content(good)), 403,
                "OpenSSL decodes it, but it is not DER: refused (one certificate, one thumbprint)"),
        Hostile("1400 nested indefinite-length SEQUENCEs", b64(nested), 403,
                "deep nesting: refused without exhausting the stack"),
        Hostile("1000 nested SEQUENCEs", b64(deep), 403, "deep nesting of definite lengths"),
        Hostile("an empty SEQUENCE", b64(b"\x30\x00"), 403, "not a certificate"),
        Hostile("random bytes", b64(bytes(range(256)) * 2), 403, "not a certificate"),
        Hostile("a CRL instead of a certificate", b64(crl), 403, "another kind of DER object"),
        Hostile("a CSR instead of a certificate", b64(csr), 403, "another kind of DER object"),
        Hostile("a bare public key", b64(public_key), 403, "another kind of DER object"),
        # Certificates that parse, and must still fail ----------------------------------------------
        Hostile("serial number zero", b64(with_tbs_field(good, serial_index, bytes.fromhex("020100"), ca.key)),
                200, "the CA signed it; RFC 5280 asks users to handle such serials gracefully, and "
                     "OpenSSL's verifier (so mod_ssl) accepts it"),
        Hostile("negative serial number", b64(with_tbs_field(good, serial_index, bytes.fromhex("0201ff"), ca.key)),
                200, "as for zero: judged on its signature and chain"),
        Hostile("non-minimal length inside the signed part",
                b64(with_tbs_field(good, 3, issuer_long_form, ca.key)), 200,
                "OpenSSL decodes it and the CA's signature covers those very bytes: nothing is forged"),
        Hostile("letters in notBefore", b64(with_tbs_field(good, 4, bad_validity, ca.key)), 403, "an invalid time"),
        Hostile("unknown critical extension", b64(leaf(ca, extensions=[(x509.UnrecognizedExtension(
            x509.ObjectIdentifier("1.3.6.1.4.1.55555.1"), b"\x05\x00"), True)])), 403,
                "RFC 5280: a critical extension the verifier does not know fails the chain"),
        Hostile("outer signature algorithm differs from the signed one",
                b64(tlv(0x30, tbs + tlv(0x30, tlv(0x06, bytes.fromhex("2a8648ce3d040303"))) + signature)), 403,
                "signatureAlgorithm must equal the TBS's signature field"),
        Hostile("signed by another key with the CA's name", b64(leaf(ca, signer=impostor_ca_key)), 403,
                "the signature does not verify: names alone prove nothing"),
        Hostile("signature bit flipped", b64(tlv(0x30, tbs + algorithm + signature[:-1]
                                                  + bytes([signature[-1] ^ 1]))), 403, "a bad signature"),
        Hostile("expired", b64(leaf(ca, days=(-30, -1))), 403, "past notAfter"),
        Hostile("not yet valid", b64(leaf(ca, days=(1, 30))), 403, "before notBefore"),
        Hostile("server-only extended key usage", b64(leaf(ca, eku=ExtendedKeyUsageOID.SERVER_AUTH)), 403,
                "not for client authentication"),
        Hostile("NUL inside the CN", b64(replace_in_tbs(with_placeholder, b"PLACEHOLDER-CN", b"alice\x00evil.com",
                                                       ca)), 403,
                "CN=alice\\0evil.com is not CN=alice: names compare whole", path="/alice/"),
        Hostile("invalid UTF-8 in the CN", b64(replace_in_tbs(with_placeholder, b"PLACEHOLDER-CN",
                                                             b"alice\xc3\x28\xff\xfe-badx", ca)), 403,
                "a UTF8String that is not UTF-8: not a name that rules can compare"),
        Hostile("a huge subject (62 RDNs) for CN=alice", b64(leaf(ca, subject=huge_subject)), 200,
                "large but valid: judged like any other, under the header bound", path="/alice/"),
        # Fail closed (issue: no unverified certificate becomes an identity) ------------------------
        Hostile("self-signed with the CA's exact name", b64(self_made(ca.cert.subject, ca_like=True)), 403,
                "names are not proof: nothing but the CA's key makes its signature"),
        Hostile("self-made leaf with every name /alice/ asks for",
                b64(self_made(name(("O", "Contoso"), ("CN", "alice")))), 403,
                "the subject rule selects among certificates the CA signed; it trusts nothing", path="/alice/"),
        Hostile("a good leaf and 5 more certificates than ArrCertVerifyDepth allows",
                " ".join(pem_spaces(d) for d in [good] + [self_made(name(("CN", f"Fake CA {i}")), ca_like=True)
                                                          for i in range(5)]), 403,
                "a chain that could never verify is refused before any of it is parsed"),
        Hostile("1000 DNS names in a good certificate", b64(leaf(ca, extensions=[(x509.SubjectAlternativeName(
            [x509.DNSName("a")] * 1000), False)])), 200,
                "valid, and exported up to 100 names of each kind: it buys no more CPU than that"),
        Hostile("HTML in a PEM label", "-----BEGIN <script>alert(1)</script>----- "
                                       + good64[:64] + " -----END <script>alert(1)</script>-----", 403,
                "not a certificate block; the label reaches the log escaped, never SSL_CLIENT_VERIFY"),
        Hostile("a URL-encoded newline in a PEM label",
                urllib.parse.quote(pem.replace("CERTIFICATE", "CERT\nIFICATE"), safe=""), 403,
                "not a certificate block; the newline is escaped in the log"),
        # Online revocation (security issue 25) -------------------------------------------------------
        Hostile("forged chain naming the CA, fake keys with 3070-bit RSA exponents, CRL fetch on",
                url_encoded_pem(forged_chain(ca, "http://127.0.0.1:9/ca.crl")), 403,
                "keys whose public operation costs milliseconds are refused before any signature",
                path="/fetch/"),
        Hostile("forged chain naming the CA (AKID), ordinary keys, CRL fetch on",
                url_encoded_pem(forged_chain(ca, "http://127.0.0.1:9/ca.crl", slow=False)), 403,
                "checked from the CA's signature down: no fake key is used, no URL fetched, the refusal kept",
                path="/fetch/"),
        Hostile("CA-issued leaf whose CRL distribution point URL holds CR LF",
                b64(leaf(ca, extensions=[(distribution_point("http://127.0.0.1:9/ca.crl\r\nX-Injected: 1"), False)])),
                200, "never fetched: judged as if it named none (no_crl_for_cert_ok there), with a log line",
                path="/fetch/"),
        Hostile("CA-issued leaf whose OCSP responder URL holds CR LF",
                b64(leaf(ca, extensions=[(x509.AuthorityInformationAccess([x509.AccessDescription(
                    x509.oid.AuthorityInformationAccessOID.OCSP,
                    x509.UniformResourceIdentifier("http://127.0.0.1:9/\r\nX-Injected: 1"))]), False)])),
                200, "never asked: as if it named none (no_ocsp_for_cert_ok there), with a log line",
                path="/ocsp/"),
    ]
    return rows


def distribution_point(url):
    return x509.CRLDistributionPoints([x509.DistributionPoint(
        full_name=[x509.UniformResourceIdentifier(url)], relative_name=None, reasons=None, crl_issuer=None)])


def self_made(subject, ca_like=False):
    """A self-signed certificate with any name at all: what anyone can make."""
    key = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now() - datetime.timedelta(days=1))
               .not_valid_after(now() + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca_like, path_length=None), critical=True))
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def pem_spaces(der):
    text = b64(der)
    return "-----BEGIN CERTIFICATE----- " + " ".join(text[i:i + 64] for i in range(0, len(text), 64)) + \
        " -----END CERTIFICATE-----"
