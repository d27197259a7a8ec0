#!/usr/bin/env bash
# Build the double-clickable bundle dist/chatdesk/ from chatdesk.spec, with the same portable
# llama-cpp-python and default model that build/setup.sh installs.
# Usage: build/bundle.sh [DISTDIR [WORKDIR]]   (defaults: dist, build/work)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dist="$(realpath -m "${1:-dist}")"
work="$(realpath -m "${2:-build/work}")"

bash build/setup.sh
py="$root/.venv/bin/python"
"$py" -m pip install --quiet --disable-pip-version-check -e ".[build,window]"
# Gradio writes its components' .pyi stubs at first import; make them now so the bundle has them and
# never writes into its own folder at run time.
GRADIO_ANALYTICS_ENABLED=False "$py" -c "import gradio" >/dev/null
"$py" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$dist" --workpath "$work" chatdesk.spec >&2
echo "$dist/chatdesk"
