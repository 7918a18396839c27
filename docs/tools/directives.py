#!/usr/bin/python3
"""The directive reference (docs/directives.md) and the man page mod_arrcert(5), from one source.

What each directive is (its name, arguments, contexts, override class, syntax, default, one-line
purpose) comes from the module's own command table: build/arrcert_directive_table reads it out of
the built mod_arrcert.so, as httpd does when it loads the module. The help strings there have the
form "SYNTAX[ (default VALUE[; server config only])]: purpose". The longer text of each entry
(what it does, bad values, examples) is in docs/src/directives.md, one "## ArrCertName" section
per directive. A directive without a section, or a section without a directive, is an error.

usage: directives.py [--check] [--tool PATH] [--module PATH] [--notes PATH] [--reference PATH] [--man PATH]
  writes docs/directives.md and packaging/man/mod_arrcert.5 (@VERSION@ is set by make deb);
  --check writes nothing and exits 1, with a diff, when either differs from what it would write.
"""
import argparse
import difflib
import json
import os
import re
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NOTES = os.path.join(ROOT, "docs", "src", "directives.md")
REFERENCE = os.path.join(ROOT, "docs", "directives.md")
MAN_PAGE = os.path.join(ROOT, "packaging", "man", "mod_arrcert.5")

HELP_FORM = re.compile(r"^(?P<syntax>.+?)(?: \((?P<notes>[^()]*)\))?: (?P<purpose>.+)$")
SERVER_ONLY = "server config only"


class Problem(Exception):
    pass


# The command table -----------------------------------------------------------------------------
def command_table(tool, module):
    run = subprocess.run([tool, module], capture_output=True, text=True)
    if run.returncode != 0:
        raise Problem(f"{tool} {module}: {run.stderr.strip()}")
    return [json.loads(line) for line in run.stdout.splitlines()]


def syntax_tokens(syntax):
    """Arguments split on spaces outside brackets: ("X", required) or ("[X]", optional)."""
    tokens, depth, current = [], 0, ""
    for char in syntax + " ":
        depth += (char == "[") - (char == "]")
        if char == " " and depth == 0:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
    return tokens


def is_optional(token):
    """[X] as a whole; [+|-]X is a required X with an optional sign."""
    depth = 0
    for index, char in enumerate(token):
        depth += (char == "[") - (char == "]")
        if depth == 0:
            return token.startswith("[") and index == len(token) - 1
    return False


def check_syntax(name, args, syntax):
    """The syntax the help string states takes what httpd will pass the handler."""
    tokens = syntax_tokens(syntax)
    optional = [t for t in tokens if is_optional(t)]
    required = [t for t in tokens if not is_optional(t) and t != "..."]
    repeated = tokens[-1:] == ["..."]
    shapes = {  # args_how: (required, optional, repeated) as the syntax must show them
        "FLAG": (1, 0, False), "TAKE1": (1, 0, False), "TAKE2": (2, 0, False), "TAKE3": (3, 0, False),
        "TAKE12": (1, 1, False), "TAKE13": (1, 2, False), "TAKE23": (2, 1, False), "TAKE123": (1, 2, False),
        "ITERATE": (1, None, True), "ITERATE2": (2, None, True), "NO_ARGS": (0, 0, False),
    }
    if args == "FLAG" and syntax != "on|off":
        raise Problem(f"{name}: a FLAG directive's syntax is on|off, not {syntax!r}")
    if args in shapes:
        want_required, want_optional, want_repeated = shapes[args]
        if (len(required), repeated) != (want_required, want_repeated) or \
                (want_optional is not None and len(optional) != want_optional):
            raise Problem(f"{name}: the syntax {syntax!r} does not take what {args} passes")


def parse_entry(command):
    name, help_text = command["name"], command["help"]
    match = HELP_FORM.match(help_text)
    if not match:
        raise Problem(f"{name}: help {help_text!r} is not 'SYNTAX[ (default VALUE)]: purpose' "
                      "(mod_arrcert/httpd/command_table.cpp)")
    default, server_only = None, False
    for note in filter(None, (n.strip() for n in (match["notes"] or "").split(";"))):
        if note.startswith("default "):
            default = note[len("default "):]
        elif note == SERVER_ONLY:
            server_only = True
        else:
            raise Problem(f"{name}: unknown note {note!r} in its help (default VALUE or {SERVER_ONLY})")
    check_syntax(name, command["args"], match["syntax"])
    context = command["context"]
    if server_only:
        if "server config" not in context:
            raise Problem(f"{name}: '{SERVER_ONLY}' but the table does not allow the server config")
        context = ["server config"]
    purpose = match["purpose"]
    return {"name": name, "args": command["args"], "syntax": match["syntax"], "default": default,
            "context": context, "override": command["override"], "module": command["module"].removesuffix(".c"),
            "purpose": purpose[0].upper() + purpose[1:], "server_only": server_only}


