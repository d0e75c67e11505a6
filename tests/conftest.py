"""Shared fixtures (the helpers they build on are in ``tests/helpers``)."""

from __future__ import annotations

from pathlib import Path

import lightning.pytorch  # noqa: F401 — its log handler binds to the session's stderr, not one test's capture
import pytest

from tests.helpers import write_tiny_libraries


@pytest.fixture(autouse=True)
def _own_int8_calibrations(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test has its own, empty ``$SFXREP_INT8_DIR``: the user's int8 calibrations (which ``--precision
    auto`` reads, and which come before the shipped ones) never reach a test, and a test's never stay behind."""
    monkeypatch.setenv("SFXREP_INT8_DIR", str(tmp_path_factory.mktemp("int8-user")))


@pytest.fixture
def tiny_libraries(tmp_path: Path) -> Path:
    """``write_tiny_libraries`` in tmp_path."""
    return write_tiny_libraries(tmp_path)

