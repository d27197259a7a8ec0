"""The secret without launching anything: the guard in front of a small app, the instance file, file modes."""

import os
import stat

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from chatdesk import paths
from chatdesk.desktop.guard import CONTENT_SECURITY_POLICY, LoopbackGuard
from chatdesk.desktop.instance import Instance
from chatdesk.desktop.secret import address_without_token, cookie_name, make_secret, url_with_token

SECRET = "s3cret-for-this-launch"
posix_only = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")


@pytest.fixture
def http():
    """A small app behind the guard, as chatdesk serves Gradio, on port 8000."""
    def answer(request):
        return PlainTextResponse(f"reached {request.url.path}")

    app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
    with TestClient(LoopbackGuard(app, port=8000, secret=SECRET), base_url="http://127.0.0.1:8000",
                    follow_redirects=False) as client:
        yield client


@pytest.mark.parametrize("request_options", [
    {}, {"headers": {"Authorization": "Bearer nope"}}, {"headers": {"Authorization": SECRET}},
    {"cookies": {cookie_name(8001): SECRET}}, {"cookies": {cookie_name(8000): "nope"}}, {"params": {"token": "nope"}},
], ids=["nothing", "wrong-bearer", "no-scheme", "another-ports-cookie", "wrong-cookie", "wrong-token"])
def test_without_the_secret_nothing_reaches_the_app(http, request_options):
    http.cookies = request_options.pop("cookies", {})
    for method, path in (("GET", "/"), ("GET", "/config"), ("POST", "/gradio_api/queue/join")):
        answer = http.request(method, path, **request_options)
        assert answer.status_code == 401 and "reached" not in answer.text
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_a_program_with_the_bearer_header_or_a_page_with_the_cookie_gets_through(http):
    assert http.post("/gradio_api/queue/join", headers={"Authorization": f"bearer {SECRET}"}).text == \
        "reached /gradio_api/queue/join"
    http.cookies = {cookie_name(8000): SECRET}
    answer = http.get("/config")
    assert answer.text == "reached /config" and answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_opening_the_page_with_the_token_sets_the_cookie_and_drops_the_token(http):
    answer = http.get("/", params={"view": "api", "token": SECRET})
    assert answer.status_code == 200 and "reached" not in answer.text
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{cookie_name(8000)}={SECRET};")
    assert {"HttpOnly", "SameSite=Strict", "Path=/"} <= {part.strip() for part in cookie.split(";")}
    assert 'content="0;url=/?view=api"' in answer.text and SECRET not in answer.text
    assert http.get("/").text == "reached /", "the cookie lets the page in from now on"


def test_gradios_own_start_up_call_is_the_one_request_let_through_without_the_secret(http):
    assert http.get("/gradio_api/startup-events").text == "reached /gradio_api/startup-events"
    assert http.post("/gradio_api/startup-events").status_code == 401


@pytest.mark.parametrize("path, query, address", [
    ("/", f"token={SECRET}", "/"), ("/", f"view=api&token={SECRET}", "/?view=api"),
    ("//elsewhere.example/x", f"token={SECRET}", "/elsewhere.example/x"),  # never off the app
    ("/\\elsewhere.example", f"token={SECRET}", "/elsewhere.example"),
])
def test_the_page_reopens_its_own_address_without_the_token(path, query, address):
    assert address_without_token(path, query) == address


def test_each_launch_has_its_own_secret_in_the_windows_address():
    first, second = make_secret(), make_secret()
    assert first != second and len(first) >= 40
    assert url_with_token("http://127.0.0.1:1/", first) == f"http://127.0.0.1:1/?token={first}"
    assert url_with_token("http://127.0.0.1:1/", "") == "http://127.0.0.1:1/"  # an older chatdesk runs: no secret


@posix_only
def test_the_instance_file_holds_the_secret_for_its_user_only(tmp_path):
    instance = Instance(tmp_path)
    assert instance.claim()
    try:
        instance.publish("http://127.0.0.1:1/", SECRET)
        assert stat.S_IMODE(instance.info_file.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "instance.lock").stat().st_mode) == 0o600
        later = Instance(tmp_path)  # what a second launch reads
        later.info_file.write_text(instance.info_file.read_text().replace(f'"pid": {os.getpid()}', '"pid": 1'))
        assert later.running(timeout=1).secret == SECRET
    finally:
        instance.release()


@pytest.fixture
def restored_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@posix_only
def test_folders_of_an_older_chatdesk_are_closed_to_other_accounts_and_new_files_are_private(private_home,
                                                                                               restored_umask):
    old_files = [paths.data_dir() / "chatdesk.db", paths.data_dir() / "settings.json", paths.log_dir() / "chatdesk.log",
                 paths.cache_dir() / "prompt-cache" / "m" / "state.bin", paths.cache_dir() / "exports" / "chat.md"]
    for file in old_files:
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        file.write_text("x")
        file.chmod(0o644)
    paths.keep_private()

    for folder in (paths.data_dir(), paths.cache_dir(), paths.log_dir(), paths.cache_dir() / "prompt-cache" / "m"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    assert {file.name: stat.S_IMODE(file.stat().st_mode) for file in old_files} == {f.name: 0o600 for f in old_files}
    (paths.data_dir() / "new.json").write_text("{}")
    (paths.cache_dir() / "gradio").mkdir()
    assert stat.S_IMODE((paths.data_dir() / "new.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((paths.cache_dir() / "gradio").stat().st_mode) == 0o700
