"""A bad directive value stops `httpd -t` (apachectl -t) with a message naming the problem."""
import pytest

from harness.ocsp import wait_until
from harness.servers import Httpd, free_port, location, running

BAD = [
    ("ArrCertVerifyClient sometimes", "'sometimes' is not one of none, optional, require or optional_no_ca"),
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
    ("ArrCertUserName REMOTE_ADDR", "'REMOTE_ADDR' is not a variable of the certificate that mod_arrcert sets"),
    ("ArrCertExport SSL_CLIENT_S_DN_CN HTTP_HOST", "'HTTP_HOST' is not a variable mod_arrcert exports"),
    ("ArrCertCACertificateFile /etc/apache2/client-ca.pme", "/etc/apache2/client-ca.pme: no such file"),
    ("ArrCertCACertificateFile /etc/hostname", "cannot load CA certificates from /etc/hostname: no certificate in PEM "
                                               "form could be read"),
    ("ArrCertCACertificateFile /etc", "/etc is a directory, not a file"),
    ("ArrCertCACertificatePath /nonexistent/certs", "/nonexistent/certs: no such directory"),
    ("ArrCertCACertificatePath /etc/hostname", "/etc/hostname is not a directory"),
    ("ArrCertCARevocationFile /nonexistent/crl.pem", "/nonexistent/crl.pem: no such file"),
    ("ArrCertCARevocationFile /etc/hostname", "no CRL could be read from /etc/hostname"),
    ("ArrCertCARevocationPath /nonexistent/crls", "/nonexistent/crls: no such directory"),
    ("ArrCertCARevocationCheck sometimes", "'sometimes' is not one of chain, leaf or none"),
    ("ArrCertCARevocationCheck chain maybe", "'maybe' is not no_crl_for_cert_ok"),
    ("ArrCertCARevocationRefresh 0", "'0' is not a number of seconds from 1 to 86400"),
    ("ArrCertVerifyDepth 0", "'0' is not a number of certificates from 1 to 100"),
    ("ArrCertTrustedProxy 10.0.0.1", "ArrCertTrustedProxy not allowed in <Location> context"),
    ("Require arrcert-thumbprint 12AB", "Require arrcert-thumbprint: thumbprint '12AB' has 4 hex digits"),
    ("Require arrcert-subject", "Require arrcert-subject: need at least one value"),
    ("Require arrcert CN=alice", "Require arrcert takes no arguments"),
    # Front ends.
    ("ArrCertHeader X-Cert base64",
     "'base64' is not a format (auto, der-base64, pem, url-pem, xfcc, rfc9440, traefik, der-concat-base64)"),
    ("ArrCertChainHeader X-SSL-Client-Chain der-concat", "'der-concat' is not a format ("),
    ("ArrCertOptions +CertBoundToken",
     "unknown option '+CertBoundToken' (StdEnvVars, ExportCertData, CertBoundTokens)"),
    ("ArrCertUserName TB_SSL_CLIENT_CERT_FINGERPRINT",
     "'TB_SSL_CLIENT_CERT_FINGERPRINT' is not a variable of the certificate that mod_arrcert sets"),
    ("ArrCertChainHeader X-Chain xfcc", "xfcc carries its chain in its own Chain field"),
    ("ArrCertFrontEnd cloudfare", "'cloudfare' is not one of azure, envoy, traefik, aws-alb, rfc9440, aws-alb-verify, "
     "cloudfront, gcp, cloudflare, akamai, ingress-nginx or kong"),
    ("ArrCertHeader Cf-Client-Cert-Der-Base64",
     "Cloudflare sends Cf-Client-Cert-Der-Base64 only on the first request of a connection"),
    ("ArrCertChainHeader cf-client-cert-der-base64", "Cf-Client-Cert-Der-Base64 only on the first request"),
    # The front end's verdict and fingerprint.
    ("ArrCertVerdictHeader X-SSL-Client-Verify", "ArrCertVerdictHeader: needs a header name and at least one value"),
    ("ArrCertVerdictHeader", "ArrCertVerdictHeader: needs a header name and at least one value"),
    ("ArrCertVerdictHeader X(Verify) 0", "ArrCertVerdictHeader: 'X(Verify)' is not a valid HTTP header name"),
    ('ArrCertVerdictHeader X-Verify "0, 1"', "ArrCertVerdictHeader: a verdict value cannot hold a comma"),
    ("ArrCertFingerprintHeader X-Client-Cert-Hash md5",
     "ArrCertFingerprintHeader: 'md5' is not a digest (sha1 or sha256)"),
    ("ArrCertFingerprintHeader X-Client-Cert-Hash", "ArrCertFingerprintHeader: needs the digest after the header name"),
    ("ArrCertFingerprintHeader X:Hash sha256", "ArrCertFingerprintHeader: 'X:Hash' is not a valid HTTP header name"),
    ("ArrCertXfccElement middle", "'middle' is not first or last"),
]

