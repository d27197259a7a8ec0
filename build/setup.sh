#!/usr/bin/env bash
# Set up chatdesk on this machine: a venv, a portable llama-cpp-python, the package, the default model.
# With --test, also what the tests need: the test extras and Debian's chromium, xvfb, openbox, wmctrl and xdotool.
# Every Python package comes from the lock (build/lock/, exact versions and sha256 hashes; `make lock`
# regenerates it), so a new Gradio release cannot change the page under the tests.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
want_test=0
[ "${1:-}" = "--test" ] && want_test=1
lock=build/lock/app.txt
[ "$want_test" = 1 ] && lock=build/lock/test.txt

venv="$root/.venv"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
py="$venv/bin/python"
pip=("$py" -m pip install --quiet --disable-pip-version-check)

wheel="$(PYTHON="$py" bash build/llama_wheel.sh)"
"${pip[@]}" --require-hashes --no-deps -r "$lock"
"${pip[@]}" --no-deps "$wheel"  # built from the sdist build/llama.pin names; its dependencies are in the lock
"${pip[@]}" --no-deps --no-build-isolation -e .  # the build backend is in the lock too
"$py" -m pip check >&2
"$py" -m chatdesk fetch-model >/dev/null
[ "$want_test" = 1 ] && bash build/system_deps.sh
echo "chatdesk is set up in $venv (from $lock)" >&2
