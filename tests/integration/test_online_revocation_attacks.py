"""Online revocation under attack (found by an attacker's review): a responder that stalls or
trickles, answers kept past their maximum age, a section that tunes one OCSP directive, a CRL
distribution point that redirects elsewhere, a partial chain with OCSP, a verdict judged while its
CRL was still on its way, a delegated responder without id-kp-OCSPSigning, redirect chains."""
import threading
import time

import pytest

from harness.client import send
from harness.ocsp import OpenSslResponder, ScriptedResponder, wait_until
from harness.pki import name
from harness.scripted import ConnectionCounter, Listener, ScriptedHttp
from harness.servers import Httpd, location, running


def timed(server, path, cert):
    """The status of `path`/env.cgi with `cert`, and how long the answer took."""
    started = time.monotonic()
    status = send(server, f"{path}/env.cgi", cert).status
    return status, time.monotonic() - started


def ocsp_everywhere(ca, *more):
    """httpd requiring, everywhere, a certificate from `ca` checked by OCSP, with `more`
    configuration after that, and env.cgi at its root."""
    httpd = Httpd(f"ArrCertCACertificateFile {ca.cert_path}\nArrCertVerifyClient require\nArrCertOCSPEnable leaf\n"
                  + "".join(more))
    httpd.add_cgi("env.cgi")
    return httpd


class Blackhole(Listener):
    """Accepts TCP connections (kernel backlog) and never answers: a stalled responder."""

    accepting = False

    def __init__(self):
        super().__init__(backlog=64)


def redirector(target):
    """A CDP host that answers every GET with 302 to `target`."""
    return ScriptedHttp(lambda method, path, body: (302, {"Location": target}, b""))


class Trickle(Listener):
    """An HTTP server that sends its headers, then one byte every 0.5 s."""

    def handle(self, c):
        try:
            c.recv(65536)
            c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: application/ocsp-response\r\n"
                      b"Content-Length: 60000\r\n\r\n\x30\x82\xea\x5c")
            for _ in range(120):
                time.sleep(0.5)
                c.sendall(b"\x00")
        except OSError:
            pass
        finally:
            c.close()


def test_a_responder_that_never_answers_is_left_alone_with_the_default_timeout(pki):
    """A responder that could not be reached is left alone for 10 seconds from when the query ended
    (not from when the request began, which a 10 s timeout would leave already past), and the
    soft_fail verdict is kept as long."""
    hole = Blackhole()
    a = pki.issue("r16_bo_a", name(("O", "R16"), ("CN", "a")), issuer=pki.ca, ocsp_url=hole.url())
    b = pki.issue("r16_bo_b", name(("O", "R16"), ("CN", "b")), issuer=pki.ca, ocsp_url=hole.url())
    httpd = Httpd(f"ArrCertCACertificateFile {pki.ca.cert_path}\n"
                  + location("/hard", "ArrCertVerifyClient require", "ArrCertOCSPEnable leaf")
                  + location("/soft", "ArrCertVerifyClient require", "ArrCertOCSPEnable leaf soft_fail"))
    httpd.add_cgi("hard/env.cgi")
    httpd.add_cgi("soft/env.cgi")
    with running(httpd, hole):
        status, first = timed(httpd, "/hard", a)
        assert status == 403 and first > 9
        status, second = timed(httpd, "/hard", b)
        assert status == 403
        assert timed(httpd, "/soft", a)[0] == 200
        time.sleep(1.5)
        soft2 = timed(httpd, "/soft", a)   # "verdict kept 10 s" under soft_fail
        assert second < 1.0, f"second certificate waited {second:.1f}s: no back-off"
        assert soft2[1] < 1.0, f"soft_fail verdict not kept: waited {soft2[1]:.1f}s again"


