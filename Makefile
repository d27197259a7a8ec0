# The two commands: `make run` sets up and opens chatdesk; `make test` sets up and runs every test.
.PHONY: run test setup setup-test

run: setup
	.venv/bin/chatdesk

test: setup-test
	.venv/bin/python -m pytest

setup:
	bash build/setup.sh

setup-test:
	bash build/setup.sh --test
