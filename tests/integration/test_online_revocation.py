"""Revocation as enterprise PKIs publish it: OCSP (a real `openssl ocsp` responder, and scripted
broken ones), CRLs fetched from the distribution point in the certificate (a real HTTP server), and
intermediates as trust anchors."""
import os
import threading
import time

import pytest

from harness.client import send
from harness.ocsp import OpenSslResponder, ScriptedResponder, StaticHttp, wait_until
from harness.pki import name
from harness.scripted import ConnectionCounter
from harness.servers import Httpd, free_port, location, running


# --- OCSP ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ocsp(pki):
    genuine = OpenSslResponder(pki.ca, pki.ca)
    delegate = pki.issue("oc_delegate", name(("O", "Contoso"), ("CN", "OCSP Responder")), issuer=pki.ca,
                         eku="ocspSigning")
    delegated = OpenSslResponder(pki.ca, delegate)
    stranger_ca = pki.issue("oc_stranger", name(("O", "Contoso"), ("CN", "Contoso Test CA")), ca=True)
    wrong_key = OpenSslResponder(pki.ca, stranger_ca)
    stalled = OpenSslResponder(pki.ca, pki.ca)
    scripted = {mode: ScriptedResponder(pki.ca, mode) for mode in
                ("stale", "replay", "wrong_nonce", "unknown", "trylater", "internalerror")}
    counted = ScriptedResponder(pki.ca, "good", delay=0.5)

    def leaf(label, **kwargs):
        return pki.issue(f"oc_{label}", name(("O", "Contoso"), ("CN", label)), issuer=pki.ca,
                         ocsp_url=genuine.url("/"), **kwargs)

    certs = {label: leaf(label) for label in ("alice", "bob", "carol", "dave", "erin", "frank")}
    certs["no_aia"] = pki.issue("oc_no_aia", name(("O", "Contoso"), ("CN", "no-aia")), issuer=pki.ca)
    # A chain: root (the test CA) > issuing > leaf, each naming the counting responder.
    issuing = pki.issue("oc_issuing", name(("O", "Contoso"), ("CN", "OCSP Issuing")), issuer=pki.ca, ca=True,
                        ocsp_url=counted.url("/"))
    certs["issuing"] = issuing
    certs["chained"] = pki.issue("oc_chained", name(("O", "Contoso"), ("CN", "chained")), issuer=issuing,
                                 ocsp_url=counted.url("/"))
    good = [certs[k] for k in ("alice", "dave", "erin", "frank", "no_aia")]
    genuine.start(good=good, revoked=[certs["bob"]])  # carol: not in the index, so "unknown"
    delegated.start(good=good)
    wrong_key.start(good=good)
    stalled.start(good=good)
    for responder in scripted.values():
        responder.start(known=[pki.ca, *certs.values()])
    counted.start(known=[pki.ca, issuing, certs["chained"]])
    yield dict(genuine=genuine, delegated=delegated, wrong_key=wrong_key, stalled=stalled, scripted=scripted,
               counted=counted, certs=certs)
    for responder in [genuine, delegated, wrong_key, stalled, counted, *scripted.values()]:
        responder.resume() if responder is stalled else None
        responder.stop()


def requiring(path, *lines):
    """A <Location> that requires a certificate, with these directives."""
    return location(path, "ArrCertVerifyClient require", *lines)


def override(responder):
    return f"ArrCertOCSPDefaultResponder {responder.url('/')}\nArrCertOCSPOverrideResponder on"