@pytest.mark.parametrize("skew", [300, 0])
def test_a_kept_answer_ends_at_its_maximum_age(pki, skew):
    """ArrCertOCSPResponseMaxAge 5: 'the oldest response taken'. The kept answer (and the verdict)
    stay valid until thisUpdate + max_age + time_skew (300 s): a revocation is missed for 5 min."""
    responder = OpenSslResponder(pki.ca, pki.ca)
    cert = pki.issue(f"r16_ma{skew}", name(("O", "R16"), ("CN", "maxage")), issuer=pki.ca, ocsp_url=responder.url("/"))
    responder.start(good=[cert])
    httpd = Httpd(f"ArrCertCache none\nArrCertCACertificateFile {pki.ca.cert_path}\n"
                  + location("/ocsp", "ArrCertVerifyClient require", "ArrCertOCSPEnable leaf",
                             "ArrCertOCSPResponseMaxAge 5", f"ArrCertOCSPResponseTimeSkew {skew}"))
    httpd.add_cgi("ocsp/env.cgi")
    with running(httpd, responder):
        assert send(httpd, "/ocsp/env.cgi", cert).status == 200
        responder.stop()
        responder.start(revoked=[cert])      # same port: the certificate is now revoked
        time.sleep(8)                        # the kept answer is older than max_age
        status = send(httpd, "/ocsp/env.cgi", cert).status
        assert status == 403, "answer older than ArrCertOCSPResponseMaxAge still used"


def test_one_ocsp_directive_in_a_section_keeps_ocsp_on(pki):
    responder = OpenSslResponder(pki.ca, pki.ca)
    bob = pki.issue("r16_sec_bob", name(("O", "R16"), ("CN", "bob")), issuer=pki.ca, ocsp_url=responder.url("/"))
    responder.start(revoked=[bob])
    httpd = ocsp_everywhere(pki.ca, location("/tuned", "ArrCertOCSPResponderTimeout 5"))
    httpd.add_cgi("tuned/env.cgi")
    with running(httpd, responder):
        assert send(httpd, "/env.cgi", bob).status == 403
        status = send(httpd, "/tuned/env.cgi", bob).status
        assert status == 403, "revoked certificate accepted where only the timeout was tuned"


def fetching_crls(ca, *lines):
    """httpd that requires, at /env.cgi, a certificate of `ca`, and fetches CRLs from where it says."""
    httpd = Httpd(f"""
        ArrCertCACertificateFile {ca.cert_path}
        ArrCertVerifyClient require
        ArrCertCARevocationFetch on
        """ + "".join(f"{line}\n" for line in lines))
    httpd.add_cgi("env.cgi")
    return httpd


def test_a_distribution_point_redirect_is_not_followed(pki):
    counter = ConnectionCounter()
    redirect = redirector(f"http://127.0.0.1:{counter.port}/internal/admin?x=1")
    ca = pki.issue("r16_rd_ca", name(("O", "R16"), ("CN", "Redirect CA")), ca=True)
    alice = pki.issue("r16_rd_alice", name(("O", "R16"), ("CN", "alice")), issuer=ca,
                      crl_url=redirect.url("/ca.crl"))
    httpd = fetching_crls(ca)
    with running(httpd, redirect):
        send(httpd, "/env.cgi", alice)
        time.sleep(0.5)
        assert counter.count == 0, "the CRL fetch followed a redirect to another host:port"


def test_trickled_ocsp_response_is_bounded_by_the_timeout(pki):
    trickle = Trickle()
    cert = pki.issue("r16_tr", name(("O", "R16"), ("CN", "trickle")), issuer=pki.ca, ocsp_url=trickle.url())
    httpd = Httpd(f"ArrCertCACertificateFile {pki.ca.cert_path}\n"
                  + location("/ocsp", "ArrCertVerifyClient require", "ArrCertOCSPEnable leaf",
                             "ArrCertOCSPResponderTimeout 3"))
    httpd.add_cgi("ocsp/env.cgi")
    with running(httpd):
        status, waited = timed(httpd, "/ocsp", cert)
        assert status == 403 and waited < 5


def test_partial_chain_with_ocsp_signed_by_the_anchor(pki):
    issuing = pki.issue("r16_pc_issuing", name(("O", "R16"), ("CN", "PC Issuing")), issuer=pki.ca, ca=True)
    responder = ScriptedResponder(pki.ca, "good")
    alice = pki.issue("r16_pc_alice", name(("O", "R16"), ("CN", "alice")), issuer=issuing,
                      ocsp_url=responder.url("/"))
    responder.start(known=[pki.ca, issuing, alice])
    httpd = ocsp_everywhere(issuing, "ArrCertVerifyPartialChain on\n")
    with running(httpd, responder):
        assert send(httpd, "/env.cgi", alice).status == 200, httpd.error_log()[-600:]


