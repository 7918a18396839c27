"""The documentation says what the code does: the directive reference and mod_arrcert(5) are generated
from the built module's command table, the contexts they state are the ones httpd enforces, and
every configuration snippet of README.md and docs/*.md passes `apache2 -t` (or, when marked as a
wrong example, fails with the message it states). The file mapping is in docs/testing.md."""
import glob
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from harness.client import send
from harness.servers import HTTPD, MODULES, ROOT, Httpd, free_port, httpd_env, make_workdir, running

BUILD = os.path.join(ROOT, "build")
TOOL = os.path.join(BUILD, "arrcert_directive_table")
BUILT_MODULE = os.path.join(BUILD, "mod_arrcert.so")  # the plain build: the tool cannot load an ASan one
GENERATOR = os.path.join(ROOT, "docs", "tools", "directives.py")
DIAGRAMS = os.path.join(ROOT, "docs", "tools", "diagrams.py")
NOTES = os.path.join(ROOT, "docs", "src", "directives.md")
DOCUMENTS = [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))
# What snippets may need beside the module and the harness's own modules.
SNIPPET_MODULES = ["proxy_module mod_proxy.so", "proxy_fcgi_module mod_proxy_fcgi.so", "headers_module mod_headers.so",
                   "rewrite_module mod_rewrite.so", "setenvif_module mod_setenvif.so"]


def load_generator():
    spec = importlib.util.spec_from_file_location("directives", GENERATOR)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generator(*args):
    return subprocess.run([sys.executable, GENERATOR, "--tool", TOOL, "--module", BUILT_MODULE, *args],
                          capture_output=True, text=True, timeout=60)


def command_table():
    run = subprocess.run([TOOL, BUILT_MODULE], capture_output=True, text=True, check=True)
    return [json.loads(line) for line in run.stdout.splitlines()]


# 1. The reference is generated, and the generator refuses what does not match the code ----------
def test_checked_in_reference_and_man_page_are_what_the_module_says():
    run = generator("--check")
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr


