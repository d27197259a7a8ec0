#!/bin/sh
# Add chatdesk to this user's application menu (Linux): run it from the unpacked dist/chatdesk/ folder.
# `install-desktop-entry.sh --remove` takes the entry and icon away again.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
exe="$here/chatdesk"
share="${XDG_DATA_HOME:-$HOME/.local/share}"
entry="$share/applications/chatdesk.desktop"
icon="$share/icons/hicolor/256x256/apps/chatdesk.png"
if [ "${1:-}" = "--remove" ]; then
  rm -f "$entry" "$icon"
  echo "removed $entry"
  exit 0
fi
[ -x "$exe" ] || { echo "no chatdesk executable in $here" >&2; exit 1; }
case "$exe" in  # characters the Exec key would need escaped
  *[\"\`\$\\%]*) echo "move the chatdesk folder to a path without \" \` \$ \\ or %: $here" >&2; exit 1 ;;
esac
mkdir -p "$(dirname "$entry")" "$(dirname "$icon")"
cp "$here/_internal/chatdesk/assets/icon.png" "$icon"
while IFS= read -r line; do
  case "$line" in
    Exec=*) printf 'Exec="%s"\n' "$exe" ;;
    TryExec=*) printf 'TryExec=%s\n' "$exe" ;;
    *) printf '%s\n' "$line" ;;
  esac
done < "$here/chatdesk.desktop" > "$entry"
if command -v update-desktop-database >/dev/null; then update-desktop-database -q "$share/applications" || true; fi
echo "installed $entry"
