#!/usr/bin/env bash
# Build AI Popup for Linux: the PyInstaller folder (dist/aipopup), a .tar.gz and a .deb, after a
# smoke test of the frozen app (self-check, a real anonymize, the window offscreen in < 2 s).
#
#   packaging/build_linux.sh                  build, smoke-test, package
#   packaging/build_linux.sh --install-test   also dpkg -i the .deb, run it, dpkg -r (needs root)
#
# Environment: PYTHON (default .venv/bin/python, created with the package extra when missing),
# AIPOPUP_TEST_PHOTO (a photo for the anonymize smoke test; default: a test photo from
# ../shared/testdata when present, else a generated image), LAUNCH_LIMIT_S (default 2.0).
# Everything it writes is under build/ and dist/; the version is aipopup.__version__.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
INSTALL_TEST=0
for arg in "$@"; do
    case "$arg" in
        --install-test) INSTALL_TEST=1 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "build_linux.sh: unknown argument $arg" >&2; exit 2 ;;
    esac
done
LAUNCH_LIMIT_S="${LAUNCH_LIMIT_S:-2.0}"

step() { printf '\n== %s\n' "$*"; }

# -- Python with PyInstaller ----------------------------------------------------------------------
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
if [ ! -x "$PYTHON" ]; then
    step "creating .venv"
    python3 -m venv "$ROOT/.venv"
    PYTHON="$ROOT/.venv/bin/python"
    "$PYTHON" -m pip install --quiet -e ".[package]"
elif ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    "$PYTHON" -m pip install --quiet "pyinstaller>=6.0"
fi
VERSION="$("$PYTHON" -c 'import aipopup; print(aipopup.__version__)')"
ARCH="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
MACHINE="$(uname -m)"
echo "AI Popup $VERSION for $MACHINE ($ARCH)"

BUILD="$ROOT/build"
DIST="$ROOT/dist"
BUNDLE="$DIST/aipopup"
mkdir -p "$BUILD" "$DIST"

# -- icons and the frozen folder ------------------------------------------------------------------
step "rendering icons"
rm -rf "$BUILD/icons"
QT_QPA_PLATFORM=offscreen "$PYTHON" packaging/render_icons.py "$BUILD/icons" >/dev/null

step "PyInstaller"
started=$(date +%s)
AIPOPUP_ICON_DIR="$BUILD/icons" "$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$BUILD/pyinstaller" packaging/aipopup.spec
echo "built in $(( $(date +%s) - started )) s"

# -- smoke test, before anything is packaged ------------------------------------------------------
step "smoke test of the frozen app"
SMOKE="$(mktemp -d)"
trap 'rm -rf "$SMOKE"' EXIT
# Keep the user's own journal, settings and logs out of it.
export AIPOPUP_STATE_DIR="$SMOKE/state" AIPOPUP_CONFIG_DIR="$SMOKE/config" AIPOPUP_LOG_DIR="$SMOKE/log"

"$BUNDLE/aipopup" --version
"$BUNDLE/aipopup" --self-check

PHOTO="${AIPOPUP_TEST_PHOTO:-}"
if [ -z "$PHOTO" ] && [ -f "$ROOT/../shared/testdata/faces/biden.jpg" ]; then
    PHOTO="$ROOT/../shared/testdata/faces/biden.jpg"
fi
if [ -z "$PHOTO" ]; then
    PHOTO="$SMOKE/generated.png"
    "$PYTHON" -c "import sys, numpy, cv2; cv2.imwrite(sys.argv[1], numpy.full((240, 320, 3), 99, numpy.uint8))" "$PHOTO"
fi
"$BUNDLE/aipopup" run anonymize "$PHOTO" -o "$SMOKE/out"
out_count=$(find "$SMOKE/out" -type f | wc -l)
[ "$out_count" -eq 1 ] || { echo "anonymize wrote $out_count files, expected 1" >&2; exit 1; }
echo "anonymize: $(find "$SMOKE/out" -type f -printf '%f %s bytes')"

# Launch to window: the app prints the wall-clock time the window appeared; the median of three
# launches (the first also pays for a cold page cache) must be under the limit.
launches=()
for _ in 1 2 3; do
    spawned=$("$PYTHON" -c 'import time; print(f"{time.time():.3f}")')
    line=$(QT_QPA_PLATFORM=offscreen AIPOPUP_QUIT_WHEN_SHOWN=1 "$BUNDLE/aipopup" 2>/dev/null | grep 'window shown at')
    shown=$(echo "$line" | awk '{print $4}')
    launches+=("$("$PYTHON" -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$spawned" "$shown")")
done
median=$(printf '%s\n' "${launches[@]}" | sort -n | sed -n 2p)
echo "launch to window: ${launches[*]} s (median $median s, limit $LAUNCH_LIMIT_S s)"
"$PYTHON" -c "import sys; sys.exit(float(sys.argv[1]) >= float(sys.argv[2]))" "$median" "$LAUNCH_LIMIT_S" \
    || { echo "the window took too long to appear" >&2; exit 1; }

