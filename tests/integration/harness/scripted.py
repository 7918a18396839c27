"""Servers the tests script, for httpd to meet as responders and distribution points: an HTTP server
whose every answer a function gives, and a bare TCP listener whose every connection a method
handles. Both run in threads of the test process (the scripted OCSP responder runs the HTTP one
in a process of its own, harness/ocsp_scripted.py)."""
import http.server
import socket
import threading


def http_server(answer, port=0):
    """A threading HTTP server on 127.0.0.1 (not yet serving): every GET and POST is answered
    with answer(method, path, request body) -> (status, {header: value}, response body)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def respond(self):
            length = int(self.headers.get("Content-Length", 0))
            status, headers, body = answer(self.command, self.path, self.rfile.read(length) if length else b"")
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = respond

        def log_message(self, *args):
            pass  # the test's output is no place for a request log

    return http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)


class ScriptedHttp:
    """An HTTP server in a thread of the tests, counting the requests it received."""

    def __init__(self, answer):
        self.requests = 0

        def counted(*request):
            self.requests += 1
            return answer(*request)

        self.httpd = http_server(counted)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        self.httpd.shutdown()


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts and gives each to
    handle() in a thread of its own. accepting = False: it never accepts, and connections wait in
    the kernel's backlog (a server that stalls)."""

    accepting = True

    def __init__(self, backlog=None):
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=backlog)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        if self.accepting:
            threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return  # closed
            self.count += 1
            threading.Thread(target=self.handle, args=(connection,), daemon=True).start()

    def handle(self, connection):
        connection.close()

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self):
        self.sock.close()

    stop = close  # as every server of the harness


class ConnectionCounter(Listener):
    """Counts the connections made to it and closes them: a URL nobody should ask."""
