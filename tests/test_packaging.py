"""Packaging contracts, checked without building: one version source, the spec carries the model
and ffmpeg, the installers' file types match what the app accepts, the self-check really checks.
The frozen build itself is tested only when AIPOPUP_TEST_FROZEN points at one (see the end)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

import aipopup
from aipopup.core.operation import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS

ROOT = Path(__file__).resolve().parents[1]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "aipopup.spec"
ISS = PACKAGING / "windows" / "aipopup.iss"
DESKTOP = PACKAGING / "linux" / "aipopup.desktop.in"
BUILD_SH = PACKAGING / "build_linux.sh"
WORKFLOW = ROOT / ".github" / "workflows" / "release.yml"
VERSION_LITERAL = re.compile(r"\b\d+\.\d+\.\d+\b")

# What "Open with AI Popup" must cover: every extension the operations accept.
MIME_OF = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jfif": "image/jpeg", ".png": "image/png",
           ".webp": "image/webp", ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff",
           ".mp4": "video/mp4", ".mov": "video/quicktime", ".mkv": "video/x-matroska",
           ".avi": "video/x-msvideo", ".webm": "video/webm", ".m4v": "video/x-m4v"}


def _isolated_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("AIPOPUP_STATE_DIR", "AIPOPUP_CONFIG_DIR", "AIPOPUP_LOG_DIR"):
        env[name] = str(tmp_path / "profile" / name.lower())
    env["TMPDIR"] = str(tmp_path / "tmp")
    (tmp_path / "tmp").mkdir()
    env["HOME"] = str(tmp_path / "home")
    return env


# -- one version source ------------------------------------------------------------------------------
def test_the_version_is_written_only_in_the_package() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)?", aipopup.__version__)
    for path in (SPEC, ISS, DESKTOP, BUILD_SH, WORKFLOW):
        text = path.read_text(encoding="utf-8")
        assert aipopup.__version__ not in text, f"{path.name} repeats the version"
    assert "aipopup.__version__" in SPEC.read_text()
    assert "aipopup.__version__" in BUILD_SH.read_text()
    assert "@VERSION@" in DESKTOP.read_text()
    iss = ISS.read_text()
    assert "#ifndef AppVersion" in iss and "#error" in iss
    assert "AppVersion={#AppVersion}" in iss
    workflow = WORKFLOW.read_text()
    assert "/DAppVersion=$env:AIPOPUP_VERSION" in workflow
    assert 'print(aipopup.__version__)' in workflow


def test_cli_version_is_the_package_version() -> None:
    done = subprocess.run([sys.executable, "-m", "aipopup", "--version"], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == f"AI Popup {aipopup.__version__}"


# -- the spec --------------------------------------------------------------------------------------
def test_spec_bundles_the_model_ffmpeg_and_resources() -> None:
    spec = SPEC.read_text()
    assert "face_model.bundled_model()" in spec
    assert "(str(MODEL), face_model.MODEL_PACKAGE)" in spec
    assert "imageio_ffmpeg.get_ffmpeg_exe()" in spec and '"imageio_ffmpeg/binaries"' in spec
    assert '"aipopup/resources"' in spec
    assert 'collect_submodules("aipopup")' in spec
    assert '"httpcore._sync.http2", "h2.connection"' in spec  # imported lazily by httpcore
    # The two files the spec points at exist in this environment, where the model locator finds
    # them: a build from here cannot silently miss one.
    import imageio_ffmpeg

    from aipopup.ops.faces import model

    assert model.bundled_model().name == "face_detection_yunet_2023mar.onnx"
    assert "imageio_ffmpeg" in Path(imageio_ffmpeg.get_ffmpeg_exe()).parts
    compile(spec, str(SPEC), "exec")  # valid Python (PyInstaller execs it)


def test_the_icon_ships_inside_the_package() -> None:
    svg = ROOT / "src" / "aipopup" / "resources" / "icons" / "aipopup.svg"
    assert svg.is_file() and svg.read_text().lstrip().startswith("<?xml")


def test_icons_render_at_every_hicolor_size(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(PACKAGING / "render_icons.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert done.returncode == 0, done.stderr
    from PIL import Image

    for size in (16, 24, 32, 48, 64, 128, 256, 512):
        with Image.open(tmp_path / f"aipopup-{size}.png") as png:
            assert png.size == (size, size)
            assert png.getchannel("A").getextrema() == (0, 255)  # transparent corners, opaque tile
    with Image.open(tmp_path / "aipopup.ico") as ico:
        assert (256, 256) in ico.info["sizes"] and (16, 16) in ico.info["sizes"]


# -- Linux and Windows installers -----------------------------------------------------------------
def test_desktop_entry_opens_every_accepted_file_type() -> None:
    entry = dict(line.split("=", 1) for line in DESKTOP.read_text().splitlines()[1:] if "=" in line)
    assert entry["Exec"] == "aipopup %F" and entry["Icon"] == "aipopup" and entry["Type"] == "Application"
    mimes = set(filter(None, entry["MimeType"].split(";")))
    for ext in IMAGE_EXTENSIONS | VIDEO_EXTENSIONS:
        assert MIME_OF[ext] in mimes, f"{ext} files would not offer 'Open with AI Popup'"


def test_windows_installer_associates_every_accepted_file_type() -> None:
    iss = ISS.read_text()
    emitted = set(re.findall(r'#emit Assoc\("(\.\w+)"\)', iss))
    assert emitted == IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
    for needle in ("{group}\\{#AppName}", "{autodesktop}\\{#AppName}", "Flags: uninsdeletekey",
                   "Flags: uninsdeletevalue", "PrivilegesRequired=lowest"):
        assert needle in iss


def test_build_script_is_valid_bash_and_checks_before_packaging() -> None:
    subprocess.run(["bash", "-n", str(BUILD_SH)], check=True, timeout=30)
    script = BUILD_SH.read_text()
    assert os.access(BUILD_SH, os.X_OK)
    # The smoke test runs before any archive is made, and the .deb carries what the issue asks.
    assert script.index("--self-check") < script.index("tar -C")
    for needle in ("AIPOPUP_QUIT_WHEN_SHOWN=1", "run anonymize", "ln -s /opt/aipopup/aipopup",
                   "usr/share/applications/aipopup.desktop", "usr/share/icons/hicolor",
                   "dpkg-deb --root-owner-group", "dpkg -r aipopup", "du -sh",
                   "if dpkg -s aipopup"):
        assert needle in script, needle
    # A maintainer script would keep the package in dpkg's "config-files" state after `dpkg -r`.
    assert "DEBIAN/postrm" not in script and "DEBIAN/postinst" not in script


def test_release_workflow_smoke_tests_and_signs_only_with_a_certificate() -> None:
    workflow = WORKFLOW.read_text()
    assert "packaging/build_linux.sh" in workflow
    assert workflow.count("--self-check") >= 3  # frozen, installed .deb, installed Windows app
    sign_steps = [block for block in workflow.split("- name: ") if block.startswith("Sign ")]
    assert len(sign_steps) == 2
    for block in sign_steps:
        assert "if: env.HAS_CERT == 'true'" in block
    assert "HAS_CERT: ${{ secrets.WINDOWS_CERT_PFX != '' }}" in workflow
    assert "\t" not in workflow  # YAML forbids tabs


# -- the self-check --------------------------------------------------------------------------------
def test_self_check_passes_and_writes_only_to_a_temporary_folder(tmp_path: Path) -> None:
    env = _isolated_env(tmp_path)
    done = subprocess.run([sys.executable, "-m", "aipopup", "--self-check"], capture_output=True,
                          text=True, timeout=300, env=env, cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"AI Popup {aipopup.__version__} self-check")
    for name in ("imports", "model", "ffmpeg", "convert", "detect", "anonymize", "video"):
        assert any(line.startswith(f"  ok    {name}") for line in lines), name
    assert "GPS removed" in done.stdout
    assert "HTTP/2 (h2 " in done.stdout
    assert lines[-1] == "self-check passed"
    # Its temporary folder is gone, and no profile, home or working-folder file was made.
    assert list((tmp_path / "tmp").iterdir()) == []
    assert not (tmp_path / "profile").exists() and not (tmp_path / "home").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]


def test_self_check_fails_with_exit_1_when_ffmpeg_is_missing(tmp_path: Path) -> None:
    env = _isolated_env(tmp_path)
    env["IMAGEIO_FFMPEG_EXE"] = str(tmp_path / "no-such-ffmpeg")  # used as given by imageio-ffmpeg
    done = subprocess.run([sys.executable, "-m", "aipopup", "--self-check"], capture_output=True,
                          text=True, timeout=300, env=env, check=False)
    assert done.returncode == 1
    assert "  FAIL  ffmpeg" in done.stdout and "  FAIL  video" in done.stdout
    assert "  ok    model" in done.stdout and "  ok    anonymize" in done.stdout
    assert done.stdout.rstrip().endswith("self-check FAILED (2)")


# -- the frozen build (only when one is given) -----------------------------------------------------
FROZEN = os.environ.get("AIPOPUP_TEST_FROZEN", "")
needs_frozen = pytest.mark.skipif(not FROZEN, reason="set AIPOPUP_TEST_FROZEN=dist/aipopup to test a build")


def _frozen_exe() -> Path:
    folder = Path(FROZEN).resolve()
    exe = folder / ("aipopup.exe" if sys.platform == "win32" else "aipopup")
    assert exe.is_file(), f"no program in {folder}"
    return exe


@needs_frozen
def test_frozen_self_check(tmp_path: Path) -> None:
    done = subprocess.run([str(_frozen_exe()), "--self-check"], capture_output=True, text=True,
                          timeout=300, env=_isolated_env(tmp_path), cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "frozen" in done.stdout.splitlines()[0]


def _frozen_faces(source: Path, out: Path, env: dict[str, str]) -> int:
    done = subprocess.run([str(_frozen_exe()), "run", "detect", str(source), "-o", str(out),
                           "--report", "faces.json"], capture_output=True, text=True, timeout=300,
                          env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (image,) = json.loads((out / "faces.json").read_text())["images"]
    return len(image["faces"])


@needs_frozen
def test_frozen_anonymize_hides_every_face(tmp_path: Path, testdata: Path) -> None:
    photo = testdata / "faces" / "knn_examples_test_obama_and_biden.jpg"
    env = _isolated_env(tmp_path)
    done = subprocess.run([str(_frozen_exe()), "run", "anonymize", str(photo), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (output,) = (tmp_path / "out").iterdir()
    assert _frozen_faces(photo, tmp_path / "before", env) >= 3  # the bundled model finds them
    assert _frozen_faces(output, tmp_path / "after", env) == 0


@needs_frozen
def test_frozen_window_opens_within_two_seconds(tmp_path: Path) -> None:
    env = {**_isolated_env(tmp_path), "QT_QPA_PLATFORM": "offscreen", "AIPOPUP_QUIT_WHEN_SHOWN": "1"}
    spawned = time.time()
    done = subprocess.run([str(_frozen_exe())], capture_output=True, text=True, timeout=60, env=env,
                          check=False)
    assert done.returncode == 0, done.stderr
    match = re.search(r"window shown at ([\d.]+)", done.stdout)
    assert match, done.stdout
    assert float(match.group(1)) - spawned < 2.0