@pytest.fixture(scope="module")
def server(pki, ocsp):
    closed = f"http://127.0.0.1:{free_port()}/"
    body = f"ArrCertCACertificateFile {pki.ca.cert_path}\nArrCertCache none\n"
    body += requiring("/ocsp", "ArrCertOCSPEnable leaf")
    body += requiring("/delegated", "ArrCertOCSPEnable leaf", override(ocsp["delegated"]))
    body += requiring("/wrong-key", "ArrCertOCSPEnable leaf", override(ocsp["wrong_key"]))
    for mode, responder in ocsp["scripted"].items():
        body += requiring(f"/{mode}", "ArrCertOCSPEnable leaf", override(responder))
        body += requiring(f"/{mode}-soft", "ArrCertOCSPEnable leaf soft_fail", override(responder))
    body += requiring("/no-nonce-replay", "ArrCertOCSPEnable leaf", "ArrCertOCSPUseRequestNonce off",
                      override(ocsp["scripted"]["replay"]))
    body += requiring("/down", "ArrCertOCSPEnable leaf", "ArrCertOCSPResponderTimeout 2",
                      f"ArrCertOCSPDefaultResponder {closed}", "ArrCertOCSPOverrideResponder on")
    body += requiring("/down-soft", "ArrCertOCSPEnable leaf soft_fail", "ArrCertOCSPResponderTimeout 2",
                      f"ArrCertOCSPDefaultResponder {closed}",
                      "ArrCertOCSPOverrideResponder on")
    body += requiring("/stalled", "ArrCertOCSPEnable leaf soft_fail", "ArrCertOCSPResponderTimeout 2",
                      override(ocsp["stalled"]))
    body += requiring("/stalled-hard", "ArrCertOCSPEnable leaf", "ArrCertOCSPResponderTimeout 2",
                      override(ocsp["stalled"]))
    body += requiring("/no-responder-ok", "ArrCertOCSPEnable leaf no_ocsp_for_cert_ok")
    body += requiring("/chain-on", "ArrCertOCSPEnable on")
    body += requiring("/chain-leaf", "ArrCertOCSPEnable leaf")
    body += requiring("/max-age", "ArrCertOCSPEnable leaf", "ArrCertOCSPResponseMaxAge 30",
                      override(ocsp["scripted"]["stale"]))
    httpd = Httpd(body)
    paths = ["ocsp", "delegated", "wrong-key", "no-nonce-replay", "down", "down-soft", "stalled", "stalled-hard",
             "no-responder-ok", "chain-on", "chain-leaf", "max-age"]
    paths += [m for m in ocsp["scripted"]] + [f"{m}-soft" for m in ocsp["scripted"]]
    for path in paths:
        httpd.add_cgi(f"{path}/env.cgi")
    httpd.start()
    yield httpd
    httpd.stop()


def test_good_revoked_and_unknown_from_openssl_ocsp(server, ocsp):
    certs = ocsp["certs"]
    env = send(server, "/ocsp/env.cgi", certs["alice"]).env
    assert env["SSL_CLIENT_VERIFY"] == "SUCCESS" and "ARRCERT_OCSP_SOFT_FAIL" not in env
    assert send(server, "/ocsp/env.cgi", certs["bob"]).status == 403
    assert send(server, "/ocsp/env.cgi", certs["carol"]).status == 403
    log = server.error_log()
    assert "refused (rule chain): certificate revoked" in log
    assert "refused (rule chain): OCSP responder does not know the certificate" in log


def test_delegated_responder_and_a_responder_signed_by_the_wrong_key(server, ocsp):
    assert send(server, "/delegated/env.cgi", ocsp["certs"]["alice"]).status == 200
    assert send(server, "/wrong-key/env.cgi", ocsp["certs"]["alice"]).status == 403
    assert "OCSP response signature not verified" in server.error_log()


@pytest.mark.parametrize("mode,reason", [
    ("stale", "OCSP response is not current"),
    ("replay", "OCSP response nonce does not match the request"),
    ("wrong_nonce", "OCSP response nonce does not match the request"),
    ("unknown", "OCSP responder does not know the certificate"),
])
def test_responses_that_fail_verification_are_refused_even_under_soft_fail(server, ocsp, mode, reason):
    cert = ocsp["certs"]["dave"]
    assert send(server, f"/{mode}/env.cgi", cert).status == 403
    assert send(server, f"/{mode}-soft/env.cgi", cert).status == 403
    assert f"refused (rule chain): {reason}" in server.error_log()


def test_without_a_nonce_a_response_without_one_is_taken(server, ocsp):
    assert send(server, "/no-nonce-replay/env.cgi", ocsp["certs"]["dave"]).status == 200


