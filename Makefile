# The two commands: `make run` sets up and opens chatdesk; `make test` sets up and runs every test.
# `make bundle` builds the double-clickable dist/chatdesk/ (PyInstaller, chatdesk.spec).
# `make lock` regenerates build/lock/ from pyproject.toml (UPGRADE=1: newest allowed releases).
.PHONY: run test setup setup-test bundle lock

run: setup
	.venv/bin/chatdesk

test: setup-test
	.venv/bin/python -m pytest

setup:
	bash build/setup.sh

setup-test:
	bash build/setup.sh --test

bundle:
	bash build/bundle.sh

lock:
	UPGRADE=$(UPGRADE) bash build/lock.sh
