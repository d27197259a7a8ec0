"""The real default model, loaded once per test module."""

import pytest

from chatdesk.catalog import models
from chatdesk.engine.local import LocalEngine


@pytest.fixture(scope="session")
def model_path():
    path = models.find_default_model()
    assert path is not None, "the default model is missing: run `chatdesk fetch-model` (make test does)"
    return path


@pytest.fixture(scope="module")
def engine(model_path):
    engine = LocalEngine(model_path, n_ctx=2048)
    yield engine
    engine.close()


@pytest.fixture(scope="module", params=["llama-server", "llama-cpp-python"])
def inference_server(request, model_path, tmp_path_factory):
    """A real server with the default model on a free 127.0.0.1 port, shared by a module's tests."""
    from tests.servers import InferenceServer

    log = tmp_path_factory.mktemp("servers") / f"{request.param}.log"
    server = InferenceServer(request.param, model_path, n_ctx=2048, log=log)
    yield server
    server.stop()


@pytest.fixture
def start_server(model_path, tmp_path):
    """Start servers of one's own (to kill, or with an API key); all are stopped after the test."""
    from tests.servers import InferenceServer

    started = []

    def start(kind, **options):
        server = InferenceServer(kind, model_path, log=tmp_path / f"{kind}-{len(started)}.log", **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
