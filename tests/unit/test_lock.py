"""The lock (build/lock/) that set-up installs from agrees with pyproject.toml: run `make lock` when it does not."""

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
LOCKS = {"app.txt": [], "test.txt": ["test"], "bundle.txt": ["build", "window"]}  # lock file: the extras it holds
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+) \\$", re.M)
HASH = re.compile(r"^    --hash=sha256:[0-9a-f]{64}", re.M)
ENVIRONMENT = {"python_version": "3.11", "sys_platform": "linux", "platform_machine": "x86_64",
               "platform_system": "Linux", "os_name": "posix", "extra": ""}


def locked(name: str) -> dict[str, str]:
    text = (ROOT / "build" / "lock" / name).read_text()
    return {canonicalize_name(package): version for package, version in PIN.findall(text)}


def wanted(extras: list[str]) -> list[Requirement]:
    project = PYPROJECT["project"]
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        found += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return [r for r in found if r.marker is None or r.marker.evaluate(ENVIRONMENT)]


@pytest.mark.parametrize("lock", LOCKS)
def test_every_dependency_is_locked_at_a_version_pyproject_allows(lock):
    pins = locked(lock)
    for requirement in wanted(LOCKS[lock]):
        name = canonicalize_name(requirement.name)
        if name == "llama-cpp-python":  # built from its sdist by build/llama_wheel.sh: see build/llama.pin
            continue
        assert name in pins, f"{requirement} is not in build/lock/{lock}: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), \
            f"build/lock/{lock} has {name}=={pins[name]}, outside {requirement}: run `make lock`"


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_package_has_a_hash_and_the_locks_agree(lock):
    text = (ROOT / "build" / "lock" / lock).read_text()
    assert len(HASH.findall(text)) >= len(PIN.findall(text)) > 0
    everything = locked("all.txt")
    for name, version in locked(lock).items():
        assert everything.get(name) == version, f"{name}: {lock} has {version}, all.txt {everything.get(name)}"


def test_llama_cpp_python_is_pinned_with_its_sdist_hash_at_pyproject_version():
    pin = (ROOT / "build" / "llama.pin").read_text().strip()
    [requirement] = [Requirement(r) for r in PYPROJECT["project"]["dependencies"] if r.startswith("llama-cpp-python")]
    version = re.match(r"llama-cpp-python==(\S+) --hash=sha256:[0-9a-f]{64}", pin)
    assert version and requirement.specifier.contains(version.group(1)), f"{pin!r} vs {requirement}: run `make lock`"
