"""Every command example in docs/CLI.md runs as written, in order, in a folder laid out as the
page says (photos/, photos/more/, clip.mp4, links.txt pointing at a loopback server).

Markers, read from the end of an example line: ``# exits N`` expects exit code N (default 0);
``# not run`` skips the line (it opens the window). Documentation that drifts from the code fails
here: an option renamed, a default changed into an error, an example that no longer works.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from httpserver import TestServer

ROOT = Path(__file__).resolve().parents[1]
CLI_MD = ROOT / "docs" / "CLI.md"
FENCE = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
MARKER = re.compile(r"\s+#\s*(exits\s+(\d+)|not run\b.*)$")


@dataclass(frozen=True)
class Example:
    line: int
    argv: list[str]
    expect: int | None  # None: not run


def examples(text: str) -> list[Example]:
    found: list[Example] = []
    for block in FENCE.finditer(text):
        first_line = text.count("\n", 0, block.start(1)) + 1
        for offset, raw in enumerate(block.group(1).splitlines()):
            command = raw.strip()
            if not command.startswith("aipopup"):
                continue
            expect: int | None = 0
            marker = MARKER.search(command)
            if marker:
                expect = int(marker.group(2)) if marker.group(2) else None
                command = command[:marker.start()]
            found.append(Example(first_line + offset, shlex.split(command), expect))
    return found


def test_the_marker_parser() -> None:
    parsed = examples("```sh\naipopup run x -o 'a b'  # exits 2\naipopup  # not run: window\n"
                      "echo no\naipopup jobs list\n```\n")
    assert [(e.argv, e.expect) for e in parsed] == [
        (["aipopup", "run", "x", "-o", "a b"], 2), (["aipopup"], None), (["aipopup", "jobs", "list"], 0)]


def _workspace(root: Path, testdata: Path, server: TestServer) -> None:
    photos = root / "photos"
    (photos / "more").mkdir(parents=True)
    for name in ("biden.jpg", "knn_examples_test_obama_and_biden.jpg"):
        shutil.copy2(testdata / "faces" / name, photos / name)
    # A photo without a face, alone in photos/more, so the crop example there has a failure to show.
    Image.new("RGB", (640, 480), (90, 140, 200)).save(photos / "more" / "sky.jpg", quality=90)
    shutil.copy2(testdata / "video" / "short_hamilton_clip.mp4", root / "clip.mp4")
    links = []
    for name in ("biden.jpg", "knn_examples_test_alex_lacamoire1.jpg"):
        links.append(server.url(f"/photos/{name}"))
        server.add(f"/photos/{name}", (testdata / "faces" / name).read_bytes(), content_type="image/jpeg")
    (root / "links.txt").write_text("\n".join(links) + "\n")


@pytest.mark.slow
def test_every_cli_md_example_runs_as_written(tmp_path: Path, testdata: Path,
                                              http_server: TestServer) -> None:
    found = examples(CLI_MD.read_text(encoding="utf-8"))
    assert len(found) >= 20, "docs/CLI.md lost its examples"
    documented_ops = {e.argv[2] for e in found if e.argv[1:2] == ["run"] and e.expect == 0}
    assert {"anonymize", "crop", "detect", "convert", "process", "download"} <= documented_ops
    documented_jobs = {e.argv[2] for e in found if e.argv[1:2] == ["jobs"]}
    assert {"list", "show", "retry", "resume", "clean"} <= documented_jobs

    work = tmp_path / "work"
    work.mkdir()
    _workspace(work, testdata, http_server)
    env = dict(os.environ)
    env.update({"AIPOPUP_STATE_DIR": str(tmp_path / "state"), "AIPOPUP_CONFIG_DIR": str(tmp_path / "config"),
                "AIPOPUP_LOG_DIR": str(tmp_path / "logs"), "QT_QPA_PLATFORM": "offscreen"})
    ran = 0
    for example in found:
        if example.expect is None:
            continue
        argv = [sys.executable, "-m", "aipopup", *example.argv[1:]]
        done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=300,
                              check=False)
        where = f"docs/CLI.md:{example.line}: {shlex.join(example.argv)}"
        assert done.returncode == example.expect, (
            f"{where} exited {done.returncode}, expected {example.expect}\n{done.stdout}\n{done.stderr}")
        ran += 1
    assert ran >= 20

    # What the page says the examples did.
    assert sorted(p.name for p in (work / "blurred").iterdir()) == [
        "biden_anonymize.jpg", "knn_examples_test_obama_and_biden_anonymize.jpg"]
    assert (work / "blurred-video" / "clip_anonymize.mp4").stat().st_size > 0
    assert (work / "report" / "faces.csv").is_file() and (work / "report-json" / "faces.json").is_file()
    assert len(list((work / "web").iterdir())) == 3  # two photos and the sky, once: the re-run skipped
    assert len(list((work / "every-face").glob("*_face*.jpg"))) >= 3
    assert len(list((work / "downloads").glob("*.jpg"))) == 2
    assert (work / "downloads" / ".aipopup-downloads.jsonl").is_file()  # as the page says
    assert len(list((work / "material").rglob("*_anonymize.jpg"))) == 2
    assert not (work / "out").exists()  # the bad-usage examples wrote nothing


@pytest.mark.parametrize("op", ["anonymize", "crop", "detect", "convert", "process", "download"])
def test_every_option_of_every_operation_is_documented(op: str) -> None:
    done = subprocess.run([sys.executable, "-m", "aipopup", "run", op, "--help"], capture_output=True,
                          text=True, timeout=60, check=True)
    options = set(re.findall(r"(--[a-z][a-z0-9-]+)", done.stdout)) - {"--help", "--no-keep-metadata",
                                                                      "--no-thorough", "--no-draw",
                                                                      "--no-all-faces"}
    page = CLI_MD.read_text(encoding="utf-8")
    missing = sorted(o for o in options if f"`{o}" not in page and f"{o} " not in page)
    assert not missing, f"docs/CLI.md does not mention {missing} of 'run {op}'"


def test_exit_codes_match_the_code() -> None:
    from aipopup.app import cli

    page = CLI_MD.read_text(encoding="utf-8")
    for code in (cli.EXIT_OK, cli.EXIT_FAILED, cli.EXIT_USAGE, cli.EXIT_INTERRUPTED, cli.EXIT_BUSY):
        assert re.search(rf"^\| {code} \|", page, re.M), f"exit code {code} is not in the table"


@pytest.mark.parametrize("page", ["README.md", "CONTRIBUTING.md", "CHANGELOG.md", "docs/USER_GUIDE.md",
                                  "docs/CLI.md", "docs/TROUBLESHOOTING.md", "packaging/README.md"])
def test_relative_links_and_images_exist(page: str) -> None:
    path = ROOT / page
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", path.read_text(encoding="utf-8"))
    local = [t for t in targets if "://" not in t]
    missing = [t for t in local if not (path.parent / t).exists()]
    assert not missing, f"{page} links to missing files: {missing}"
