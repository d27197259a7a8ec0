#!/usr/bin/env bash
# Set up chatdesk on this machine: a venv, a portable llama-cpp-python, the package, the default model.
# With --test, also what the tests need: the test extras and Debian's chromium, xvfb and xdotool.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

venv="$root/.venv"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
py="$venv/bin/python"
pip=("$py" -m pip install --quiet --disable-pip-version-check)

wheel="$(PYTHON="$py" bash build/llama_wheel.sh)"
"${pip[@]}" "$wheel"
if [ "$want_test" = 1 ]; then "${pip[@]}" -e ".[test]"; else "${pip[@]}" -e .; fi
"$py" -m chatdesk fetch-model >/dev/null
[ "$want_test" = 1 ] && bash build/system_deps.sh
echo "chatdesk is set up in $venv" >&2
