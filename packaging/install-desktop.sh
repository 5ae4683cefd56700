#!/usr/bin/env bash
# Install (or remove) Saliency Desktop's menu entry, icons and AppStream metadata for the
# current user, under ${XDG_DATA_HOME:-~/.local/share}/{applications,icons/hicolor,metainfo}.
#
#   bash packaging/install-desktop.sh [--exec PATH]   install; the entry runs PATH, else the
#                                                     bundle dist/saliency-desktop/saliency-desktop
#                                                     when built, else `saliency-desktop` on PATH
#   bash packaging/install-desktop.sh --uninstall     remove what the install put there
#
# Nothing outside that folder is touched; no root needed.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
APP_ID="io.github.saliency_desktop.SaliencyDesktop"
DATA="${XDG_DATA_HOME:-$HOME/.local/share}"
SIZES=(48 128 256)

usage() {
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
    exit "${1:-0}"
}

exec_path=""
uninstall=0
while [ $# -gt 0 ]; do
    case "$1" in
    --exec)
        [ $# -ge 2 ] || usage 2
        exec_path="$2"
        shift 2
        ;;
    --exec=*)
        exec_path="${1#--exec=}"
        shift
        ;;
    --uninstall) uninstall=1 && shift ;;
    -h | --help) usage 0 ;;
    *)
        echo "install-desktop.sh: unknown argument $1" >&2
        usage 2
        ;;
    esac
done

desktop_file="$DATA/applications/$APP_ID.desktop"
metainfo_file="$DATA/metainfo/$APP_ID.metainfo.xml"
icon_files=("$DATA/icons/hicolor/scalable/apps/$APP_ID.svg")
for size in "${SIZES[@]}"; do
    icon_files+=("$DATA/icons/hicolor/${size}x${size}/apps/$APP_ID.png")
done

refresh() {
    # The desktop database maps MIME types to apps ("Open with"); the icon cache, when the user
    # has one, must be rebuilt or GTK keeps showing the old icons.
    if command -v update-desktop-database >/dev/null 2>&1 && [ -d "$DATA/applications" ]; then
        update-desktop-database -q "$DATA/applications" || true
    fi
    local theme="$DATA/icons/hicolor"
    if [ -d "$theme" ]; then
        touch "$theme"
        if command -v gtk-update-icon-cache >/dev/null 2>&1 && [ -f "$theme/icon-theme.cache" ]; then
            gtk-update-icon-cache -q -t -f "$theme" || true
        fi
    fi
}

if [ "$uninstall" = 1 ]; then
    rm -f "$desktop_file" "$metainfo_file" "${icon_files[@]}"
    refresh
    echo "Removed Saliency Desktop's menu entry, icons and metadata from $DATA."
    exit 0
fi

# The program the entry runs, as an absolute path.
if [ -z "$exec_path" ]; then
    if [ -x "$ROOT/dist/saliency-desktop/saliency-desktop" ]; then
        exec_path="$ROOT/dist/saliency-desktop/saliency-desktop"
    elif command -v saliency-desktop >/dev/null 2>&1; then
        exec_path="$(command -v saliency-desktop)"
    else
        echo "install-desktop.sh: no bundle (bash packaging/build.sh) and no saliency-desktop" \
            "on PATH (pip install .); or give --exec PATH." >&2
        exit 2
    fi
fi
if [ ! -f "$exec_path" ] || [ ! -x "$exec_path" ]; then
    echo "install-desktop.sh: $exec_path is not an executable file." >&2
    exit 2
fi
exec_path="$(cd "$(dirname "$exec_path")" && pwd)/$(basename "$exec_path")"

# Quote the path as the Desktop Entry spec asks: a path with reserved characters goes in double
# quotes, with " ` $ \ escaped by a backslash; then, the value being a string, every backslash
# is written twice (TryExec is a plain string: only that second step).
bs='\'
string_path="${exec_path//"$bs"/"$bs$bs"}"
quoted="$exec_path"
if [[ "$quoted" =~ [[:space:]\"\'\\\>\<~\|\&\;\$\*\?\#\(\)\`] ]]; then
    quoted="${quoted//"$bs"/"$bs$bs"}"
    quoted="${quoted//\"/"$bs"\"}"
    quoted="${quoted//\`/"$bs"\`}"
    quoted="${quoted//\$/"$bs"\$}"
    quoted="\"${quoted//"$bs"/"$bs$bs"}\""
fi

mkdir -p "$DATA/applications" "$DATA/metainfo"
tmp="$(mktemp "$DATA/applications/.$APP_ID.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
    Exec=saliency-desktop*) line="Exec=$quoted${line#Exec=saliency-desktop}" ;;
    TryExec=*) line="TryExec=$string_path" ;;
    esac
    printf '%s\n' "$line"
done <"$ROOT/resources/$APP_ID.desktop" >"$tmp"
chmod 644 "$tmp"
mv -f "$tmp" "$desktop_file"
trap - EXIT

install -m 644 "$ROOT/resources/$APP_ID.metainfo.xml" "$metainfo_file"
install -D -m 644 "$ROOT/resources/icons/hicolor/scalable/apps/$APP_ID.svg" "${icon_files[0]}"
for size in "${SIZES[@]}"; do
    install -D -m 644 "$ROOT/resources/icons/hicolor/${size}x${size}/apps/$APP_ID.png" \
        "$DATA/icons/hicolor/${size}x${size}/apps/$APP_ID.png"
done
refresh
echo "Installed Saliency Desktop's menu entry for $exec_path"
echo "  $desktop_file"
echo "  $metainfo_file"
echo "  icons in $DATA/icons/hicolor (48, 128, 256 px and scalable)"
