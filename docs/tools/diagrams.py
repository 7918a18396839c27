#!/usr/bin/python3
"""Writes the diagrams of docs/ as SVG (make docs): plain Python, no other tool, same bytes each run.

usage: diagrams.py [--check]   (--check: exit 1 when a checked-in diagram differs)
"""
import os
import sys
from xml.sax.saxutils import escape

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGES = os.path.join(ROOT, "docs", "images")
FONT = "font-family='DejaVu Sans, Verdana, sans-serif'"
LINE = 16  # px per text line


class Svg:
    def __init__(self, width, height, title):
        self.width, self.height = width, height
        self.parts = [f"<title>{escape(title)}</title>",
                      "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='8' "
                      "markerHeight='8' orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#444'/>"
                      "</marker></defs>",
                      f"<rect width='{width}' height='{height}' fill='white'/>"]

    def box(self, x, y, w, h, title, lines=(), fill="#eef3fb", stroke="#3b6fb6"):
        self.parts.append(f"<rect x='{x}' y='{y}' width='{w}' height='{h}' rx='6' fill='{fill}' "
                          f"stroke='{stroke}' stroke-width='1.5'/>")
        self.text(x + w / 2, y + 20, title, bold=True, anchor="middle")
        for i, line in enumerate(lines):
            self.text(x + 10, y + 20 + LINE * (i + 1.3), line, size=12)

    def text(self, x, y, text, size=13, bold=False, anchor="start", color="#111"):
        weight = " font-weight='bold'" if bold else ""
        self.parts.append(f"<text x='{x:g}' y='{y:g}' {FONT} font-size='{size}'{weight} text-anchor='{anchor}' "
                          f"fill='{color}'>{escape(text)}</text>")

    def arrow(self, x1, y1, x2, y2, label=(), dx=0, dy=-8):
        self.parts.append(f"<line x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}' stroke='#444' stroke-width='1.5' "
                          "marker-end='url(#arrow)'/>")
        for i, line in enumerate(label):
            self.text((x1 + x2) / 2 + dx, (y1 + y2) / 2 + dy - LINE * (len(label) - 1 - i), line, size=11,
                      anchor="middle", color="#333")

    def render(self):
        return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{self.width}' height='{self.height}' "
                f"viewBox='0 0 {self.width} {self.height}'>\n" + "\n".join(self.parts) + "\n</svg>\n")


def deployment():
    """Front end -> httpd -> application."""
    svg = Svg(1100, 210, "mod_arrcert between a TLS front end and the application")
    svg.box(10, 60, 120, 90, "Client", ["browser, device,", "service"], fill="#f4f4f4", stroke="#777")
    svg.box(250, 40, 210, 130, "Front end", ["Azure App Service, HAProxy,", "nginx, Envoy, Traefik, ALB:",
                                             "terminates TLS, asks for", "the client certificate"])
    svg.box(580, 20, 290, 170, "httpd + mod_arrcert", [
        "1 header from a trusted proxy?", "2 decode (base64 DER, PEM, XFCC...)", "3 verdict cache: seen before?",
        "4 verify: CA chain, CRL, OCSP, pins,", "   issuer, subject, SAN, validity", "5 fail: 403, logged",
        "6 pass: SSL_CLIENT_* variables"], fill="#eaf6ea", stroke="#3b8a3b")
    svg.box(970, 60, 120, 90, "Application", ["PHP (mod_php,", "PHP-FPM), CGI,", "SSI, Require expr"],
            fill="#f4f4f4", stroke="#777")
    svg.arrow(130, 105, 250, 105, ["TLS with a", "client certificate"])
    svg.arrow(460, 105, 580, 105, ["HTTP + header", "X-ARR-ClientCert"])
    svg.arrow(870, 105, 970, 105, ["SSL_CLIENT_*"])
    return svg.render()


def request_path():
    """httpd's phases and what the module does in each."""
    phases = [
        ("post_read_request", ["from a peer not in ArrCertTrustedProxy: every certificate header removed"]),
        ("translate_name, map_to_storage", ["the request's section becomes known; before it, lookups see the",
                                            "virtual host's verdict only where that is the whole story"]),
        ("access_checker (check_access)", ["decode the header once per request; verdict from the request's memo,",
                                           "the memory cache, the shared cache, else judge (OpenSSL);",
                                           "refused: 403 (for subrequests and redirects too); variables set"]),
        ("access_checker_ex", ["under Satisfy Any: refuses again, so no provider grants what it refused"]),
        ("authn / authz (Require)", ["Require arrcert, arrcert-thumbprint, -issuer, -subject, -san;",
                                     "Require expr with %{SSL_CLIENT_*} reads this scope's verdict"]),
        ("fixups", ["the variables again after mod_env's SetEnv and mod_ssl, before",
                    "mod_security2; mod_ssl's SSL_CLIENT_* of a TLS hop removed"]),
        ("handler", ["PHP, CGI, SSI read SSL_CLIENT_*; REMOTE_USER from ArrCertUserName"]),
    ]
    width, x, y, gap = 760, 20, 20, 26
    heights = [36 + LINE * len(lines) for _, lines in phases]
    svg = Svg(width, y + sum(heights) + gap * (len(phases) - 1) + 20, "A request through httpd's phases")
    for (title, lines), h in zip(phases, heights):
        svg.box(x, y, width - 2 * x, h, title, [])
        for i, line in enumerate(lines):
            svg.text(x + 14, y + 40 + LINE * i, line, size=12)
        if title != phases[-1][0]:
            svg.arrow(width / 2, y + h, width / 2, y + h + gap)
        y += h + gap
    return svg.render()


DIAGRAMS = {"deployment.svg": deployment, "request-path.svg": request_path}


def main():
    check = sys.argv[1:] == ["--check"]
    stale = []
    os.makedirs(IMAGES, exist_ok=True)
    for name, draw in DIAGRAMS.items():
        path, svg = os.path.join(IMAGES, name), draw()
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
        if current != svg:
            if check:
                stale.append(name)
            else:
                with open(path, "w", encoding="utf-8") as f:
                    f.write(svg)
    if stale:
        sys.exit("diagrams.py: out of date (run make docs): " + ", ".join(stale))


if __name__ == "__main__":
    main()
