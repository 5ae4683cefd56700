#!/usr/bin/env bash
# Build the one-folder bundle dist/saliency-desktop/ with PyInstaller, then print its size and
# what dominates it.
#
#   bash packaging/build.sh [--self-test] [PYINSTALLER ARGS...]
#
# Uses the project's virtual environment ($SALIENCY_VENV, default .venv; `bash setup.sh setup`
# makes it, with the embedded models) and installs PyInstaller and pyinstaller-hooks-contrib
# into it when they are missing. --self-test runs the bundle's self-test after the build.
# SALIENCY_WINDOWED=1 / SALIENCY_STRIP=0: see packaging/saliency_desktop.spec.
# SALIENCY_DIST (default dist) and SALIENCY_WORK (default build) move the output and
# PyInstaller's work folder (build/pyinstaller), e.g. out of the checkout for the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${SALIENCY_VENV:-.venv}"
PY="$VENV/bin/python"
[ -x "$PY" ] || PY="$VENV/Scripts/python.exe" # Windows (Git Bash)
if [ ! -x "$PY" ]; then
    echo "No virtual environment at $VENV: run \`bash setup.sh setup\` first." >&2
    exit 2
fi

self_test=0
if [ "${1:-}" = "--self-test" ]; then
    self_test=1
    shift
fi

if ! "$PY" -c 'import PyInstaller, _pyinstaller_hooks_contrib' 2>/dev/null; then
    echo "Installing PyInstaller into $VENV..." >&2
    # 6.11: hooks may suppress symlinks (TensorFlow's hook needs it on Linux).
    "$PY" -m pip install -q "pyinstaller>=6.11" "pyinstaller-hooks-contrib>=2024.10"
fi

DIST="${SALIENCY_DIST:-dist}"
WORK="${SALIENCY_WORK:-build}/pyinstaller"
APP="$DIST/saliency-desktop"
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" "$@" packaging/saliency_desktop.spec
seconds=$(($(date +%s) - start))

inside="$APP/_internal"
[ -d "$inside" ] || inside="$APP"
echo
echo "Built $APP in ${seconds} s ($("$PY" -m PyInstaller --version 2>/dev/null | head -1 | sed 's/^/PyInstaller /'))."
echo "Bundle size: $(du -sh "$APP" | cut -f1) ($(find "$APP" -type f | wc -l | tr -d ' ') files)."
echo "Biggest entries in $inside:"
{ du -sk "$inside"/* | sort -rn | head -10 |
    awk '{ printf "  %8.1f MB  %s\n", $1 / 1024, $2 }'; } || true

if [ "$self_test" = 1 ]; then
    exe="$APP/saliency-desktop"
    [ -x "$exe" ] || exe="$APP/saliency-desktop.exe"
    "$exe" --self-test
fi
