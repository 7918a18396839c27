"""Security issue 25, items 2, 5 and 8a, against a real httpd: forged chains under
ArrCertCARevocationFetch (checked from the trust anchor down, oversized RSA keys refused first,
the refusal kept), a fetched CRL used only under the key that signed it (two virtual hosts
trusting two CAs with one name), and URLs from certificates with bytes outside RFC 3986 never
fetched."""
import os
import time

from cryptography import x509

from harness.forged import forged_chain, url_encoded_pem
from harness.client import send
from harness.ocsp import StaticHttp
from harness.pki import name
from harness.scripted import ConnectionCounter
from harness.servers import Httpd, free_port, location, running


def fetching_server(pki, extra="", server=""):
    httpd = Httpd(f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        {server}
        <Location /fetch>
            ArrCertVerifyClient require
            ArrCertCARevocationFetch on
            {extra}
        </Location>
        """)
    httpd.add_file("fetch/index.html", "ok\n")
    return httpd


def test_a_forged_chain_is_refused_once_and_the_refusal_is_kept(pki):
    """Item 2: the refusal of a chain that does not verify is cached (it expired at once, so
    every request judged it afresh), and no URL it names is fetched."""
    counter = ConnectionCounter()
    header = url_encoded_pem(forged_chain(pki.ca, f"http://127.0.0.1:{counter.port}/ca.crl", slow=False))
    httpd = fetching_server(pki)
    with running(httpd, counter):
        assert send(httpd, "/fetch/", value=header).status == 403
        again = send(httpd, "/fetch/", value=header)
        assert again.status == 403
        log = again.log
        assert "from cache): refused: " in log, f"the refusal was judged again:\n{log[-800:]}"
        assert "certificate signature failure" in log
        assert counter.count == 0


def test_oversized_rsa_keys_in_a_forged_chain_are_refused_before_any_signature(pki):
    """Item 2: fake intermediates with 3070-bit public exponents cost ~15 ms of RSA per request
    when their keys are used; they are refused before any signature is checked."""
    counter = ConnectionCounter()
    header = url_encoded_pem(forged_chain(pki.ca, f"http://127.0.0.1:{counter.port}/ca.crl"))
    httpd = fetching_server(pki, server="ArrCertCache none")
    with running(httpd, counter):
        response = send(httpd, "/fetch/", value=header)
        assert response.status == 403
        assert "refused (rule chain): certificate key too large (RSA exponent or modulus)" in response.log
        assert counter.count == 0


def test_one_virtual_hosts_crl_never_judges_another_hosts_clients(pki):
    """Item 5: two virtual hosts trust two CAs with one DN and fetch CRLs (mode leaf); B's CRL has
    no AKID. Each CRL counts only for certificates of the CA whose key signed it."""
    cdp = StaticHttp()
    ca_name = name(("O", "Contoso"), ("CN", "Twin CA"))
    ca_a = pki.issue("twin_ca_a", ca_name, ca=True)
    ca_b = pki.issue("twin_ca_b", ca_name, ca=True)
    alice = pki.issue("twin_alice", name(("O", "Contoso"), ("CN", "alice")), issuer=ca_a, crl_url=cdp.url("/a.crl"))
    bob = pki.issue("twin_bob", name(("O", "Contoso"), ("CN", "bob")), issuer=ca_b, crl_url=cdp.url("/b.crl"))
    pki.write_crl(os.path.join(cdp.dir, "a.crl"), ca_a, der=True)
    pki.write_crl(os.path.join(cdp.dir, "b.crl"), ca_b, der=True)
    cdp.start()
    port = free_port()
    hosts = ""
    for host, ca in (("a.test", ca_a), ("b.test", ca_b)):
        hosts += f"""
        <VirtualHost 127.0.0.1:{port}>
            ServerName {host}
            ArrCertVerifyClient require
            ArrCertCACertificateFile {ca.cert_path}
            ArrCertCARevocationFetch on
            ArrCertCARevocationCheck leaf
        </VirtualHost>
        """
    httpd = Httpd(f"ArrCertCache none\nListen 127.0.0.1:{port}\n{hosts}")
    httpd.add_file("index.html", "ok\n")
    with running(httpd, cdp):
        assert send(httpd, "/", alice, port=port, host="a.test").status == 200, httpd.error_log()[-800:]
        assert send(httpd, "/", bob, port=port, host="b.test").status == 200, httpd.error_log()[-800:]
        # Both CRLs fetched now, each judged again: neither host sees the other's CRL.
        assert send(httpd, "/", alice, port=port, host="a.test").status == 200, httpd.error_log()[-800:]
        assert send(httpd, "/", bob, port=port, host="b.test").status == 200, httpd.error_log()[-800:]
        assert "CRL signature failure" not in httpd.error_log()
        assert send(httpd, "/", bob, port=port, host="a.test").status == 403
        assert send(httpd, "/", alice, port=port, host="b.test").status == 403


def judged_without_contact(httpd, counter, path, leaf, status, *logged):
    """`leaf` sent to `path` gets `status` and logs each of `logged`; the URL with CR LF that it
    carries, which points at `counter`, is never connected to (not even a moment later)."""
    with running(httpd, counter):
        assert send(httpd, path, leaf).status == status
        log = httpd.error_log()
        for line in logged:
            assert line in log, log
        time.sleep(0.3)
        assert counter.count == 0, "the URL with CR LF was fetched or asked"


def test_a_distribution_point_url_with_cr_lf_is_never_fetched(pki):
    """Item 8a: a CA-issued certificate whose CDP URL holds CR LF made the fetch send a split
    request line; it is judged as if it named no distribution point, with a log line."""
    counter = ConnectionCounter()
    url = f"http://127.0.0.1:{counter.port}/ca.crl\r\nX-Injected: 1"
    leaf = pki.issue("crlf_cdp", name(("O", "Contoso"), ("CN", "alice")), issuer=pki.ca, crl_url=url)
    httpd = fetching_server(pki, "ArrCertCARevocationCheck leaf no_crl_for_cert_ok")
    judged_without_contact(httpd, counter, "/fetch/", leaf, 200,
                           "CRL distribution point not fetched (characters outside RFC 3986)",
                           "/ca.crl%0D%0AX-Injected:%201")


def test_an_ocsp_responder_url_with_cr_lf_is_never_asked(pki):
    counter = ConnectionCounter()
    url = f"http://127.0.0.1:{counter.port}/\r\nX-Injected: 1"
    leaf = pki.issue("crlf_aia", name(("O", "Contoso"), ("CN", "alice")), issuer=pki.ca, ocsp_url=url)
    httpd = Httpd(f"ArrCertCACertificateFile {pki.ca.cert_path}\n"
                  + location("/ocsp", "ArrCertVerifyClient require", "ArrCertOCSPEnable leaf"))
    httpd.add_file("ocsp/index.html", "ok\n")
    judged_without_contact(httpd, counter, "/ocsp/", leaf, 403,
                           "OCSP responder location not asked (characters outside RFC 3986)",
                           "refused (rule chain): the certificate names no OCSP responder")


def test_the_crlf_url_is_what_the_certificate_carries(pki):
    """The test certificates really carry the CR LF (the library does not refuse or escape it)."""
    leaf = pki.issue("crlf_check", name(("CN", "x")), issuer=pki.ca, crl_url="http://h/a\r\nb")
    points = leaf.cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert points[0].full_name[0].value == "http://h/a\r\nb"
