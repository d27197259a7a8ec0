"""Real inference servers for the tests, each in its own process on 127.0.0.1 with the default model:
llama.cpp's C++ server (the PyPI wheel xllamacpp) and llama-cpp-python's server.

`python -m tests.servers MODEL PORT N_CTX [API_KEY]` runs the C++ server in the foreground.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.apprunner import free_port

KINDS = ("llama-server", "llama-cpp-python")
START_TIMEOUT = 120


class InferenceServer:
    """One server process; `url` ends in /v1 the way users type it."""

    def __init__(self, kind: str, model: Path, *, n_ctx: int = 2048, api_key: str | None = None, log: Path,
                 port: int | None = None):
        self.kind, self.model, self.n_ctx, self.api_key, self.log = kind, model, n_ctx, api_key, log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        with open(log, "ab") as out:
            self.process = subprocess.Popen(self._command(), stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self._wait_ready()

    def _command(self) -> list[str]:
        if self.kind == "llama-server":
            return [sys.executable, "-m", "tests.servers", str(self.model), str(self.port), str(self.n_ctx),
                    self.api_key or ""]
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(self.model), "--host", "127.0.0.1",
                   "--port", str(self.port), "--n_ctx", str(self.n_ctx), "--n_threads", "2"]
        return command + (["--api_key", self.api_key] if self.api_key else [])

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.process.returncode}:\n{self.log.read_text()}")
            try:
                if httpx.get(self.url + "/models", headers=self.headers, timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.kill()
        raise RuntimeError(f"{self.kind} did not start within {START_TIMEOUT} s:\n{self.log.read_text()}")

    def busy(self) -> bool:
        """Whether llama-server's /slots shows a slot still computing."""
        slots = httpx.get(f"http://127.0.0.1:{self.port}/slots", headers=self.headers, timeout=10).json()
        return any(slot.get("is_processing") for slot in slots)

    def kill(self) -> None:
        """Gone at once, the way a crashed or unplugged server goes."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def run_llama_server(model: str, port: int, n_ctx: int, api_key: str) -> None:
    """llama.cpp's own HTTP server, from the xllamacpp wheel, until killed."""
    import threading

    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model
    params.port = port
    params.n_ctx = n_ctx
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    params.endpoint_slots = True
    if api_key:
        params.api_keys = [api_key]
    server = xllamacpp.Server(params)  # serves on 127.0.0.1 from its own threads
    threading.Event().wait()
    del server


if __name__ == "__main__":
    run_llama_server(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "")
