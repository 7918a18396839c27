"""A bad directive value stops `httpd -t` (apachectl -t) with a message naming the problem."""
import pytest

from harness.servers import Httpd

BAD = [
    ("ArrCertVerifyClient sometimes", "'sometimes' is not one of none, optional, require, optional_no_ca"),
    ("ArrCertThumbprint 12AB", "thumbprint '12AB' has 4 hex digits; expected 40 (SHA-1) or 64 (SHA-256)"),
    ("ArrCertThumbprint " + "Z" * 40, "is not a hex digit"),
    ('ArrCertIssuer "CN=a,"', "ArrCertIssuer: distinguished name 'CN=a,'"),
    ('ArrCertSubject "S=Bavaria"', "'S' is ambiguous"),
    ('ArrCertSubject "XYZ=1"', "unknown attribute type 'XYZ'"),
    ('ArrCertSubject "CN=Doe, John"', "ArrCertSubject: distinguished name 'CN=Doe, John'"),
    ("ArrCertClockSkew -5", "'-5' is not a number of seconds"),
    ("ArrCertClockSkew soon", "'soon' is not a number of seconds"),
    ("ArrCertHeader Bad:Header", "'Bad:Header' is not a valid HTTP header name"),
    ("ArrCertMaxHeaderLength 0", "'0' is not a number of bytes"),
    ("ArrCertOptions +StdEnvVars +Verbose", "unknown option '+Verbose'"),
    ("ArrCertUserName REMOTE_ADDR", "'REMOTE_ADDR' is not a variable mod_arrcert sets"),
]


@pytest.fixture(scope="module")
def httpd():
    return Httpd("")


@pytest.mark.parametrize("line,message", BAD, ids=[b[0].split()[0] + str(i) for i, b in enumerate(BAD)])
def test_bad_value_stops_configtest(httpd, line, message):
    status, output = httpd.configtest(f"<Location />\n{line}\n</Location>\n")
    assert status != 0
    assert message in output, output


def test_good_configuration_passes(httpd):
    status, output = httpd.configtest("""
        ArrCertVerifyClient optional
        ArrCertHeader X-Forwarded-Client-Cert
        <VirtualHost 127.0.0.1:8443>
            ArrCertVerifyClient require
            ArrCertThumbprint 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33
            ArrCertIssuer "CN=Contoso CA, O=Contoso"
            ArrCertSubject "/O=Contoso/CN=alice"
            ArrCertClockSkew 60
            ArrCertMaxHeaderLength 8192
            ArrCertOptions +StdEnvVars +ExportCertData
            ArrCertUserName SSL_CLIENT_S_DN_CN
        </VirtualHost>
        """)
    assert status == 0, output
    assert "Syntax OK" in output
