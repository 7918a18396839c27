"""The tests' one client: real curl sending a request as a front end would, a certificate in the
header of its choice and in any format, and a response that gives the status, the body, the
variables the page printed, and what httpd logged meanwhile."""
import json
import subprocess

# The header Azure App Service (and HAProxy in the tests) forwards the client certificate in.
AZURE_HEADER = "X-ARR-ClientCert"

# Between the body and what curl writes after it (-w): no body the tests fetch contains it.
_END_OF_BODY = "\n--arrcert-test-end-of-body--\n"


def curl(url, headers=(), cert=None, cacert=None, extra=()):
    """Real curl: (status, body, response headers as {lower-case name: [values]}, HTTP version).

    `headers` are (name, value) pairs sent as given; `cert` is presented in the TLS handshake."""
    args = ["curl", "-sS", "--max-time", "20", "-o", "-", "-w",
            _END_OF_BODY + "%{http_code} %{http_version}\n%{header_json}"]
    for name, value in headers:
        args += ["-H", f"{name}: {value}"]
    if cert is not None:
        args += ["--cert", cert.cert_path, "--key", cert.key_path]
    if cacert is not None:
        args += ["--cacert", cacert]
    args += list(extra) + [url]
    run = subprocess.run(args, capture_output=True, text=True, timeout=30)
    if run.returncode != 0:
        raise RuntimeError(f"curl failed ({run.returncode}): {run.stderr}")
    body, _, written = run.stdout.rpartition(_END_OF_BODY)
    first_line, _, header_json = written.partition("\n")
    status, version = first_line.split()
    # Stripped as HTTP says; curl 7.88's header_json keeps the CR of an empty value.
    response_headers = {name.lower(): [value.strip() for value in values]
                        for name, values in json.loads(header_json or "{}").items()}
    return int(status), body, response_headers, version


def forwarded(cert, header=AZURE_HEADER, form="azure_header"):
    """The request header a front end adds for `cert`: [(header, value)]; none for no certificate.

    `form` names the Issued property that gives the value (azure_header, pem_spaces, nginx_header,
    aws_header)."""
    return [(header, getattr(cert, form))] if cert is not None else []


def client_variables(env):
    """The certificate's variables among a page's environment (SSL_CLIENT_* and ARRCERT_*)."""
    return {k: v for k, v in env.items() if k.startswith("SSL_CLIENT_") or k.startswith("ARRCERT_")}


class Response(tuple):
    """(status, body), as tests compare it, with what else the request told: headers (the
    response's, {lower-case name: [values]}), http_version ("1.1", "2"), env and variables (from
    the JSON the test pages print: env.cgi, the PHP page), and log (what the server wrote to its
    error log from when the request was sent until it is read) with refusal, the module's line."""

    def __new__(cls, url, status, body, headers, http_version, server=None, log_mark=None):
        response = super().__new__(cls, (status, body))
        response.url, response.headers, response.http_version = url, headers, http_version
        response._server, response._log_mark = server, log_mark
        return response

    def __contains__(self, item):
        # `"X" in response` would ask whether X is the status or the body, and pass as "not in".
        raise TypeError("ask response.body, response.env or response.log")

    @property
    def status(self):
        return self[0]

    @property
    def body(self):
        return self[1]

    @property
    def env(self):
        """The environment the page printed; the page must have been served."""
        assert self.status == 200, f"{self.url}: HTTP {self.status}: {self.body[:500]}"
        return json.loads(self.body)

    @property
    def variables(self):
        """The certificate's variables (SSL_CLIENT_*, ARRCERT_*) the page saw."""
        return client_variables(self.env)

    @property
    def log(self):
        """What the server logged since the request was sent (other requests' lines too)."""
        if self._server is None:
            raise AttributeError(f"{self.url}: no error log known for this server")
        return self._server.log_since(self._log_mark)

    @property
    def refusal(self):
        """The module's line saying why it refused this request ("" if none): matched anywhere in
        the line, whatever precedes it."""
        return next((line for line in self.log.splitlines() if "refused (rule " in line), "")


def send(target, path="", cert=None, *, form="azure_header", header=AZURE_HEADER, value=None, headers=(),
         port=None, host=None, interface=None, tls_cert=None, cacert=None, extra=()):
    """GET `path` of `target` (a server of the harness, or a base URL) as a front end would.

    cert: forwarded in `header`, in `form` (see forwarded);
    value: a raw value sent in `header` (a chain, a malformed value);
    headers: further (name, value) pairs, sent after those, as given;
    port: another plain-HTTP listener of the same server (a virtual host of its own);
    host: the Host header (a name-based virtual host);
    interface: the local address to send from (127.0.0.2 is no front end);
    tls_cert, cacert: the certificate curl presents in a TLS handshake, the CA file it checks
    the server with; extra: further curl arguments."""
    if isinstance(target, str):
        url = target + path
    else:
        url = target.url(path) if port is None else f"http://127.0.0.1:{port}{path}"
    sent = forwarded(cert, header, form) + ([(header, value)] if value is not None else []) + list(headers)
    sent += [("Host", host)] if host is not None else []
    arguments = list(extra) + (["--interface", interface] if interface else [])
    log_of = target if hasattr(target, "log_since") else None
    mark = log_of.log_mark() if log_of else None
    return Response(url, *curl(url, headers=sent, cert=tls_cert, cacert=cacert, extra=arguments), log_of, mark)
