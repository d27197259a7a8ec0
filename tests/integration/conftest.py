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
