#!/usr/bin/env bash
# Regenerate the lock (build/lock/*.txt and build/llama.pin) from pyproject.toml: exact versions and sha256
# hashes, resolved for Python 3.11 on Linux x86_64. Run it on purpose (`make lock`) after changing the
# dependencies or extras in pyproject.toml; versions already locked are kept unless UPGRADE=1 (`make lock
# UPGRADE=1` takes the newest releases pyproject's ranges allow). Review the diff, run `make setup-test`, commit.
#
#   build/lock/all.txt     every extra resolved together: the versions the other files agree with
#   build/lock/app.txt     `make run` (build/setup.sh)
#   build/lock/test.txt    `make test` (build/setup.sh --test)
#   build/lock/bundle.txt  `make bundle` (build/bundle.sh): PyInstaller and the window extra
#   build/llama.pin        llama-cpp-python's version and its sdist's hash, built by build/llama_wheel.sh
#
# llama-cpp-python itself is left out of the .txt files (its dependencies are in): set-up installs the wheel
# build/llama_wheel.sh builds from the pinned sdist. The build backend (hatchling) is locked too, so that the
# package itself installs with --no-build-isolation from locked parts only.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
uv_version=0.13.8
tools="${XDG_CACHE_HOME:-$HOME/.cache}/chatdesk/lock-tools-uv-$uv_version"
if [ ! -x "$tools/bin/uv" ]; then
  "${PYTHON:-python3}" -m venv "$tools"
  "$tools/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$uv_version"
fi
uv="$tools/bin/uv"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
lock=build/lock
mkdir -p "$lock"

# The build backend pyproject.toml names, and what hatchling asks for to install it editable (-e .).
"$tools/bin/python" -c '
import sys, tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"]))' > "$work/backend.in"
echo "editables" >> "$work/backend.in"

compile() {
  "$uv" pip compile --quiet --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu \
    --index-url https://pypi.org/simple --custom-compile-command "make lock" pyproject.toml "$work/backend.in" "$@"
}

upgrade=()
[ "${UPGRADE:-0}" = 1 ] && upgrade=(--upgrade)
compile --extra test --extra window --extra build "${upgrade[@]}" -o "$lock/all.txt"
sed -n 's/^\([A-Za-z0-9._-]*==[^ ]*\).*/\1/p' "$lock/all.txt" > "$work/pins.txt"
no_llama=(--no-emit-package llama-cpp-python -c "$work/pins.txt")
compile "${no_llama[@]}" -o "$lock/app.txt"
compile "${no_llama[@]}" --extra test -o "$lock/test.txt"
compile "${no_llama[@]}" --extra build --extra window -o "$lock/bundle.txt"
sed -i "s|$work/||g" "$lock"/*.txt  # the temp folder's name would change every file at every run

# llama-cpp-python: its version and sdist hash, one requirement line for build/llama_wheel.sh.
"$tools/bin/python" - "$lock/all.txt" > build/llama.pin <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
block = re.search(r"^llama-cpp-python==(\S+)((?: \\\n\s+--hash=\S+)+)", text, re.M)
hashes = re.findall(r"--hash=(\S+)", block.group(2))
print(f"llama-cpp-python=={block.group(1)} " + " ".join(f"--hash={h}" for h in hashes))
EOF
echo "locked: $(grep -c '==' "$lock/all.txt") packages; $(cat build/llama.pin | cut -c1-60)…" >&2
