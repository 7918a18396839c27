"""Every row of hostile_inputs.table(), sent to a real httpd: the answer it must get, a reason in
the log for each refusal, and the server still serving afterwards."""
import pytest

from harness.client import send
from harness.servers import Httpd
from hostile_inputs import table


@pytest.fixture(scope="module")
def server(pki):
    httpd = Httpd(f"""
        ArrCertMaxHeaderLength 8000
        ArrCertCACertificateFile {pki.ca.cert_path}
        <Location /any>
            ArrCertVerifyClient require
        </Location>
        <Location /alice>
            ArrCertVerifyClient require
            ArrCertSubject "CN=alice"
        </Location>
        <Location /fetch>
            ArrCertVerifyClient require
            ArrCertCARevocationFetch on
            ArrCertCARevocationCheck leaf no_crl_for_cert_ok
        </Location>
        <Location /ocsp>
            ArrCertVerifyClient require
            ArrCertOCSPEnable leaf no_ocsp_for_cert_ok
        </Location>
        """)
    for path in ("any", "alice", "fetch", "ocsp"):
        httpd.add_file(f"{path}/index.html", "hello\n")
    httpd.start()
    yield httpd
    httpd.stop()


@pytest.fixture(scope="module")
def rows(pki):
    return table(pki)


def test_the_table_is_large_enough(rows):
    assert len(rows) >= 40
    assert len({row.label for row in rows}) == len(rows)


def test_every_hostile_input(server, rows):
    wrong = []
    for row in rows:
        response = send(server, row.path, value=row.value)
        status, body = response
        log = response.log
        if status != row.status:
            wrong.append(f"{row.label}: {status}, expected {row.status} ({row.why})\n{log[-600:]}")
        elif status == 403 and "refused" not in log:
            wrong.append(f"{row.label}: 403 with no refusal line in the log")
        assert row.value[:200] not in body or len(row.value) < 8  # never echoed back
    status, _ = send(server, "/any/", value=rows[0].value)
    assert status == 200  # still serving
    assert "AH00052" not in server.error_log() and " 500 " not in server.access_log()
    assert wrong == [], "\n".join(wrong)