def test_checked_in_diagrams_are_what_the_script_draws():
    run = subprocess.run([sys.executable, DIAGRAMS, "--check"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr


@pytest.fixture
def copies(tmp_path):
    """The notes, the reference and the man page, copied where a test may change them."""
    paths = {}
    for name, source in (("notes", NOTES), ("reference", os.path.join(ROOT, "docs", "directives.md")),
                         ("man", os.path.join(ROOT, "packaging", "man", "mod_arrcert.5"))):
        paths[name] = str(tmp_path / f"{name}-{os.path.basename(source)}")
        shutil.copy(source, paths[name])
    return paths


def check_copies(copies):
    return generator("--check", "--notes", copies["notes"], "--reference", copies["reference"],
                     "--man", copies["man"])


def test_the_copies_pass_as_they_are(copies):
    assert check_copies(copies).returncode == 0


def test_a_hand_edited_reference_fails(copies):
    text = open(copies["reference"]).read().replace("| Default | 3 |", "| Default | 5 |")
    open(copies["reference"], "w").write(text)
    run = check_copies(copies)
    assert run.returncode == 1 and "out of date" in run.stderr and "+| Default | 3 |" in run.stdout


def test_a_directive_without_an_entry_fails(copies):
    text = open(copies["notes"]).read()
    text = re.sub(r"^## ArrCertClockSkew\n.*?(?=^## )", "", text, flags=re.M | re.S)
    open(copies["notes"], "w").write(text)
    run = check_copies(copies)
    assert run.returncode == 1 and "directives without a section in the notes: ArrCertClockSkew" in run.stderr


def test_an_entry_without_a_directive_fails(copies):
    with open(copies["notes"], "a") as f:
        f.write("\n## ArrCertRetired\n\nGone.\n\n```apache\nArrCertRetired on\n```\n\nBad values: any.\n")
    run = check_copies(copies)
    assert run.returncode == 1 and "for directives the module does not have: ArrCertRetired" in run.stderr


def test_an_entry_without_bad_values_or_example_fails(copies):
    text = open(copies["notes"]).read()
    text = re.sub(r"(^## ArrCertClockSkew\n.*?)^Bad values:", r"\1Any values:", text, count=1, flags=re.M | re.S)
    open(copies["notes"], "w").write(text)
    run = check_copies(copies)
    assert run.returncode == 1 and "ArrCertClockSkew: its section in the notes has no 'Bad values:'" in run.stderr


@pytest.mark.parametrize("args, help_text, problem", [
    ("FLAG", "yes|no (default off): x", "a FLAG directive's syntax is on|off"),
    ("TAKE1", "A B (default 1): x", "does not take what TAKE1 passes"),
    ("TAKE12", "A (default 1): x", "does not take what TAKE12 passes"),
    ("ITERATE", "A (default 1): x", "does not take what ITERATE passes"),
    ("TAKE1", "how long a request waits (default 10)", "is not 'SYNTAX[ (default VALUE)]: purpose'"),
    ("TAKE1", "N (default 3; per request): x", "unknown note 'per request'"),
])
def test_help_strings_that_do_not_match_their_handler_are_refused(args, help_text, problem):
    directives = load_generator()
    command = {"name": "ArrCertExample", "module": "mod_arrcert.c", "args": args,
               "context": ["server config", "virtual host"], "override": [], "help": help_text}
    with pytest.raises(directives.Problem, match=re.escape(problem)):
        directives.parse_entry(command)


def test_the_table_read_is_the_one_httpd_reads():
    """`apache2 -L` with the module loaded lists the same directives, in the same order, with the
    same help: the tool reads the table httpd uses."""
    httpd = Httpd("")
    path = httpd.write_config("")
    run = subprocess.run([HTTPD, "-L", "-f", path], capture_output=True, text=True, timeout=30, env=httpd_env())
    assert run.returncode == 0, run.stderr
    listed, lines = [], run.stdout.splitlines()
    for i, line in enumerate(lines):
        match = re.match(r"^(ArrCert\w+) \(mod_arrcert\.c\)$", line)
        if match:
            listed.append((match.group(1), lines[i + 1].strip()))
    assert listed == [(c["name"], c["help"]) for c in command_table()]


# 2. The contexts the reference states are the ones httpd enforces -------------------------------
@pytest.fixture(scope="module")
def files(pki):
    """The files the documentation names, made for the tests (the mapping in docs/testing.md)."""
    directory = make_workdir("arrcert-docs-")
    crl = os.path.join(directory, "client-ca.crl")
    pki.write_crl(crl, pki.ca)
    ca_dir, crl_dir = os.path.join(directory, "client-ca.d"), os.path.join(directory, "client-crl.d")
    os.makedirs(ca_dir)
    os.makedirs(crl_dir)
    shutil.copy(pki.ca.cert_path, os.path.join(ca_dir, "ca.pem"))
    shutil.copy(crl, os.path.join(crl_dir, "client-ca.crl"))
    subprocess.run(["openssl", "rehash", ca_dir], check=True, capture_output=True)
    secret, short = os.path.join(directory, "arrcert-cache.secret"), os.path.join(directory, "short.secret")
    with open(secret, "w") as f:
        f.write(os.urandom(32).hex())
    with open(short, "w") as f:
        f.write("01234567")
    for root, dirs, names in os.walk(directory):
        for name in dirs + names:
            os.chmod(os.path.join(root, name), 0o755 if name in dirs else 0o644)
    return {"/etc/apache2/client-ca.pem": pki.ca.cert_path, "/etc/apache2/client-ca.crl": crl,
            "/etc/apache2/client-ca.d": ca_dir, "/etc/apache2/client-crl.d": crl_dir,
            "/etc/apache2/ocsp-responder.pem": pki.server.cert_path,
            "/etc/apache2/arrcert-cache.secret": secret, "/etc/apache2/short.secret": short}


def mapped(text, files, httpd=None):
    """The documentation's file names pointed at the test's files; with `httpd`, its variables too."""
    for name, path in sorted(files.items(), key=lambda item: -len(item[0])):
        text = text.replace(name, path)
    if httpd is None:
        return text
    return f"Define APACHE_RUN_DIR {httpd.dir}\nDefine APACHE_LOG_DIR {httpd.dir}\n" + text


def reference_entries():
    directives = load_generator()
    _, notes = directives.read_notes(NOTES)
    entries = {}
    for command in command_table():
        entry = directives.parse_entry(command) | {"help": command["help"]}
        entry["example"] = directives.example_line(notes[command["name"]], command["name"])
        entries[command["name"]] = entry
    return entries


ENTRIES = reference_entries() if os.path.exists(TOOL) and os.path.exists(BUILT_MODULE) else {}
TRUST = "ArrCertCACertificateFile /etc/apache2/client-ca.pem\n"  # so that the start-up check passes


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_directive_contexts_are_the_ones_httpd_enforces(name, files):
    entry = ENTRIES[name]
    refusals = load_generator().refusals(entry)  # the messages the reference states
    httpd = Httpd("", modules=["socache_shmcb_module mod_socache_shmcb.so"])
    places = {"server config": "{line}\n", "virtual host": "<VirtualHost *:80>\n{line}\n</VirtualHost>\n",
              "directory": "<Location /probe>\n{line}\n</Location>\n"}
    for context, wrapper in places.items():
        status, output = httpd.configtest(mapped(TRUST + wrapper.format(line=entry["example"]), files, httpd))
        if context in entry["context"]:
            assert status == 0, (context, output)
        else:
            assert status != 0 and any(message in output for _, message in refusals), (context, output)


def test_directive_contexts_in_htaccess_are_the_ones_httpd_enforces(files):
    """One server, a directory per directive with its example in an .htaccess (AllowOverride
    AuthConfig): a directive the reference allows there serves, any other is a 500 naming it."""
    httpd = Httpd(mapped(TRUST, files))
    for name, entry in ENTRIES.items():
        httpd.add_file(f"{name}/index.html", "ok\n")
        httpd.add_file(f"{name}/.htaccess", mapped(entry["example"] + "\n", files))
    with running(httpd):
        for name, entry in ENTRIES.items():
            status, _ = send(httpd, f"/{name}/")
            if ".htaccess" in entry["context"]:
                assert status in (200, 403), (name, status, httpd.error_log()[-2000:])
            else:
                assert status == 500, (name, status)
                assert f"{name} not allowed here" in httpd.error_log(), name


# 3. Every configuration snippet of the documentation --------------------------------------------
def snippets():
    """(id, text, expected failure or None) for every ```apache block."""
    found = []
    for path in DOCUMENTS:
        lines = open(path, encoding="utf-8").read().split("\n")
        i = 0
        while i < len(lines):
            fence = re.match(r"^```(\S*)(.*)$", lines[i])
            if not fence:
                i += 1
                continue
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            if fence.group(1) == "apache":
                marks = fence.group(2).strip()
                failure = re.fullmatch(r'fails="([^"]+)"', marks)
                assert failure or not marks, f"{path}:{i + 1}: unknown mark {marks!r}"
                found.append((f"{os.path.relpath(path, ROOT)}:{i + 1}", "\n".join(lines[i + 1:end]) + "\n",
                              failure.group(1) if failure else None))
            i = end + 1
    return found


SNIPPETS = snippets()


def test_every_document_has_snippets_and_every_fence_is_known():
    assert {s[0].split(":")[0] for s in SNIPPETS} >= {"README.md", "docs/directives.md", "docs/front-ends.md",
                                                      "docs/operations.md", "docs/security.md", "docs/variables.md"}


@pytest.mark.parametrize("where, text, failure", SNIPPETS, ids=[s[0] for s in SNIPPETS])
def test_snippet_passes_apachectl(where, text, failure, files):
    httpd = Httpd("", modules=SNIPPET_MODULES)
    status, output = httpd.configtest(mapped(text, files, httpd))
    if failure is None:
        assert status == 0, output
    else:
        assert status != 0 and failure in output, output


def test_snippet_modules_exist():
    for module in SNIPPET_MODULES:
        assert os.path.exists(os.path.join(MODULES, module.split()[1])), module


# README's status snippet, placed beside README's first configuration (issue 29, item 1) -----------
def test_readme_status_snippet_works_beside_the_first_configuration(files, pki):
    readme = [s for s in SNIPPETS if s[0].startswith("README.md:")]
    first = readme[0][1]
    status_snippet = next(text for _, text, _ in readme if "SetHandler arrcert-status" in text)
    assert "ArrCertVerifyClient require" in first and "<VirtualHost *:80>" in first
    httpd = Httpd("", modules=["status_module mod_status.so"])
    listener = free_port()
    httpd.body = mapped(first.replace("*:80>", f"*:{httpd.port}>") +
                        status_snippet.replace("8081", str(listener)), files, httpd)
    alice = pki.leaf("doc_status_alice", "alice")
    with running(httpd):
        # The protected site as README has it, and the status page for a plain scraper.
        assert send(httpd, "/env.cgi").status == 403
        assert send(httpd, "/env.cgi", alice).status == 200
        status, body = send(httpd, "/arrcert-status?format=json", port=listener)
        assert status == 200 and alice.sha1 in body.upper().replace(":", ""), body[:500]

def handler_name_for(directive, repeatable):
    """ArrCertCARevocationFile -> add_ca_revocation_file (set_... where one line sets the value)."""
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z]|$)|[A-Z][a-z0-9]*", directive[len("ArrCert"):])
    return ("add_" if repeatable else "set_") + "_".join(word.lower() for word in words)


