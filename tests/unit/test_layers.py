"""The layers are folders: import-linter's contracts hold, and nothing is resolved when a module is imported."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).parent / "lint-imports"


def lint(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--config", str(project / "pyproject.toml"), "--no-cache"], cwd=project,
                          capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(project)})


def test_every_layer_contract_is_kept():
    result = lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_core_module_importing_gradio_breaks_the_contracts(tmp_path):
    shutil.copytree(ROOT / "chatdesk", tmp_path / "chatdesk", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    with open(tmp_path / "chatdesk" / "core" / "session.py", "a") as module:
        module.write("\nimport gradio  # noqa\n")
    result = lint(tmp_path)
    assert result.returncode != 0
    assert "chatdesk.core.session -> gradio" in result.stdout


def test_importing_every_module_sets_nothing_and_writes_nothing(tmp_path):
    modules = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts) for p in (ROOT / "chatdesk").rglob("*.py")
                     if p.name not in ("__main__.py",))
    code = ("import os, sys, importlib; before = dict(os.environ)\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "changed = {k for k in set(os.environ) | set(before) if os.environ.get(k) != before.get(k)}\n"
            "print(sorted(changed)); print('matplotlib' in sys.modules and sys.modules['matplotlib'] is None)")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADIO", "HF_", "CHATDESK"))}
    env["HOME"] = str(tmp_path)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True)
    assert result.stdout.split("\n")[:2] == ["[]", "False"]
    assert list(tmp_path.iterdir()) == []