def test_max_age_refuses_an_old_response(server, ocsp):
    assert send(server, "/max-age/env.cgi", ocsp["certs"]["dave"]).status == 403


@pytest.mark.parametrize("mode", ["trylater", "internalerror"])
def test_try_later_and_internal_error_pass_only_under_soft_fail(server, ocsp, mode):
    cert = ocsp["certs"]["erin"]
    assert send(server, f"/{mode}/env.cgi", cert).status == 403
    env = send(server, f"/{mode}-soft/env.cgi", cert).env
    assert env["SSL_CLIENT_VERIFY"] == "SUCCESS"
    assert env["ARRCERT_OCSP_SOFT_FAIL"].startswith("OCSP responder")


def test_responder_down(server, ocsp):
    cert = ocsp["certs"]["frank"]
    assert send(server, "/down/env.cgi", cert).status == 403
    env = send(server, "/down-soft/env.cgi", cert).env
    assert env["ARRCERT_OCSP_SOFT_FAIL"].startswith("OCSP responder unreachable")
    assert "let through under soft_fail: OCSP responder unreachable" in server.error_log()


def test_a_certificate_without_a_responder(server, ocsp):
    assert send(server, "/ocsp/env.cgi", ocsp["certs"]["no_aia"]).status == 403
    assert "the certificate names no OCSP responder" in server.error_log()
    assert send(server, "/no-responder-ok/env.cgi", ocsp["certs"]["no_aia"]).status == 200


def test_stalled_responder_waits_at_most_the_timeout_then_backs_off(server, ocsp):
    stalled = ocsp["stalled"]
    stalled.pause()
    try:
        started = time.monotonic()
        env = send(server, "/stalled/env.cgi", ocsp["certs"]["alice"]).env
        waited = time.monotonic() - started
        assert 1.5 < waited < 4.5, waited
        assert env["ARRCERT_OCSP_SOFT_FAIL"]
        # The responder is left alone for a while: the next request does not wait again.
        started = time.monotonic()
        assert send(server, "/stalled-hard/env.cgi", ocsp["certs"]["dave"]).status == 403
        assert time.monotonic() - started < 1.0
    finally:
        stalled.resume()


