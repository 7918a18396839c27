"""A scripted OCSP responder (run as a process by harness.ocsp.ScriptedResponder).

usage: ocsp_scripted.py PORT CA_CERT CA_KEY MODE DELAY COUNT_FILE CERT_DIR
MODE: good, stale (this/nextUpdate in the past), replay (a good answer without the request's
nonce, as a replayed one would be), wrong_nonce, unknown, trylater, internalerror."""
import datetime
import glob
import os
import sys
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run as a script
from harness.scripted import http_server  # noqa: E402

port, ca_path, key_path, mode, delay, count_path, cert_dir = sys.argv[1:8]
ca = x509.load_pem_x509_certificate(open(ca_path, "rb").read())
key = serialization.load_pem_private_key(open(key_path, "rb").read(), None)
lock = threading.Lock()
count = 0


def answer(request_der):
    if mode == "trylater":
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.TRY_LATER)
    if mode == "internalerror":
        return ocsp.OCSPResponseBuilder.build_unsuccessful(ocsp.OCSPResponseStatus.INTERNAL_ERROR)
    request = ocsp.load_der_ocsp_request(request_der)
    now = datetime.datetime.utcnow()
    this_update, next_update = now - datetime.timedelta(minutes=1), now + datetime.timedelta(hours=1)
    if mode == "stale":
        this_update, next_update = now - datetime.timedelta(days=3), now - datetime.timedelta(days=2)
    status = ocsp.OCSPCertStatus.UNKNOWN if mode == "unknown" else ocsp.OCSPCertStatus.GOOD
    # The certificate asked about, found by serial among the test PKI's (and its issuer).
    known, keys = {}, {}
    for path in glob.glob(f"{cert_dir}/*.crt"):
        cert = x509.load_pem_x509_certificate(open(path, "rb").read())
        known[cert.serial_number] = cert
        keys[cert.serial_number] = path[:-4] + ".key"
    subject = known[request.serial_number]
    issuer = next(c for c in known.values() if c.subject == subject.issuer)
    # Signed by the certificate's own issuer, as a CA answers for what it issued.
    signer = serialization.load_pem_private_key(open(keys[issuer.serial_number], "rb").read(), None)
    builder = ocsp.OCSPResponseBuilder().add_response(
        subject, issuer, request.hash_algorithm, status, this_update, next_update, None, None
    ).responder_id(ocsp.OCSPResponderEncoding.HASH, issuer).certificates([issuer])
    nonce = [e.value.nonce for e in request.extensions if isinstance(e.value, x509.OCSPNonce)]
    if mode == "wrong_nonce":
        builder = builder.add_extension(x509.OCSPNonce(b"r" * 16), critical=False)
    elif nonce and mode != "replay":
        builder = builder.add_extension(x509.OCSPNonce(nonce[0]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def respond(method, path, body):
    global count
    with lock:
        count += 1
        open(count_path, "w").write(str(count))
    time.sleep(float(delay))
    return 200, {"Content-Type": "application/ocsp-response"}, answer(body).public_bytes(serialization.Encoding.DER)


http_server(respond, int(port)).serve_forever()