def slow_crl(path, delay):
    """Serves one file after `delay` seconds."""

    def answer(method, url_path, body):
        time.sleep(delay)
        return 200, {}, open(path, "rb").read()

    return ScriptedHttp(answer)


def test_a_request_during_the_first_fetch_waits_for_the_crl(pki, tmp_path):
    """no_crl_for_cert_ok: a request that comes while the first fetch runs waits for it, so a revoked
    certificate is refused then, and after."""
    crl = str(tmp_path / "ca.crl")
    server = slow_crl(crl, 3)
    ca = pki.issue("r16_sc_ca", name(("O", "R16"), ("CN", "Slow CRL CA")), ca=True)
    alice = pki.issue("r16_sc_alice", name(("O", "R16"), ("CN", "alice")), issuer=ca, crl_url=server.url("/ca.crl"))
    bob = pki.issue("r16_sc_bob", name(("O", "R16"), ("CN", "bob")), issuer=ca, crl_url=server.url("/ca.crl"))
    pki.write_crl(crl, ca, revoked=[bob], der=True)
    httpd = fetching_crls(ca, "ArrCertCARevocationCheck chain no_crl_for_cert_ok")
    with running(httpd, server):
        first = threading.Thread(target=send, args=(httpd, "/env.cgi", alice))
        first.start()
        time.sleep(1)
        started = time.monotonic()
        assert send(httpd, "/env.cgi", bob).status == 403, httpd.error_log()[-600:]  # during the fetch
        assert time.monotonic() - started > 1, "the request did not wait for the fetch"
        first.join()
        assert wait_until(lambda: "CRL fetched from" in httpd.error_log())
        assert send(httpd, "/env.cgi", bob).status == 403, "revoked certificate still passes from the cached verdict"


def test_delegated_responder_without_ocsp_signing_eku_is_refused(pki):
    no_eku = pki.issue("r16_noeku", name(("O", "R16"), ("CN", "Not a responder")), issuer=pki.ca, eku="clientAuth")
    responder = OpenSslResponder(pki.ca, no_eku)
    cert = pki.issue("r16_noeku_leaf", name(("O", "R16"), ("CN", "leaf")), issuer=pki.ca, ocsp_url=responder.url("/"))
    responder.start(good=[cert])
    httpd = ocsp_everywhere(pki.ca)
    with running(httpd, responder):
        assert send(httpd, "/env.cgi", cert).status == 403
        assert "OCSP response signature not verified" in httpd.error_log()


def slow_redirect_chain(delay, hops):
    """Each GET waits `delay` s, then redirects (absolute URL, same host) to the next hop, `hops` times."""

    def answer(method, path, body):
        time.sleep(delay)
        if chain.requests <= hops:
            return 302, {"Location": chain.url(f"/hop{chain.requests}")}, b""
        return 404, {}, b""

    chain = ScriptedHttp(answer)
    return chain


def test_redirects_do_not_restart_the_crl_fetch_timeout(pki):
    """10 seconds per CRL, redirects or not: a slow distribution point that redirects holds the
    request that first needs the CRL no longer than one fetch (no redirect is followed)."""
    chain = slow_redirect_chain(delay=3, hops=6)
    ca = pki.issue("r16_sr_ca", name(("O", "R16"), ("CN", "Slow Redirect CA")), ca=True)
    alice = pki.issue("r16_sr_alice", name(("O", "R16"), ("CN", "alice")), issuer=ca, crl_url=chain.url("/ca.crl"))
    httpd = fetching_crls(ca)
    with running(httpd, chain):
        status, waited = timed(httpd, "", alice)
        assert waited < 12, f"one CRL fetch held the request {waited:.0f}s ({chain.requests} hops)"
        assert status == 403 and chain.requests == 1