# Written at server level, not in <Location />: the verdict cache and OCSP.
BAD_SERVER = [
    ("ArrCertCache disk", "'disk' is not none, memory[:ENTRIES] or a shared cache"),
    ("ArrCertCache memory:0", "the number of entries must be from 1 to 10000000"),
    ("ArrCertCacheTimeout 0", "'0' is not a number of seconds from 1 to 86400"),
    ("<VirtualHost 127.0.0.1:8080>\nArrCertCache none\n</VirtualHost>", "cannot occur within <VirtualHost> section"),
    ("ArrCertOCSPEnable maybe", "'maybe'"),
    ("ArrCertOCSPEnable on hard_fail", "'hard_fail' is neither no_ocsp_for_cert_ok nor soft_fail"),
    ("ArrCertOCSPDefaultResponder https://ocsp.example/", "is not an http:// URL"),
    ("ArrCertOCSPResponderTimeout 0", "ArrCertOCSPResponderTimeout"),
    ("ArrCertOCSPResponseTimeSkew -5", "ArrCertOCSPResponseTimeSkew"),
    ("ArrCertOCSPResponderCertificateFile /nonexistent.pem", "no PEM certificate could be read"),
]


@pytest.fixture(scope="module")
def httpd():
    return Httpd("")


@pytest.mark.parametrize("line,message", BAD, ids=[b[0].split()[0] + str(i) for i, b in enumerate(BAD)])
def test_bad_value_stops_configtest(httpd, line, message):
    httpd.refuses(location("/", line), message)


@pytest.mark.parametrize("line,message", BAD_SERVER, ids=[b[0].split()[0] + str(i) for i, b in enumerate(BAD_SERVER)])
def test_bad_server_value_stops_configtest(httpd, line, message):
    httpd.refuses(line + "\n", message)


@pytest.mark.parametrize("value", ["300.1.2.3", "10.0.0.0/33", "frontend.example", "::1/129"])
def test_bad_trusted_proxy_stops_configtest(httpd, value):
    status, output = httpd.configtest(f"ArrCertTrustedProxy {value}\n")
    assert status != 0
    assert f"ArrCertTrustedProxy: '{value}' is not an IP address or CIDR range" in output, output


def test_good_configuration_passes(httpd):
    status, output = httpd.configtest("""
        ArrCertAcceptUnverified on
        ArrCertVerifyClient optional
        ArrCertHeader X-Forwarded-Client-Cert
        <VirtualHost 127.0.0.1:8443>
            ArrCertVerifyClient require
            ArrCertThumbprint 00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff:00:11:22:33
            ArrCertIssuer "CN=Contoso CA, O=Contoso"
            ArrCertSubject "/O=Contoso/CN=alice"
            ArrCertClockSkew 60
            ArrCertMaxHeaderLength 8192
            ArrCertOptions +StdEnvVars +ExportCertData +CertBoundTokens
            ArrCertExport SSL_CLIENT_S_DN_CN TB_SSL_CLIENT_CERT_FINGERPRINT
            ArrCertChainHeader X-SSL-Client-Chain der-concat-base64
            ArrCertUserName SSL_CLIENT_S_DN_CN
            ArrCertTrustedProxy 127.0.0.1 10.0.0.0/8 ::1 fd00::/8
            ArrCertCACertificatePath /etc/ssl/certs
            ArrCertVerifyDepth 4
            ArrCertCARevocationCheck leaf no_crl_for_cert_ok
            ArrCertCARevocationRefresh 300
        </VirtualHost>
        """)
    assert status == 0, output
    assert "Syntax OK" in output


# Start-up: LimitRequestFieldSize against ArrCertMaxHeaderLength (ARRCERT0240) ---------------------
def started_log(httpd):
    """The error log once start-up is over: httpd listens before the modules' start-up runs."""
    assert wait_until(lambda: "resuming normal operations" in httpd.error_log()), httpd.error_log()[-2000:]
    return httpd.error_log()


@pytest.mark.parametrize("lines, warned", [
    ("", True),  # httpd's 8190 against the default 16384: a post-quantum certificate would not fit
    ("LimitRequestFieldSize 16402", False),  # "X-ARR-ClientCert: " and 16384 bytes
    ("LimitRequestFieldSize 16401", True),
    ("ArrCertMaxHeaderLength 8000", False),
])
def test_start_up_warns_where_the_header_cannot_arrive(lines, warned):
    httpd = Httpd(f"""
        {lines}
        ArrCertVerifyClient require
        ArrCertAcceptUnverified on
        """)
    with running(httpd):
        log = started_log(httpd)
    assert ("ARRCERT0240" in log) == warned, log[-2000:]
    if warned:
        assert "ArrCertMaxHeaderLength 16384 allows in X-ARR-ClientCert" in log
        assert "Set 'LimitRequestFieldSize 16402' in this server" in log


def test_start_up_names_the_virtual_host_whose_limit_is_short():
    httpd = Httpd("")
    port = free_port()
    httpd.body = f"""
        LimitRequestFieldSize 20000
        Listen 127.0.0.1:{port}
        <VirtualHost 127.0.0.1:{port}>
            ServerName short.example
            LimitRequestFieldSize 9000
            ArrCertVerifyClient require
            ArrCertAcceptUnverified on
            ArrCertMaxHeaderLength 12000
        </VirtualHost>
        """
    with running(httpd):
        log = started_log(httpd)
    warnings = [line for line in log.splitlines() if "ARRCERT0240" in line]
    assert len(warnings) == 1, log[-3000:]
    assert "server short.example:" in warnings[0] and "LimitRequestFieldSize 9000" in warnings[0]
    assert "ArrCertMaxHeaderLength 12000" in warnings[0] and "'LimitRequestFieldSize 12018'" in warnings[0]
