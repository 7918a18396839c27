import os
import shutil

import pytest

from harness.pki import Pki
from harness.servers import MODULE, make_workdir, remove_workdirs


def pytest_sessionstart(session):
    if not os.path.exists(MODULE):
        raise pytest.UsageError(f"{MODULE} is missing: run 'make' first")


def pytest_sessionfinish(session, exitstatus):
    """The servers' directories go when every test passed; after a failure they keep its logs."""
    if exitstatus == 0:
        remove_workdirs()


SANITIZER_LOGS = os.environ.get("ARRCERT_SANITIZER_LOGS", "")


@pytest.fixture(autouse=True)
def no_sanitizer_report():
    """Under `make integration-asan`: a test during which httpd reported an error fails."""
    before = set(os.listdir(SANITIZER_LOGS)) if SANITIZER_LOGS else set()
    yield
    if SANITIZER_LOGS:
        new = sorted(set(os.listdir(SANITIZER_LOGS)) - before)
        reports = [open(os.path.join(SANITIZER_LOGS, name), errors="replace").read()[:4000] for name in new]
        assert not reports, "\n".join(reports)


@pytest.fixture(scope="session")
def pki():
    directory = make_workdir("arrcert-pki-")
    yield Pki(directory)
    shutil.rmtree(directory, ignore_errors=True)