def test_chain_on_checks_intermediates_leaf_only_the_leaf_and_queries_are_shared(pki, ocsp):
    counted = ocsp["counted"]
    chained, issuing = ocsp["certs"]["chained"], ocsp["certs"]["issuing"]
    chain = dict(cert=chained, headers=[("X-Chain", issuing.pem.replace("\n", " "))])
    httpd = Httpd(f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        ArrCertChainHeader X-Chain
        ArrCertVerifyClient require
        <Location /on>
            ArrCertOCSPEnable on
        </Location>
        <Location /leaf>
            ArrCertOCSPEnable leaf
        </Location>
        """)
    httpd.add_cgi("on/env.cgi")
    httpd.add_cgi("leaf/env.cgi")
    with running(httpd):
        before = counted.queries()
        assert send(httpd, "/leaf/env.cgi", **chain).status == 200
        assert counted.queries() - before == 1
        before = counted.queries()
        # Ten at once, for a certificate judged nowhere yet: one query for each certificate.
        statuses = []
        threads = [threading.Thread(target=lambda: statuses.append(send(httpd, "/on/env.cgi", **chain).status))
                   for _ in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200] * 10
        # The leaf's answer was already kept from /leaf: only the intermediate is asked, once.
        assert counted.queries() - before == 1
        # Kept: no further query.
        assert send(httpd, "/on/env.cgi", **chain).status == 200
        assert counted.queries() - before == 1




# --- CRLs from distribution points ---------------------------------------------------------------
@pytest.fixture(scope="module")
def cdp(pki):
    server = StaticHttp()
    ca = pki.issue("cd_ca", name(("O", "Contoso"), ("CN", "CDP CA")), ca=True)
    url = server.url("/cdp.crl")
    certs = {label: pki.issue(f"cd_{label}", name(("O", "Contoso"), ("CN", label)), issuer=ca, crl_url=url)
             for label in ("alice", "bob", "carol")}
    crl = os.path.join(server.dir, "cdp.crl")
    pki.write_crl(crl, ca, der=True)
    server.start()
    yield dict(server=server, ca=ca, certs=certs, crl=crl)
    server.stop()


def test_crl_fetched_from_the_distribution_point(pki, cdp):
    httpd = Httpd(f"""
        ArrCertCache none
        <Location /fetch>
            ArrCertVerifyClient require
            ArrCertCACertificateFile {cdp['ca'].cert_path}
            ArrCertCARevocationFetch on
            ArrCertCARevocationRefresh 1
        </Location>
        <Location /fetch-ok>
            ArrCertVerifyClient require
            ArrCertCACertificateFile {cdp['ca'].cert_path}
            ArrCertCARevocationFetch on
            ArrCertCARevocationCheck chain no_crl_for_cert_ok
            ArrCertCARevocationRefresh 1
        </Location>
        """)
    httpd.add_cgi("fetch/env.cgi")
    httpd.add_cgi("fetch-ok/env.cgi")
    httpd.start()
    certs = cdp["certs"]
    try:
        assert send(httpd, "/fetch/env.cgi", certs["alice"]).status == 200
        assert "CRL fetched from " + cdp["server"].url("/cdp.crl") in httpd.error_log()
        # Republished with bob revoked: fetched again in the background after the refresh interval.
        pki.write_crl(cdp["crl"], cdp["ca"], revoked=[certs["bob"]], der=True)
        assert send(httpd, "/fetch/env.cgi", certs["bob"]).status in (200, 403)
        assert wait_until(lambda: send(httpd, "/fetch/env.cgi", certs["bob"]).status == 403, timeout=10)
        assert send(httpd, "/fetch/env.cgi", certs["alice"]).status == 200
        # The server goes away: the CRL kept is used until its nextUpdate ...
        cdp["server"].stop()
        time.sleep(1.5)
        assert send(httpd, "/fetch/env.cgi", certs["alice"]).status == 200
        assert send(httpd, "/fetch/env.cgi", certs["bob"]).status == 403
        # The background fetch failed, and said so.
        assert wait_until(lambda: "not taken" in httpd.error_log(), timeout=20)  # OpenSSL retries a refused connect
        assert send(httpd, "/fetch/env.cgi", certs["alice"]).status == 200
    finally:
        httpd.stop()


def test_a_forged_certificate_makes_no_fetch(pki, cdp):
    """OpenSSL checks revocation before signatures: the URL of a certificate that does not verify
    is never fetched (it would let any client make the server request any http:// URL)."""
    counter = ConnectionCounter()
    look_alike = pki.issue("cd_look_alike", name(("O", "Contoso"), ("CN", "CDP CA")), ca=True)
    forged = pki.issue("cd_forged", name(("O", "Contoso"), ("CN", "alice")), issuer=look_alike,
                       crl_url=f"http://127.0.0.1:{counter.port}/internal/admin")
    httpd = Httpd(f"""
        <Location /fetch>
            ArrCertVerifyClient require
            ArrCertCACertificateFile {cdp['ca'].cert_path}
            ArrCertCARevocationFetch on
        </Location>
        """)
    httpd.add_cgi("fetch/env.cgi")
    with running(httpd, counter):
        assert send(httpd, "/fetch/env.cgi", forged).status == 403
        time.sleep(0.5)
        assert counter.count == 0


def test_crl_past_next_update_fails_closed(pki, cdp):
    server = StaticHttp()
    ca = pki.issue("cd2_ca", name(("O", "Contoso"), ("CN", "CDP CA 2")), ca=True)
    alice = pki.issue("cd2_alice", name(("O", "Contoso"), ("CN", "alice")), issuer=ca,
                      crl_url=server.url("/short.crl"))
    import datetime
    from harness.pki import now
    pki.write_crl(os.path.join(server.dir, "short.crl"), ca, next_update=now() + datetime.timedelta(seconds=4),
                  der=True)
    server.start()
    httpd = Httpd(f"""
        ArrCertCache none
        ArrCertCACertificateFile {ca.cert_path}
        ArrCertCARevocationFetch on
        ArrCertCARevocationRefresh 60
        <Location /fetch>
            ArrCertVerifyClient require
        </Location>
        <Location /fetch-ok>
            ArrCertVerifyClient require
            ArrCertCARevocationCheck chain no_crl_for_cert_ok
        </Location>
        """)
    httpd.add_cgi("fetch/env.cgi")
    httpd.add_cgi("fetch-ok/env.cgi")
    with running(httpd, server):
        assert send(httpd, "/fetch/env.cgi", alice).status == 200
        server.stop()
        time.sleep(5)
        assert send(httpd, "/fetch/env.cgi", alice).status == 403
        assert "unable to get certificate CRL" in httpd.error_log()
        assert send(httpd, "/fetch-ok/env.cgi", alice).status == 200


# --- Partial chains -------------------------------------------------------------------------------
def test_an_intermediate_as_the_trust_anchor(pki, tmp_path):
    issuing = pki.issue("pc_issuing", name(("O", "Contoso"), ("CN", "Partial Issuing")), issuer=pki.ca, ca=True)
    alice = pki.issue("pc_alice", name(("O", "Contoso"), ("CN", "alice")), issuer=issuing)
    httpd = Httpd(f"""
        ArrCertCACertificateFile {issuing.cert_path}
        ArrCertVerifyClient require
        <Location /partial>
            ArrCertVerifyPartialChain on
        </Location>
        """)
    httpd.add_cgi("partial/env.cgi")
    with running(httpd):
        assert send(httpd, "/env.cgi", alice).status == 403  # the root is not there: no complete path
        assert send(httpd, "/partial/env.cgi", alice).status == 200


@pytest.mark.parametrize("mpm", ["prefork", "worker"])
def test_every_mpm(pki, ocsp, mpm):
    """Answers and CRLs are kept per process; the background fetch runs in a forked child too."""
    server = StaticHttp()
    ca = pki.issue(f"mp_{mpm}_ca", name(("O", "Contoso"), ("CN", f"MPM CA {mpm}")), ca=True)
    carol = pki.issue(f"mp_{mpm}_carol", name(("O", "Contoso"), ("CN", "carol")), issuer=ca,
                      crl_url=server.url("/ca.crl"))
    pki.write_crl(os.path.join(server.dir, "ca.crl"), ca, der=True)
    server.start()
    httpd = Httpd(f"""
        ArrCertCache none
        <Location /ocsp>
            ArrCertVerifyClient require
            ArrCertCACertificateFile {pki.ca.cert_path}
            ArrCertOCSPEnable leaf
        </Location>
        <Location /fetch>
            ArrCertVerifyClient require
            ArrCertCACertificateFile {ca.cert_path}
            ArrCertCARevocationFetch on
            ArrCertCARevocationRefresh 1
        </Location>
        """, mpm=mpm)
    httpd.add_cgi("ocsp/env.cgi")
    httpd.add_cgi("fetch/env.cgi")
    with running(httpd, server):
        for _ in range(3):
            assert send(httpd, "/ocsp/env.cgi", ocsp["certs"]["alice"]).status == 200
            assert send(httpd, "/ocsp/env.cgi", ocsp["certs"]["bob"]).status == 403
            assert send(httpd, "/fetch/env.cgi", carol).status == 200
            time.sleep(1)


def test_a_refusal_for_an_unusable_answer_is_not_kept_long(pki):
    """An answer the module cannot use (here `unknown`) refuses for the back-off, not for
    ArrCertCacheTimeout: once the responder knows the certificate, it passes."""
    responder = OpenSslResponder(pki.ca, pki.ca)
    cert = pki.issue("oc_late", name(("O", "Contoso"), ("CN", "late")), issuer=pki.ca, ocsp_url=responder.url("/"))
    httpd = Httpd(f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        ArrCertVerifyClient require
        ArrCertOCSPEnable leaf
        """)
    with running(httpd, responder):
        responder.start(good=[])
        assert send(httpd, "/env.cgi", cert).status == 403
        responder.stop()
        responder.start(good=[cert])
        time.sleep(11)
        assert send(httpd, "/env.cgi", cert).status == 200
