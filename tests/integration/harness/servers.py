"""Real httpd, HAProxy and PHP-FPM processes on loopback, each with a generated configuration."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import textwrap
import time

from .client import AZURE_HEADER

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
MODULE = os.environ.get("ARRCERT_MODULE", os.path.join(ROOT, "build", "mod_arrcert.so"))
CLI = os.environ.get("ARRCERT_CLI", os.path.join(ROOT, "build", "arrcert"))
HTTPD = shutil.which("apache2", path="/usr/sbin:/usr/bin") or shutil.which("httpd")
MODULES = "/usr/lib/apache2/modules"
PHP_FPM = next((shutil.which(n, path="/usr/sbin:/usr/bin") for n in ("php-fpm8.2", "php-fpm")
                if shutil.which(n, path="/usr/sbin:/usr/bin")), None)
RUN_AS_ROOT = os.geteuid() == 0
# `make integration-asan`: the module built with ASan+UBSan, whose runtime httpd must load first.
HTTPD_PRELOAD = os.environ.get("ARRCERT_HTTPD_PRELOAD", "")


def httpd_env():
    """The environment of httpd processes (only theirs: curl and Python stay uninstrumented)."""
    env = dict(os.environ)
    if HTTPD_PRELOAD:
        env["LD_PRELOAD"] = HTTPD_PRELOAD
    return env

ENV_CGI = open(os.path.join(os.path.dirname(__file__), "env_cgi.py")).read()

ENV_PHP = """<?php
header('Content-Type: application/json');
$out = [];
foreach ($_SERVER as $k => $v) {
    if (is_string($v) && (str_starts_with($k, 'SSL_') || str_starts_with($k, 'ARRCERT_')
        || str_starts_with($k, 'HTTP_') || $k === 'REMOTE_USER')) { $out[$k] = $v; }
}
$out['PHP_SAPI'] = PHP_SAPI;
echo json_encode($out);
"""


MOD_SSL = ["ssl_module mod_ssl.so", "socache_shmcb_module mod_socache_shmcb.so"]
PROXY = ["proxy_module mod_proxy.so", "proxy_http_module mod_proxy_http.so"]
REWRITE = "rewrite_module mod_rewrite.so"


def tls_vhost(pki, port, verify_client, *lines):
    """A mod_ssl virtual host on loopback with the test PKI's server certificate and CA."""
    body = "\n".join(f"    {line}" for line in lines)
    return textwrap.dedent(f"""\
        Listen 127.0.0.1:{port}
        <VirtualHost 127.0.0.1:{port}>
            SSLEngine on
            SSLCertificateFile {pki.server.cert_path}
            SSLCertificateKeyFile {pki.server.key_path}
            SSLCACertificateFile {pki.ca.cert_path}
            SSLVerifyClient {verify_client}
        """) + body + "\n</VirtualHost>\n"


def location(path, *lines):
    """A <Location> section holding these directives."""
    body = "".join(f"    {line}\n" for line in lines)
    return f"<Location {path}>\n{body}</Location>\n"


def judged_afresh(pki, *sections):
    """Configuration for what judging a hostile certificate costs (make bench, test_fail_closed):
    headers up to 64 KiB, no verdict cache (every request judged afresh), the test CA trusted,
    /require requiring a certificate from it and /report reporting any certificate
    (optional_no_ca, accepted unverified); then `sections`."""
    return ("LimitRequestFieldSize 65536\nArrCertMaxHeaderLength 65536\nArrCertCache none\n"
            f"ArrCertCACertificateFile {pki.ca.cert_path}\n"
            + location("/require", "ArrCertVerifyClient require")
            + location("/report", "ArrCertVerifyClient optional_no_ca", "ArrCertAcceptUnverified on")
            + "".join(sections))


