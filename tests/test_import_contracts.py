"""The import contracts of pyproject.toml ([tool.importlinter]) hold: `lint-imports` in the suite, so a
broken layer rule fails the test run (docs/ARCHITECTURE.md, "The import contracts")."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
CONTRACT_IDS = {"packages", "core-is-plain", "compute-has-no-qt", "gui-uses-the-protocol", "gui-has-no-tensorflow",
                "gui-folders", "no-cycles"}


def lint_imports(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def test_every_import_contract_is_kept():
    import tomllib

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    assert {contract["id"] for contract in declared} == CONTRACT_IDS
    done = lint_imports()
    assert done.returncode == 0, done.stdout + done.stderr
    kept = re.search(r"Contracts: (\d+) kept, (\d+) broken", done.stdout)
    assert kept is not None and (int(kept.group(1)), int(kept.group(2))) == (len(CONTRACT_IDS), 0), done.stdout


def test_a_broken_contract_fails_and_names_the_import(tmp_path):
    """The check can fail: a contract the code breaks (the shell composes the inspector) is reported with
    the importing line."""
    config = tmp_path / "contracts.toml"
    config.write_text('[tool.importlinter]\nroot_package = "cnnviz"\n\n[[tool.importlinter.contracts]]\n'
                      'name = "The shell never imports the inspector"\ntype = "forbidden"\n'
                      'source_modules = ["cnnviz.gui.shell"]\nforbidden_modules = ["cnnviz.gui.inspector"]\n')
    done = lint_imports(str(config))
    assert done.returncode == 1
    assert "BROKEN" in done.stdout and "cnnviz.gui.shell.main_window -> cnnviz.gui.inspector" in done.stdout
