"""Load with wrk from many distinct certificates: each request's path says what it carries (e.g.
/ok/... must get 200, /no/... 403), so the access log can be checked afterwards, and the resident
memory of httpd's children is sampled while it runs."""
import base64
import datetime
import os
import re

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .client import AZURE_HEADER
from .pki import Issued, name, now
from .servers import child_pids

WRK_SCRIPT = """
local requests = {}
for line in io.lines("%s") do
  local path, value = line:match("^(%%S+)\\t(.*)$")
  requests[#requests + 1] = {path = path, value = value}
end
local counter = 0
function setup(thread)
  thread:set("offset", math.random(#requests))
end
function request()
  counter = counter + 1
  local item = requests[(counter + offset) %% #requests + 1]
  local headers = {["Connection"] = "%s"}
  if item.value ~= "" then headers["%s"] = item.value end
  return wrk.format("GET", item.path .. counter, headers)
end
"""


def many_leaves(issuer: Issued, count, prefix="user"):
    """`count` distinct leaf certificates of `issuer` (one key: distinct certificates is the point)."""
    key = ec.generate_private_key(ec.SECP256R1())
    start = now() - datetime.timedelta(days=1)
    end = now() + datetime.timedelta(days=30)
    headers = []
    for i in range(count):
        cert = (x509.CertificateBuilder()
                .subject_name(name(("O", "Contoso"), ("CN", f"{prefix}{i}")))
                .issuer_name(issuer.cert.subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(issuer.key, hashes.SHA256()))
        headers.append(base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode())
    return headers


def write_mix(directory, items, connection="keep-alive"):
    """items: (label, header value); each request goes to /label/index.html?N. Writes the request
    list and the wrk script, returns the script's path."""
    listing = os.path.join(directory, "requests.tsv")
    with open(listing, "w") as f:
        for label, value in items:
            f.write(f"/{label}/index.html?\t{value}\n")
    script = os.path.join(directory, "mix.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT % (listing, connection, AZURE_HEADER))
    return script


def wrk_errors(output):
    """wrk's socket errors (connect, read, write, timeout): all zero when it prints none."""
    found = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    values = map(int, found.groups()) if found else (0, 0, 0, 0)
    return dict(zip(("connect", "read", "write", "timeout"), values))


def logged_requests(text):
    """(label, status, the rest of the line before the request) of each request of the mix."""
    found = []
    for line in text.splitlines():
        match = re.search(r'^(.*)"GET /(\w+)/index\.html\?\d* HTTP/1\.[01]" (\d{3})', line)
        if match:
            found.append((match.group(2), int(match.group(3)), match.group(1)))
    return found


def children_rss_kib(parent_pid):
    """Resident memory (KiB) of each child process of `parent_pid`."""
    sizes = {}
    for pid in child_pids(parent_pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                rss = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
        except OSError:
            continue
        if rss:
            sizes[pid] = int(rss.group(1))
    return sizes