def vhost_rewrite(pki, extra="", modules=(REWRITE,)):
    """httpd whose virtual-host-level mod_rewrite sends /who to alice.html where %{SSL:...} says
    the certificate is alice's, to nobody.html otherwise; `extra`: more configuration after it."""
    httpd = Httpd(f"""
        ArrCertCACertificateFile {pki.ca.cert_path}
        ArrCertVerifyClient optional
        RewriteEngine On
        RewriteCond %{{SSL:SSL_CLIENT_S_DN_CN}} =alice
        RewriteRule ^/who$ /alice.html [L]
        RewriteRule ^/who$ /nobody.html [L]
        {extra}
        """, modules=list(modules), allow_override="None")
    httpd.add_file("alice.html", "alice\n")
    httpd.add_file("nobody.html", "nobody\n")
    return httpd


_handed_out = set()


def free_port():
    """A port free now and never handed out before in this run: servers made before any of them
    binds (a fixture's responders) must not share one, which the kernel may otherwise repeat."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def wait_for_port(port, process, timeout=15.0, what="server"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


_workdirs = []


def make_workdir(prefix):
    """A directory the server's unprivileged user can read (pytest's tmp dirs are 0700)."""
    path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    os.chmod(path, 0o755)
    _workdirs.append(path)
    return path


def remove_workdirs():
    """Removes every directory make_workdir made; kept after a failure, for its logs."""
    while _workdirs:
        shutil.rmtree(_workdirs.pop(), ignore_errors=True)


def child_pids(parent_pid):
    """The processes whose parent is `parent_pid`, from /proc."""
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == parent_pid:  # after the name: state, ppid
                    pids.append(int(entry))
        except OSError:
            continue  # exited meanwhile
    return pids


def server_user():
    if not RUN_AS_ROOT:
        return None
    for candidate in ("www-data", "daemon", "nobody"):
        try:
            pwd.getpwnam(candidate)
            return candidate
        except KeyError:
            continue
    return None


def write_file(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


class Httpd:
    """httpd from the system, the module from the build tree, a config made for each test module."""

    def __init__(self, body, mpm="event", modules=(), log_level="info arrcert:debug", with_module=True,
                 module_first=False, allow_override="AuthConfig", children=None):
        self.dir = make_workdir("arrcert-httpd-")
        # children=N: N processes kept up (event and worker: 4 threads each; prefork: N at all
        # times), each request's serving process logged (%P) in children.log; see served().
        # Unset: one process for the threaded MPMs, so that per-process state is predictable.
        self.children = children
        self.allow_override = allow_override  # the document root's
        self.docroot = os.path.join(self.dir, "htdocs")
        os.makedirs(self.docroot)
        os.makedirs(os.path.join(self.dir, "run"))
        os.chmod(self.docroot, 0o755)
        self.port = free_port()
        self.mpm = mpm
        self.process = None
        self.body = body
        self.modules = list(modules)
        # Without the module, httpd does not know its name in LogLevel.
        self.log_level = log_level if with_module else log_level.replace(" arrcert:debug", "")
        self.with_module = with_module
        self.module_first = module_first  # load mod_arrcert before the other modules
        self.add_cgi("env.cgi")

    # Content -----------------------------------------------------------------------------
    def add_cgi(self, path):
        write_file(os.path.join(self.docroot, path), ENV_CGI, 0o755)

    def add_php(self, path):
        write_file(os.path.join(self.docroot, path), ENV_PHP)

    def add_file(self, path, text):
        write_file(os.path.join(self.docroot, path), text)

    # Configuration -------------------------------------------------------------------------
    def config_text(self, body=None):
        user = server_user()
        cgi = "cgi_module mod_cgi.so" if self.mpm == "prefork" else "cgid_module mod_cgid.so"
        base = ["authz_core_module mod_authz_core.so", "authz_host_module mod_authz_host.so",
                "mime_module mod_mime.so", "dir_module mod_dir.so", "alias_module mod_alias.so", cgi]
        loads = [f"LoadModule mpm_{self.mpm}_module {MODULES}/mod_mpm_{self.mpm}.so"]
        loads += [f"LoadModule {m.split()[0]} {MODULES}/{m.split()[1]}" for m in base + self.modules]
        if self.with_module:
            loads.insert(1 if self.module_first else len(loads), f"LoadModule arrcert_module {MODULE}")
        lines = [
            f"ServerRoot {self.dir}",
            "ServerName localhost",
            f"PidFile {self.dir}/httpd.pid",
            # Each server its own (mutexes, the revocation share), as Debian's multi-instance does.
            f"DefaultRuntimeDir {self.dir}/run",
            f"Listen 127.0.0.1:{self.port}",
            *loads,
            f"User {user}" if user else "",
            f"Group {user}" if user else "",
            f"ErrorLog {self.dir}/error.log",
            f"LogLevel {self.log_level}",
            'LogFormat "%h %u \\"%r\\" %>s %{arrcert-refused}n" arrcert',
            f"CustomLog {self.dir}/access.log arrcert",
            "TypesConfig /etc/mime.types",
            f"ScriptSock {self.dir}/cgid.sock" if self.mpm != "prefork" else "",
            f"DocumentRoot {self.docroot}",
            f'<Directory "{self.docroot}">',
            "    Options +ExecCGI +Indexes +FollowSymLinks",
            "    AddHandler cgi-script .cgi",
            f"    AllowOverride {self.allow_override}",
            "    Require all granted",
            "</Directory>",
            *self.process_layout(),
            textwrap.dedent(body if body is not None else self.body),
        ]
        return "\n".join(line for line in lines if line != "") + "\n"

    def process_layout(self):
        if self.children is None:
            # One child process for the threaded MPMs: per-process state (CRLs) is then predictable.
            return (["StartServers 2", "MaxRequestWorkers 16"] if self.mpm == "prefork" else
                    ["StartServers 1", "ServerLimit 1", "ThreadsPerChild 16", "MaxRequestWorkers 16",
                     "MinSpareThreads 1", "MaxSpareThreads 16"])
        n = self.children
        layout = ([f"StartServers {n}", f"MinSpareServers {n}", f"MaxSpareServers {n}", f"ServerLimit {n}",
                   f"MaxRequestWorkers {n}"] if self.mpm == "prefork" else
                  [f"StartServers {n}", f"ServerLimit {n}", "ThreadsPerChild 4", f"MaxRequestWorkers {4 * n}",
                   f"MinSpareThreads {4 * n}", f"MaxSpareThreads {4 * n}"])
        return layout + ['LogFormat "%P %>s %U" arrcert_children', f"CustomLog {self.dir}/children.log arrcert_children"]

    def served(self, since=0):
        """With `children`: (pid, status, path) of each request logged in children.log, from the
        `since`th on (len() of an earlier answer)."""
        lines = self._log("children.log").splitlines()[since:]
        return [(int(pid), int(status), path) for pid, status, path in (line.split(" ", 2) for line in lines)]

    def write_config(self, body=None, name="httpd.conf"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(self.config_text(body))
        return path

    def configtest(self, body):
        """`httpd -t` on a config with this body: (exit status, output)."""
        path = self.write_config(body, name="configtest.conf")
        run = subprocess.run([HTTPD, "-t", "-f", path], capture_output=True, text=True, timeout=30,
                             env=httpd_env())
        return run.returncode, run.stdout + run.stderr

    def refuses(self, body, message):
        """Asserts that `httpd -t` on a config with this body fails and its output says `message`."""
        status, output = self.configtest(body)
        assert status != 0 and message in output, output

    # Process ---------------------------------------------------------------------------------
    def start(self, wrapper=(), timeout=15.0):
        """wrapper: a command httpd runs under (valgrind); httpd then runs as one process (-X)."""
        path = self.write_config()
        command = [*wrapper, HTTPD, "-f", path, "-X" if wrapper else "-DFOREGROUND"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, env=httpd_env(),
                                        stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)  # prefork signals its whole group
        try:
            wait_for_port(self.port, self.process, timeout=timeout, what="httpd")
        except RuntimeError:
            out = self.process.stdout.read() if self.process.stdout else ""
            raise RuntimeError(f"httpd failed to start: {out}\n{self.error_log()}")
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process and self.process.stdout:
            self.process.stdout.close()
        self.process = None

    def graceful(self, body):
        """Rewrite the configuration and restart gracefully (apachectl -k graceful)."""
        self.body = body
        path = self.write_config()
        run = subprocess.run([HTTPD, "-k", "graceful", "-f", path], capture_output=True, text=True, timeout=30,
                             env=httpd_env())
        if run.returncode != 0:
            raise RuntimeError(f"graceful restart failed: {run.stdout}{run.stderr}")

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def cpu_seconds(self):
        """CPU time (user + system) used so far by httpd's processes and all their threads.

        From the scheduler's nanosecond counters (/proc/PID/task/TID/schedstat): the clock-tick
        figures of /proc/PID/stat are too coarse to compare a few seconds of load.
        """
        total = 0
        for pid in [self.process.pid, *child_pids(self.process.pid)]:
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                        total += int(f.read().split()[0])
            except OSError:
                continue
        return total / 1e9

    def error_log(self):
        return self._log("error.log")

    def access_log(self):
        return self._log("access.log")

    def _log(self, name):
        try:
            with open(os.path.join(self.dir, name), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_mark(self):
        """An offset into the error log; log_since(mark) returns what came after it. In bytes: the
        client takes one before every request, and need not read the log for it."""
        try:
            return os.path.getsize(os.path.join(self.dir, "error.log"))
        except FileNotFoundError:
            return 0

    def log_since(self, mark):
        time.sleep(0.1)  # the log line of a finished request may lag its response
        try:
            with open(os.path.join(self.dir, "error.log"), "rb") as f:
                f.seek(mark)
                text = f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""
        return text.replace("\r\n", "\n").replace("\r", "\n")  # as error_log() reads it (text mode)


class running:
    """with running(server, *others): `server` (httpd, a front end) started for the block; after
    it, whatever happens, `server` stopped, then the others (responders, listeners started before)."""

    def __init__(self, server, *others):
        self.server, self.others = server, others

    def __enter__(self):
        return self.server.start()

    def __exit__(self, *exc):
        self.server.stop()
        for other in self.others:
            other.stop()


class BackgroundServer:
    """A server process of the tests, in its own session, stopped with SIGTERM."""

    scheme = "https"
    port = 0
    process = None

    def spawn(self, args, what):
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
        wait_for_port(self.port, self.process, what=what)
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def url(self, path):
        return f"{self.scheme}://localhost:{self.port}{path}"

    def pause(self):
        """Stops answering (SIGSTOP) while the kernel still accepts its connections: a stall."""
        self.process.send_signal(signal.SIGSTOP)

    def resume(self):
        self.process.send_signal(signal.SIGCONT)


class HAProxy(BackgroundServer):
    """A TLS-terminating front end that forwards the client certificate exactly as Azure does;
    with `chain_header`, also the intermediates the client sent, as %[ssl_c_chain_der,base64]."""

    def __init__(self, pki, backend_port, header=AZURE_HEADER, chain_header=None, extra=()):
        """extra: further http-request lines (a verdict header: set-header X %[ssl_c_verify])."""
        self.dir = make_workdir("arrcert-haproxy-")
        self.port = free_port()
        bundle = os.path.join(self.dir, "server.pem")
        with open(bundle, "w") as f:
            f.write(open(pki.server.cert_path).read() + open(pki.server.key_path).read())
        self.config = os.path.join(self.dir, "haproxy.cfg")
        chain = "" if chain_header is None else (
            f"http-request del-header {chain_header}\n"
            f"                    http-request set-header {chain_header} %[ssl_c_chain_der,base64] if {{ ssl_c_used }}")
        with open(self.config, "w") as f:
            f.write(textwrap.dedent(f"""\
                global
                    maxconn 256
                defaults
                    mode http
                    timeout connect 5s
                    timeout client 30s
                    timeout server 30s
                frontend azure_like
                    bind 127.0.0.1:{self.port} ssl crt {bundle} ca-file {pki.ca.cert_path} verify optional crt-ignore-err all ca-ignore-err all
                    # Like Azure: whatever the client sent under this name is replaced; nothing is checked.
                    http-request del-header {header}
                    http-request set-header {header} %[ssl_c_der,base64] if {{ ssl_c_used }}
                    {chain}
                    {"".join(line + chr(10) + " " * 20 for line in extra)}default_backend app
                backend app
                    server httpd 127.0.0.1:{backend_port}
                """))

    def start(self):
        check = subprocess.run(["haproxy", "-c", "-f", self.config], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"haproxy config: {check.stdout}{check.stderr}")
        return self.spawn(["haproxy", "-db", "-f", self.config], "haproxy")


class PhpFpm(BackgroundServer):
    def __init__(self):
        if PHP_FPM is None:
            raise RuntimeError("php-fpm is not installed")
        self.dir = make_workdir("arrcert-fpm-")
        self.port = free_port()
        user = server_user()
        self.config = os.path.join(self.dir, "php-fpm.conf")
        with open(self.config, "w") as f:
            f.write(textwrap.dedent(f"""\
                [global]
                pid = {self.dir}/php-fpm.pid
                error_log = {self.dir}/php-fpm.log
                daemonize = no
                [app]
                listen = 127.0.0.1:{self.port}
                pm = static
                pm.max_children = 2
                """) + (f"user = {user}\ngroup = {user}\n" if user else ""))

    def start(self):
        args = [PHP_FPM, "-n", "-y", self.config, "-F"] + (["-R"] if RUN_AS_ROOT else [])
        return self.spawn(args, "php-fpm")


class Nginx(BackgroundServer):
    """A TLS-terminating nginx that forwards $ssl_client_escaped_cert (URL-encoded PEM)."""

    def __init__(self, pki, backend_port, header="X-SSL-Client-Cert", extra=()):
        """extra: further (header, nginx variable) pairs sent to the backend."""
        self.dir = make_workdir("arrcert-nginx-")
        self.port = free_port()
        self.config = os.path.join(self.dir, "nginx.conf")
        temp = "\n".join(f"    {kind}_temp_path {self.dir}/{kind};" for kind in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        with open(self.config, "w") as f:
            f.write(textwrap.dedent(f"""\
                worker_processes 1;
                pid {self.dir}/nginx.pid;
                error_log {self.dir}/error.log;
                daemon off;
                events {{ worker_connections 64; }}
                http {{
                    access_log off;
                """) + temp + textwrap.dedent(f"""
                    server {{
                        listen 127.0.0.1:{self.port} ssl;
                        ssl_certificate {pki.server.cert_path};
                        ssl_certificate_key {pki.server.key_path};
                        ssl_client_certificate {pki.ca.cert_path};
                        ssl_verify_client optional_no_ca;
                        location / {{
                            proxy_set_header {header} $ssl_client_escaped_cert;
                            {"".join(f"proxy_set_header {name} {value};" for name, value in extra)}
                            proxy_pass http://127.0.0.1:{backend_port};
                        }}
                    }}
                }}
                """))

    def start(self):
        return self.spawn(["nginx", "-c", self.config, "-p", self.dir], "nginx")


class Memcached(BackgroundServer):
    """A real memcached on loopback, for ArrCertCache memcache:."""

    scheme = "memcache"

    def __init__(self, port=None):
        self.port = port or free_port()

    def start(self):
        user = ["-u", "nobody"] if RUN_AS_ROOT else []
        return self.spawn(["memcached", "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", *user], "memcached")

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"


def _resp(reader):
    """One RESP reply from `reader`."""
    line = reader.readline()[:-2]
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        raise RuntimeError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        return None if int(rest) < 0 else reader.read(int(rest) + 2)[:-2]
    return [_resp(reader) for _ in range(int(rest))]


class Redis(BackgroundServer):
    """A real Redis on loopback, for ArrCertCache redis:; nothing written to disk."""

    scheme = "redis"

    def __init__(self, port=None):
        self.port = port or free_port()
        self.dir = make_workdir("arrcert-redis-")

    def start(self):
        return self.spawn(["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                           "--appendonly", "no", "--dir", self.dir], "redis-server")

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def command(self, *args):
        """One Redis command (RESP over a socket of its own): the reply, bulk strings as bytes."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as connection:
            parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
            connection.sendall(b"".join([f"*{len(parts)}\r\n".encode()]
                                        + [f"${len(p)}\r\n".encode() + p + b"\r\n" for p in parts]))
            return _resp(connection.makefile("rb"))