def refusals(entry):
    """What httpd itself answers to wrong arguments or a wrong place: [(case, message)]."""
    name, help_text = entry["name"], entry["help"]
    counts = {"TAKE1": "takes one argument", "TAKE2": "takes two arguments", "TAKE3": "takes three arguments",
              "TAKE12": "takes 1-2 arguments", "TAKE13": "takes 1 or 3 arguments", "TAKE23": "takes 2-3 arguments",
              "TAKE123": "takes 1-3 arguments", "ITERATE": "requires at least one argument",
              "ITERATE2": "requires at least two arguments"}
    out = []
    if entry["args"] == "FLAG":
        out.append(("anything but on or off", f"{name} must be On or Off"))
    elif entry["args"] in counts:
        out.append(("a wrong number of arguments", f"{name} {counts[entry['args']]}, {help_text}"))
    if entry["server_only"]:
        out.append(("in a <VirtualHost>", f"{name} cannot occur within <VirtualHost> section"))
    if "directory" not in entry["context"]:
        out.append(("in a <Location> (or <Directory>, <Files>, <If>, named so)",
                    f"{name} not allowed in <Location> context"))
    if ".htaccess" not in entry["context"]:
        out.append(("in an .htaccess file (its requests get 500)", f"{name} not allowed here"))
    return out


# The hand-written part -------------------------------------------------------------------------
def read_notes(path):
    """The preamble, then {directive: markdown} from the '## ArrCertName' sections."""
    text = open(path, encoding="utf-8").read()
    parts = re.split(r"^## (\S+)\n", text, flags=re.M)
    preamble, sections = parts[0], {}
    for name, body in zip(parts[1::2], parts[2::2]):
        if name in sections:
            raise Problem(f"{path}: {name} has two sections")
        sections[name] = body.strip() + "\n"
    return preamble.strip() + "\n", sections


def example_line(body, name):
    """The first line using the directive in a (valid) ```apache example of its section."""
    for block in re.findall(r"^```apache\n(.*?)^```", body, flags=re.M | re.S):
        for line in block.splitlines():
            if line.strip().split(" ", 1)[0] == name:
                return line.strip()
    return None


def show_refusals(body):
    """A deliberately wrong example (```apache fails="MESSAGE") is followed by what httpd says."""
    return re.sub(r'^```apache fails="([^"]*)"\n(.*?)^```\n',
                  lambda m: m.group(0) + f"\n`apachectl -t` refuses it: `{m.group(1)}`\n",
                  body, flags=re.M | re.S)


def merge(table, notes):
    entries = [parse_entry(command) | {"help": command["help"]} for command in table]
    names = {e["name"] for e in entries}
    missing = sorted(names - set(notes))
    stray = sorted(set(notes) - names)
    if missing:
        raise Problem(f"directives without a section in the notes: {', '.join(missing)}")
    if stray:
        raise Problem(f"sections in the notes for directives the module does not have: {', '.join(stray)}")
    for entry in entries:
        body = notes[entry["name"]]
        if not re.search(r"^Bad values:", body, flags=re.M):
            raise Problem(f"{entry['name']}: its section in the notes has no 'Bad values:' paragraph")
        if example_line(body, entry["name"]) is None:
            raise Problem(f"{entry['name']}: its section in the notes has no ```apache example using it")
        entry["notes"] = show_refusals(body)
    return sorted(entries, key=lambda e: e["name"].lower())


# Markdown --------------------------------------------------------------------------------------
def md_code_words(text):
    return re.sub(r"(<\w+>|\.htaccess)", r"`\1`", text)


def md_cell(text):
    return text.replace("|", "\\|")


def markdown(preamble, entries):
    out = ["<!-- Generated by `make docs` (docs/tools/directives.py) from the module's command table and",
           "     docs/src/directives.md: edit those, not this file. -->", "",
           "# Directive reference", "", preamble, "| Directive | Description |", "|---|---|"]
    out += [f"| [{e['name']}](#{e['name'].lower()}) | {md_cell(e['purpose'])} |" for e in entries]
    for e in entries:
        out += ["", f"## {e['name']}", "", "| | |", "|---|---|",
                f"| Description | {md_cell(e['purpose'])} |",
                f"| Syntax | `{md_cell(e['name'] + ' ' + e['syntax'])}` |"]
        if e["default"] is not None:
            out.append(f"| Default | {md_cell(e['default'])} |")
        out += [f"| Context | {', '.join(e['context'])} |",
                f"| Override | {', '.join(e['override']) or 'none'} |",
                f"| Module | {e['module']} |", ""]
        out += ["httpd's own refusals:", ""]
        out += [f"- {md_code_words(case)}: `{message}`" for case, message in refusals(e)] + [""]
        out.append(e["notes"].rstrip("\n"))
    return "\n".join(out) + "\n"


