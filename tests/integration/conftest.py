import os
import shutil

import pytest

from harness.pki import Pki
from harness.servers import MODULE, make_workdir


def pytest_sessionstart(session):
    if not os.path.exists(MODULE):
        raise pytest.UsageError(f"{MODULE} is missing: run 'make' first")


@pytest.fixture(scope="session")
def pki():
    directory = make_workdir("arrcert-pki-")
    yield Pki(directory)
    shutil.rmtree(directory, ignore_errors=True)
