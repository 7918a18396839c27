#!/usr/bin/python3
"""Writes mod_arrcert(5), the directive reference, from the directive table of README.md.

usage: directives_man.py README.md VERSION > mod_arrcert.5
"""
import re
import sys


def roff(text):
    text = re.sub(r"`([^`]*)`", r"\\fB\1\\fR", text)
    text = text.replace("\\|", "|").replace("-", "\\-")
    text = re.sub(r"\*\*([^*]*)\*\*", r"\\fB\1\\fR", text)
    text = re.sub(r"\*([^*]+)\*", r"\\fI\1\\fR", text)
    return re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", text)


def main():
    readme, version = sys.argv[1], sys.argv[2]
    rows = []
    for line in open(readme, encoding="utf-8"):
        if not line.startswith("| `ArrCert"):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if len(cells) == 3:
            rows.append(cells)
    if not rows:
        sys.exit("no directive rows found in " + readme)
    out = [f'.TH MOD_ARRCERT 5 "" "mod_arrcert {version}" "Apache httpd configuration"',
           ".SH NAME", "mod_arrcert \\- check client certificates forwarded by a TLS front end",
           ".SH SYNOPSIS", "a2enmod arrcert", ".SH DESCRIPTION",
           "mod_arrcert reads the client certificate that a TLS-terminating front end forwards in a request "
           "header, checks it with the rules below, refuses a request that fails with 403, and exports "
           "mod_ssl's SSL_CLIENT_* variables. See /usr/share/doc/libapache2-mod-arrcert/README.md.gz.",
           ".SH DIRECTIVES"]
    for syntax, default, description in rows:
        out += [".TP", roff(syntax), f"Default: {roff(default)}. {roff(description)}"]
    out += [".SH SEE ALSO", ".BR arrcert (1),", ".BR apache2 (8)"]
    print("\n".join(out))


main()
