# The two commands: `make run` sets up and opens chatdesk; `make test` sets up and runs every test.
# `make bundle` builds the double-clickable dist/chatdesk/ (PyInstaller, chatdesk.spec).
.PHONY: run test setup setup-test bundle

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
