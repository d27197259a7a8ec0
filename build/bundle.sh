#!/usr/bin/env bash
# Build the double-clickable bundle dist/chatdesk/ from chatdesk.spec, with the same portable
# llama-cpp-python and default model that build/setup.sh installs, and PyInstaller from the lock (build/lock/).
# Usage: build/bundle.sh [DISTDIR [WORKDIR]]   (defaults: dist, build/work)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dist="$(realpath -m "${1:-dist}")"
work="$(realpath -m "${2:-build/work}")"

bash build/setup.sh
py="$root/.venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r build/lock/bundle.txt
"$py" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$dist" --workpath "$work" chatdesk.spec >&2
echo "$dist/chatdesk"
