#!/usr/bin/python3
"""Seed corpora for the fuzz targets, made from real certificates of many shapes."""
import base64
import datetime
import hashlib
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))

from harness.pki import Pki, name  # noqa: E402
from harness.servers import make_workdir, remove_workdirs  # noqa: E402

FORMATS = ["auto", "der-base64", "pem", "url-pem", "xfcc", "rfc9440", "traefik", "der-concat-base64"]


def write(directory, data):
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(directory, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def main(out):
    pki = Pki(make_workdir("arrcert-corpus-"))
    intermediate = pki.issue("z_int", name(("O", "Contoso"), ("CN", "Issuing")), issuer=pki.ca, ca=True)
    shapes = [
        pki.issue("z_rsa", name(("C", "CH"), ("O", "Contoso, Ltd"), ("OU", "Eng"), ("OU", "Ops"),
                                ("CN", "Doe, John"), ("Email", "j@example.com")),
                  issuer=intermediate, key="rsa", serial=0x7FEEDDCCBBAA99887766554433221100FFEEDDCC,
                  dns=["a.example"], emails=["j@example.com"], upns=["j@corp"], uris=["https://x"], ips=["192.0.2.1"]),
        pki.issue("z_ec", name([("CN", "Zoë"), ("UID", "7")], ("O", "株式会社")), issuer=pki.ca),
        pki.issue("z_ed", name(("CN", "m")), key="ed25519",
                  not_after=datetime.datetime(2055, 1, 1, tzinfo=datetime.timezone.utc)),
        pki.ca,
    ]
    for cert in shapes:
        write(os.path.join(out, "certificate"), cert.der)
        values = {
            "auto": [cert.azure_header, cert.pem, cert.pem_spaces, cert.nginx_header, cert.aws_header],
            "der-base64": [cert.azure_header],
            "pem": [cert.pem, cert.pem_spaces, cert.pem + intermediate.pem],
            "url-pem": [cert.nginx_header, cert.aws_header],
            "xfcc": [f'By=spiffe://a;Hash=1;Subject="CN=a;b";Cert="{urllib.parse.quote(cert.pem, safe="")}"'
                     f';Chain="{urllib.parse.quote(intermediate.pem, safe="")}",By=x;Cert=y'],
            "rfc9440": [f":{cert.azure_header}:", f":{cert.azure_header}:, :{intermediate.azure_header}:"],
            "traefik": [f"{cert.azure_header},{intermediate.azure_header}",
                        f"{urllib.parse.quote(cert.azure_header, safe='')},"
                        f"{urllib.parse.quote(intermediate.azure_header, safe='')}"],
            "der-concat-base64": [base64.b64encode(cert.der + intermediate.der).decode()],
        }
        for index, fmt in enumerate(FORMATS):
            for value in values[fmt]:
                write(os.path.join(out, "decode"), bytes([index]) + value.encode())
        for value in values["auto"] + values["xfcc"]:
            write(os.path.join(out, "judge"), value)
        write(os.path.join(out, "thumbprint"), cert.sha1)
        write(os.path.join(out, "thumbprint"), ":".join(cert.sha256[i:i + 2].lower() for i in range(0, 64, 2)))
    for dn in ["CN=nildevecc,O=Microsoft Corp", "CN=nildevecc, O=Microsoft Corp", "/O=Microsoft Corp/CN=nildevecc",
               'CN=Doe\\, John', 'CN="Doe, John"', "CN=a+UID=7", "L=Z\\C3\\BCrich", "OID.2.5.4.3=x", "E=a@b"]:
        write(os.path.join(out, "dn_pattern"), dn)
    remove_workdirs()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