# -- .tar.gz --------------------------------------------------------------------------------------
step "packaging"
TARBALL="$DIST/aipopup-$VERSION-linux-$MACHINE.tar.gz"
tar -C "$DIST" -czf "$TARBALL" aipopup

# -- .deb -----------------------------------------------------------------------------------------
DEBROOT="$BUILD/deb/aipopup_$VERSION"
rm -rf "$BUILD/deb"
mkdir -p "$DEBROOT/DEBIAN" "$DEBROOT/opt" "$DEBROOT/usr/bin" "$DEBROOT/usr/share/applications" \
    "$DEBROOT/usr/share/icons/hicolor/scalable/apps" "$DEBROOT/usr/share/doc/aipopup"
cp -a "$BUNDLE" "$DEBROOT/opt/aipopup"
ln -s /opt/aipopup/aipopup "$DEBROOT/usr/bin/aipopup"
sed "s/@VERSION@/$VERSION/g" packaging/linux/aipopup.desktop.in > "$DEBROOT/usr/share/applications/aipopup.desktop"
for png in "$BUILD"/icons/aipopup-*.png; do
    size="$(basename "$png" .png)"; size="${size#aipopup-}"
    mkdir -p "$DEBROOT/usr/share/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$DEBROOT/usr/share/icons/hicolor/${size}x${size}/apps/aipopup.png"
done
cp src/aipopup/resources/icons/aipopup.svg "$DEBROOT/usr/share/icons/hicolor/scalable/apps/aipopup.svg"
cp CHANGELOG.md "$DEBROOT/usr/share/doc/aipopup/"
INSTALLED_KB=$(du -sk --exclude=DEBIAN "$DEBROOT" | cut -f1)
# Qt loads the X11 libraries only in an X11 session (Wayland needs none of them), so they are
# recommended rather than required; apt installs recommendations by default.
cat > "$DEBROOT/DEBIAN/control" <<EOF
Package: aipopup
Version: $VERSION
Section: graphics
Priority: optional
Architecture: $ARCH
Maintainer: AI Popup developers <aipopup@localhost>
Installed-Size: $INSTALLED_KB
Depends: libc6 (>= 2.28), libgl1, libegl1, libfontconfig1, libfreetype6, libxkbcommon0, libdbus-1-3
Recommends: libxkbcommon-x11-0, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-shape0, libxcb-xinerama0, libxcb-randr0, libxcb-render-util0, libxcb-image0
Homepage: https://github.com/aipopup/aipopup
Description: Blur faces, crop portraits, convert and download photos and videos in bulk
 AI Popup runs batches of photos, videos and downloads in the background: blur or
 pixelate every face before publishing (metadata removed), crop face-centred
 portraits, report the faces found, convert and resize, download lists of links.
 The face model and ffmpeg are included; nothing is downloaded at first run.
EOF
# No maintainer scripts: dpkg's triggers from hicolor-icon-theme and desktop-file-utils refresh
# the icon cache and the MIME database, and without a postrm `dpkg -r` leaves no package record
# behind (a package with one stays in the "config-files" state until purged).
DEB="$DIST/aipopup_${VERSION}_$ARCH.deb"
dpkg-deb --root-owner-group -Zxz --build "$DEBROOT" "$DEB" >/dev/null
# .desktop files are checked when the validator is installed (desktop-file-utils).
if command -v desktop-file-validate >/dev/null 2>&1; then
    desktop-file-validate "$DEBROOT/usr/share/applications/aipopup.desktop"
fi

step "sizes"
echo "bundle    $(du -sh "$BUNDLE" | cut -f1)  $BUNDLE"
echo "tar.gz    $(du -h "$TARBALL" | cut -f1)  $TARBALL"
echo "deb       $(du -h "$DEB" | cut -f1)  $DEB"

# -- install, run, remove -------------------------------------------------------------------------
if [ "$INSTALL_TEST" -eq 1 ]; then
    step "dpkg -i / aipopup --self-check / dpkg -r"
    if dpkg -s aipopup >/dev/null 2>&1; then
        echo "an aipopup package is already installed; not touching it" >&2
        exit 1
    fi
    dpkg -i "$DEB"
    ( cd / && /usr/bin/aipopup --self-check )
    dpkg -r aipopup
    if dpkg -s aipopup >/dev/null 2>&1; then
        echo "dpkg -r left the package record behind: $(dpkg -s aipopup | grep Status)" >&2
        exit 1
    fi
    leftovers=$(ls -d /opt/aipopup /usr/bin/aipopup /usr/share/applications/aipopup.desktop \
        /usr/share/icons/hicolor/*/apps/aipopup.* 2>/dev/null || true)
    if [ -n "$leftovers" ]; then
        echo "dpkg -r left files behind:" >&2
        echo "$leftovers" >&2
        exit 1
    fi
    echo "installed, self-checked and removed cleanly"
fi
echo
echo "done: AI Popup $VERSION"
