"""The watch-folder poller on real files: ready only when stable, never temporaries, once per
file, remembered across restarts."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from aipopup.core.watch import (
    DEFAULT_OUTPUT_NAME,
    FolderWatcher,
    Ready,
    WatchError,
    WatchFolder,
    WatchLoop,
    is_candidate,
    load_list,
    save_list,
)


def photo(testdata: Path, index: int = 0) -> Path:
    return sorted((testdata / "faces").glob("*.jpg"))[index]


def files(ready: list[Ready]) -> list[str]:
    return [Path(f).name for item in ready for f in item.files]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def test_a_file_is_ready_once_its_size_and_time_stop_changing(tmp_path: Path, inbox: Path,
                                                              testdata: Path) -> None:
    watch = WatchFolder(str(inbox), "Web size 1600 px")
    watcher = FolderWatcher(tmp_path / "state" / "watch-state.json")
    source = photo(testdata).read_bytes()
    growing = inbox / "arriving.jpg"
    growing.write_bytes(source[: len(source) // 2])
    assert watcher.scan([watch]) == []  # first sight
    with growing.open("ab") as out:  # the copy goes on
        out.write(source[len(source) // 2:])
    assert watcher.scan([watch]) == []  # changed since the last scan: not yet
    ready = watcher.scan([watch])
    assert files(ready) == ["arriving.jpg"] and ready[0].watch == watch
    assert watcher.scan([watch]) == []  # handed on once, not every scan


def test_temporaries_partials_and_hidden_files_are_never_ready(tmp_path: Path, inbox: Path,
                                                               testdata: Path) -> None:
    for name in (".hidden.jpg", ".x.aipopup-tmp-1.1~.jpg", "movie.mp4.part", "a.jpg.crdownload",
                 "real.jpg"):
        shutil.copy2(photo(testdata), inbox / name)
    (inbox / "sub").mkdir()
    shutil.copy2(photo(testdata), inbox / "sub" / "nested.jpg")
    watcher = FolderWatcher(tmp_path / "watch-state.json")
    watcher.scan([WatchFolder(str(inbox), "p")])
    assert files(watcher.scan([WatchFolder(str(inbox), "p")])) == ["real.jpg"]
    assert not is_candidate("photo.jpg.part") and is_candidate("photo.jpg")


def test_queued_files_are_remembered_across_a_restart(tmp_path: Path, inbox: Path,
                                                      testdata: Path) -> None:
    state = tmp_path / "state" / "watch-state.json"
    watch = WatchFolder(str(inbox), "p")
    shutil.copy2(photo(testdata, 0), inbox / "one.jpg")
    shutil.copy2(photo(testdata, 1), inbox / "two.jpg")
    first = FolderWatcher(state)
    first.scan([watch])
    ready = first.scan([watch])
    assert files(ready) == ["one.jpg", "two.jpg"]
    first.mark_queued(ready)
    assert set(json.loads(state.read_text())["queued"]) == {str(inbox / "one.jpg"), str(inbox / "two.jpg")}

    # "Closed": a file arrives, and one queued before is replaced by a new version.
    shutil.copy2(photo(testdata, 2), inbox / "three.jpg")
    shutil.copy2(photo(testdata, 3), inbox / "two.jpg")
    os.utime(inbox / "two.jpg", ns=(1, 2_000_000_000))
    second = FolderWatcher(state)
    second.scan([watch])
    assert files(second.scan([watch])) == ["three.jpg", "two.jpg"]


def test_handed_on_but_never_queued_is_offered_again_after_a_restart(tmp_path: Path, inbox: Path,
                                                                     testdata: Path) -> None:
    state = tmp_path / "watch-state.json"
    watch = WatchFolder(str(inbox), "p")
    shutil.copy2(photo(testdata), inbox / "one.jpg")
    first = FolderWatcher(state)
    first.scan([watch])
    assert files(first.scan([watch])) == ["one.jpg"]  # the app died before the batch was added
    second = FolderWatcher(state)
    second.scan([watch])
    assert files(second.scan([watch])) == ["one.jpg"]


def test_a_damaged_state_file_means_starting_afresh(tmp_path: Path, inbox: Path, testdata: Path) -> None:
    state = tmp_path / "watch-state.json"
    state.write_text("{torn")
    shutil.copy2(photo(testdata), inbox / "one.jpg")
    watcher = FolderWatcher(state)
    watcher.scan([WatchFolder(str(inbox), "p")])
    assert files(watcher.scan([WatchFolder(str(inbox), "p")])) == ["one.jpg"]


def test_the_watch_list_round_trips_and_refuses_what_would_loop(tmp_path: Path, inbox: Path) -> None:
    path = tmp_path / "config" / "watch.json"
    assert load_list(path) == []
    folders = [WatchFolder(str(inbox), "Web size 1600 px"),
               WatchFolder(str(tmp_path / "b"), "ID photo 600x800", str(tmp_path / "out"))]
    save_list(path, folders)
    assert load_list(path) == folders
    assert folders[0].output() == inbox / DEFAULT_OUTPUT_NAME
    with pytest.raises(WatchError, match="another folder"):
        save_list(path, [WatchFolder(str(inbox), "p", str(inbox) + "/")])
    with pytest.raises(WatchError, match="preset"):
        WatchFolder(str(inbox), " ").check()
    path.write_text(json.dumps({"schema_version": 99, "folders": []}))
    with pytest.raises(WatchError, match="newer"):
        load_list(path)


def test_the_loop_follows_the_list_file_and_reports_ready_files(tmp_path: Path, inbox: Path,
                                                                testdata: Path) -> None:
    list_path = tmp_path / "watch.json"
    got: list[list[Ready]] = []
    loop = WatchLoop(list_path, FolderWatcher(tmp_path / "state.json"), got.append, interval=0.01,
                     accepts=lambda _w, name: name.endswith(".jpg"))
    shutil.copy2(photo(testdata), inbox / "one.jpg")
    (inbox / "notes.txt").write_text("not a photo")
    assert loop.run_once() == [] and loop.folders == []  # nothing watched yet
    save_list(list_path, [WatchFolder(str(inbox), "p")])
    loop.run_once()
    loop.run_once()
    assert [files(r) for r in got] == [["one.jpg"]]