# roff ------------------------------------------------------------------------------------------
def roff_text(text):
    text = text.replace("\\", "\\e")
    text = re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"`([^`]*)`", lambda m: "\\fB" + m.group(1).replace("*", "\x00") + "\\fR", text)
    text = re.sub(r"\*\*([^*]+)\*\*", r"\\fB\1\\fR", text)
    text = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\\fI\1\\fR", text)
    text = text.replace("\x00", "*").replace("-", "\\-").replace("\\|", "|")
    return text


def roff_line(line):
    # A line that starts with . or ' would be a request.
    return "\\&" + line if line[:1] in (".", "'") else line


def roff_block(markdown_text):
    """Paragraphs, lists, fenced code and tables: what the notes use."""
    out, lines, i = [], markdown_text.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            j = i + 1
            while not lines[j].startswith("```"):
                j += 1
            out += [".PP", ".RS 4", ".nf"] + [roff_line(c.replace("\\", "\\e").replace("-", "\\-"))
                                               for c in lines[i + 1:j]] + [".fi", ".RE"]
            i = j + 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", lines[i].strip())[1:-1]]
                if not all(re.fullmatch(r":?-+:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            for cells in rows[1:]:  # the header row names the columns; each row is a tagged item
                out += [".TP", roff_line(roff_text(cells[0])), roff_line(roff_text(" \\(em ".join(cells[1:])))]
            out.append(".PP")
        elif re.match(r"^[-*] ", line):
            item = [line[2:]]
            i += 1
            while i < len(lines) and lines[i].startswith("  ") and lines[i].strip():
                item.append(lines[i].strip())
                i += 1
            out += [".IP \\(bu 2", roff_line(roff_text(" ".join(item)))]
        elif not line.strip():
            i += 1
        else:
            paragraph = []
            while i < len(lines) and lines[i].strip() and not re.match(r"^([-*] |```|\|)", lines[i]):
                paragraph.append(lines[i].strip())
                i += 1
            out += [".PP", roff_line(roff_text(" ".join(paragraph)))]
    return out


def man_page(preamble, entries):
    out = ['.TH MOD_ARRCERT 5 "" "mod_arrcert @VERSION@" "Apache httpd configuration"',
           '.\\" Generated by make docs (docs/tools/directives.py) from the command table and docs/src/directives.md.',
           ".SH NAME", "mod_arrcert \\- check client certificates forwarded by a TLS front end",
           ".SH SYNOPSIS", "a2enmod arrcert", ".SH DESCRIPTION",
           "mod_arrcert reads the client certificate that a TLS\\-terminating front end forwards in a request "
           "header, checks it with the rules below, refuses a request that fails with 403, and exports "
           "mod_ssl's SSL_CLIENT_* variables. See /usr/share/doc/libapache2\\-mod\\-arrcert/.",
           *roff_block(preamble), ".SH DIRECTIVES"]
    for e in entries:
        fields = [("Syntax", f"\\fB{e['name']}\\fR {roff_text(e['syntax'])}")]
        if e["default"] is not None:
            fields.append(("Default", roff_text(e["default"])))
        fields += [("Context", ", ".join(e["context"])), ("Override", ", ".join(e["override"]) or "none")]
        out += [".SS " + e["name"], roff_line(roff_text(e["purpose"]) + "."), ".PP", ".nf"]
        out += [roff_line(f"{label}:\t{value}") for label, value in fields] + [".fi"]
        out += [".PP", "httpd's own refusals:"]
        for case, message in refusals(e):
            out += [".IP \\(bu 2", roff_line(roff_text(case) + ": \\fB" + roff_text(message) + "\\fR")]
        out += roff_block(e["notes"])
    out += [".SH SEE ALSO", ".BR arrcert (1),", ".BR apache2 (8),", ".BR apache2ctl (8)"]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------------------------
def generate(tool, module, notes_path=NOTES, reference=REFERENCE, man=MAN_PAGE):
    preamble, notes = read_notes(notes_path)
    entries = merge(command_table(tool, module), notes)
    return {reference: markdown(preamble, entries), man: man_page(preamble, entries)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--tool", default=os.path.join(ROOT, "build", "arrcert_directive_table"))
    parser.add_argument("--module", default=os.path.join(ROOT, "build", "mod_arrcert.so"))
    parser.add_argument("--notes", default=NOTES)
    parser.add_argument("--reference", default=REFERENCE)
    parser.add_argument("--man", default=MAN_PAGE)
    options = parser.parse_args()
    try:
        outputs = generate(options.tool, options.module, options.notes, options.reference, options.man)
    except Problem as problem:
        sys.exit(f"directives.py: {problem}")
    stale = []
    for path, text in outputs.items():
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else ""
        if current == text:
            continue
        if options.check:
            stale.append(path)
            sys.stdout.writelines(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                                       os.path.relpath(path, ROOT), "generated"))
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    if stale:
        sys.exit("directives.py: out of date (run make docs): " + ", ".join(os.path.relpath(p, ROOT) for p in stale))


if __name__ == "__main__":
    main()
