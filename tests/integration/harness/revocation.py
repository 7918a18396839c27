"""Revocation published by a CA of the tests (a CRL at a counting distribution point, an OCSP
responder named in its leaves), and requests spread over the children of an httpd (Httpd with
`children`): for test_shared_revocation.py and make bench's revocation figure."""
import concurrent.futures
import os

from harness.client import send
from harness.ocsp import wait_until
from harness.pki import name


class PublishingCa:
    """A CA of the tests (label: its files, sr_LABEL_*, and its CRL's path), whose leaves name its CRL at `cdp` (a DistributionPoint) and, if
    given, an OCSP responder; fresh() issues a leaf never seen by any server."""

    def __init__(self, pki, label, cdp=None, ocsp_url=None):
        self.pki, self.label, self.cdp, self.ocsp_url = pki, label, cdp, ocsp_url
        self.cert = pki.issue(f"sr_{label}_ca", name(("O", "Contoso"), ("CN", f"Shared Revocation {label}")),
                              ca=True)
        self.path = f"/{label}.crl"
        self.issued = 0

    def leaf(self, common_name):
        self.issued += 1
        extra = {"crl_url": self.cdp.url(self.path)} if self.cdp else {}
        return self.pki.issue(f"sr_{self.label}_{self.issued}", name(("O", "Contoso"), ("CN", common_name)),
                              issuer=self.cert, ocsp_url=self.ocsp_url, **extra)

    def fresh(self, count=1):
        return [self.leaf(f"fresh-{self.issued}") for _ in range(count)]

    def publish(self, revoked=(), next_update=None, last_update=None):
        """Writes its CRL where the distribution point serves it; returns its DER."""
        path = os.path.join(self.cdp.dir, self.path[1:])
        self.pki.write_crl(path, self.cert, revoked=revoked, next_update=next_update, last_update=last_update,
                           der=True)
        return open(path, "rb").read()

    @property
    def fetches(self):
        return self.cdp.fetches.get(self.path, 0)


def batch(httpd, certs, workers=12, path="/r/"):
    """Sends `path` with each of `certs` concurrently: (statuses, {pid: [statuses]} of the
    processes that served them)."""
    mark = len(httpd.served())
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        statuses = list(pool.map(lambda cert: send(httpd, path, cert).status, certs))
    # A request's access log line may follow its response by a moment.
    wait_until(lambda: len([s for s in httpd.served(mark) if s[2].startswith(path)]) >= len(certs), timeout=5)
    by_pid = {}
    for pid, answered, served in httpd.served(mark):
        if served.startswith(path):
            by_pid.setdefault(pid, []).append(answered)
    return statuses, by_pid
