"""The log files a bug report needs: written to the log folder and rotated, the last few kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aipopup.app import logging_setup


@pytest.fixture
def log_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "logs"
    logging_setup.setup_logging(folder)
    yield folder
    logging_setup.shutdown_logging()


def test_the_log_file_rotates_and_keeps_the_last_backups(log_dir: Path) -> None:
    logger = logging_setup.area_logger("core")
    line = "x" * 1000
    # enough for every backup to fill and the oldest to be dropped
    for n in range((logging_setup.BACKUPS + 2) * logging_setup.MAX_BYTES // 1000):
        logger.info("record %d %s", n, line)
    names = sorted(p.name for p in log_dir.iterdir())
    assert names == [logging_setup.LOG_FILE] + [
        f"{logging_setup.LOG_FILE}.{i}" for i in range(1, logging_setup.BACKUPS + 1)]
    assert all(p.stat().st_size <= logging_setup.MAX_BYTES for p in log_dir.iterdir())
    assert f"record {n} " in (log_dir / logging_setup.LOG_FILE).read_text(encoding="utf-8")
    ring = logging_setup.ring_buffer()
    assert ring is not None and f"record {n} " in ring.lines(last=1)[0]
