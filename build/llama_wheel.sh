#!/usr/bin/env bash
# Build llama-cpp-python once, portably, into a wheelhouse outside the checkout; print the wheel's path.
# pip's own wheel cache ignores CMAKE_ARGS, so the wheelhouse is keyed by version and flags instead.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# llama.pin: one requirement line with the sdist's sha256, written by build/lock.sh from the lock.
version="$(sed -n 's/^llama-cpp-python==\([^ ]*\).*$/\1/p' "$here/llama.pin")"
flags="-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"
key="$(printf '%s' "$flags" | sha256sum | cut -c1-12)"
python="${PYTHON:-python3}"
pytag="$("$python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
house="${CHATDESK_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/chatdesk/wheelhouse}/llama-cpp-python-$version-$pytag-$key"
wheel="$(ls "$house"/llama_cpp_python-*.whl 2>/dev/null | head -n1 || true)"
if [ -z "$wheel" ]; then
  echo "building llama-cpp-python $version ($flags) into $house; this takes several minutes, once" >&2
  mkdir -p "$house.tmp"
  CMAKE_ARGS="$flags" "$python" -m pip wheel --no-deps --no-binary llama-cpp-python --no-cache-dir \
    --require-hashes -r "$here/llama.pin" -w "$house.tmp" >&2  # the sdist is checked against its hash
  rm -rf "$house" && mv "$house.tmp" "$house"
  wheel="$(ls "$house"/llama_cpp_python-*.whl | head -n1)"
fi
echo "$wheel"