def test_every_handler_is_named_after_its_directive():
    """A directive with a handler of its own names it set_NAME, or add_NAME where its lines add up
    (ITERATE, or a repeatable list), so that the handler of a directive is found by its name."""
    table = open(os.path.join(ROOT, "mod_arrcert", "httpd", "command_table.cpp")).read()
    rows = re.findall(r'row\("(ArrCert\w+)",\s*(\w+),\s*(\w+),', table)
    assert len(rows) >= 20, rows
    for directive, handler, how in rows:
        assert handler in (handler_name_for(directive, False), handler_name_for(directive, True)), \
            f"{directive}: handler {handler}, expected {handler_name_for(directive, how == 'ITERATE')}"
        if how == "ITERATE":
            assert handler == handler_name_for(directive, True), (directive, handler)


LOG_CALL = re.compile(r"ap_log_(?:r|c|p)?error\((.*?)\);", re.S)


def logged_ids():
    """Each log call of the glue at info or above and its id, from the source."""
    calls = []
    for path in sorted(glob.glob(os.path.join(ROOT, "mod_arrcert", "httpd", "*.cpp"))):
        for call in LOG_CALL.findall(open(path).read()):
            levels = set(re.findall(r"APLOG_(EMERG|ALERT|CRIT|ERR|WARNING|NOTICE|INFO|DEBUG|TRACE\d)", call))
            ids = re.findall(r"ARRCERT_LOGNO\((\d{4})\)", call)
            calls.append((os.path.basename(path), levels, ids, call))
    return calls


def test_every_log_line_above_debug_has_one_id_listed_in_operations():
    calls = logged_ids()
    assert len(calls) >= 20, calls
    seen = []
    for where, levels, ids, call in calls:
        if levels <= {"DEBUG", "TRACE1", "TRACE2", "TRACE3"}:
            assert not ids, f"{where}: a debug line with an id: {call}"
            continue
        assert len(ids) == 1, f"{where}: a line at {sorted(levels)} needs ARRCERT_LOGNO(nnnn): {call}"
        seen.append("ARRCERT" + ids[0])
    assert len(seen) == len(set(seen)), f"an id used twice: {sorted(seen)}"
    operations = open(os.path.join(ROOT, "docs", "operations.md")).read()
    listed = re.findall(r"^\| (ARRCERT\d{4}) \| [^|]+ \| [^|]+ \| [^|]+ \|$", operations, re.M)
    assert len(listed) == len(set(listed)), "docs/operations.md lists an id twice"
    assert set(seen) == set(listed), (f"in the code, not in docs/operations.md: {sorted(set(seen) - set(listed))}; "
                                      f"listed but not in the code: {sorted(set(listed) - set(seen))}")
