"""The last batch's choices: in memory at once, on disk from a thread of their own."""

from __future__ import annotations

import threading

from aipopup.gui import last_used
from aipopup.gui.last_used import LastUsed


def test_saved_choices_are_remembered_at_once_and_written_off_the_calling_thread() -> None:
    written_on: list[threading.Thread] = []
    real_write = last_used._write

    def recording_write(path: str, last: LastUsed) -> None:
        written_on.append(threading.current_thread())
        real_write(path, last)

    last_used._write = recording_write  # type: ignore[assignment]
    try:
        choice = LastUsed(op="crop", output_dir="/out", recursive=False, params={"crop": {"width": 600}})
        writer = last_used.save(choice)
        assert last_used.load() == choice  # from memory, whatever the writer is doing
        writer.join(timeout=10)
    finally:
        last_used._write = real_write  # type: ignore[assignment]
    assert written_on and written_on[0] is not threading.main_thread()
    assert last_used._read(last_used._path()) == choice  # what the next start reads


def test_a_changed_copy_does_not_change_what_is_remembered() -> None:
    last_used.save(LastUsed(op="convert", output_dir="/a")).join(timeout=10)
    mine = last_used.load()
    mine.params["convert"] = {"quality": 10}
    assert last_used.load().params == {}
