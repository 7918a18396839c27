"""Chains a client can forge under a real CA's name (security issue 25, item 2): a leaf naming a CRL
distribution point, a fake intermediate, and a fake intermediate naming the CA (its name and key
identifier), with ordinary keys or with RSA keys whose public operation is as slow as it can be
made (3072-bit modulus, the largest OpenSSL does not bound the exponent for, and a ~3070-bit
public exponent)."""
import datetime
import math
import secrets

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from harness.pki import name, now


def slow_rsa_key():
    """An RSA key pair with a 3070-bit public exponent: signing is ordinary, verifying costs ~300x."""
    base = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    numbers = base.private_numbers()
    p, q = numbers.p, numbers.q
    phi = (p - 1) * (q - 1)
    while True:
        e = secrets.randbits(3070) | (1 << 3069) | 1
        if math.gcd(e, phi) == 1:
            break
    d = pow(e, -1, phi)
    private = rsa.RSAPrivateNumbers(p, q, d, rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q),
                                    rsa.rsa_crt_iqmp(p, q), rsa.RSAPublicNumbers(e, p * q))
    try:
        return private.private_key(unsafe_skip_rsa_key_validation=True)
    except TypeError:  # python3-cryptography before 39 has no such argument
        return private.private_key()


def _certificate(subject, issuer_name, public_key, signer, ca, crl_url=None, akid_key=None):
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
               .public_key(public_key).serial_number(x509.random_serial_number())
               .not_valid_before(now() - datetime.timedelta(days=1))
               .not_valid_after(now() + datetime.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if not ca:
        builder = builder.add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]),
                                        critical=False)
    if crl_url:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            full_name=[x509.UniformResourceIdentifier(crl_url)], relative_name=None, reasons=None,
            crl_issuer=None)]), critical=False)
    if akid_key is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(akid_key), critical=False)
    return builder.sign(signer, hashes.SHA256())


def forged_chain(ca, crl_url, slow=True):
    """[leaf, fake intermediate, fake intermediate naming `ca`] (an Issued of the pki harness)."""
    upper_key = slow_rsa_key() if slow else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    lower_key = slow_rsa_key() if slow else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    upper_name = name(("O", "Contoso"), ("CN", "Contoso Issuing CA 2"))
    lower_name = name(("O", "Contoso"), ("CN", "Contoso Issuing CA 1"))
    # Signed with a key of the CA's type: OpenSSL takes a certificate as issued by a key of another
    # type for no issuer at all, and the chain would stop before any revocation check.
    same_type = ec.generate_private_key(ec.SECP256R1()) if isinstance(ca.key, ec.EllipticCurvePrivateKey) else \
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
    upper = _certificate(upper_name, ca.cert.subject, upper_key.public_key(), same_type, True,
                         akid_key=ca.key.public_key())
    lower = _certificate(lower_name, upper_name, lower_key.public_key(), upper_key, True)
    leaf = _certificate(name(("O", "Contoso"), ("CN", "mallory")), lower_name, leaf_key.public_key(), lower_key,
                        False, crl_url=crl_url)
    return [leaf, lower, upper]


def url_encoded_pem(chain):
    """The chain as nginx's $ssl_client_escaped_cert would forward it (URL-encoded PEM, leaf first)."""
    import urllib.parse
    from cryptography.hazmat.primitives import serialization
    pem = "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain)
    return urllib.parse.quote(pem, safe="")
