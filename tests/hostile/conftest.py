"""The hostile suite (see hostilekit.py): every test here is marked ``hostile``."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "/hostile/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.hostile)
