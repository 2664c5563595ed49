"""Opening a page imports no heavy library: scikit-learn, SciPy, torch, transformers and the dataset
libraries load where they are used (a fit, a fine-tune, an export), never on a page's first paint.

Checked in a fresh interpreter, importing every module the page scripts import (read from their own
`import` lines, so a new page or a new import is covered)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

from tests.conftest import REPO

HEAVY = ("sklearn", "scipy", "torch", "transformers", "trl", "peft", "datasets", "krippendorff", "lingotweaker")


def page_imports() -> list[str]:
    modules = set()
    for page in [REPO / "app.py", *sorted((REPO / "app_pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(page.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("core", "ui"):
                modules.add(node.module)
                modules.update(f"{node.module}.{a.name}" for a in node.names if a.name[0].islower())
            elif isinstance(node, ast.Import):
                modules.update(a.name for a in node.names if a.name.split(".")[0] in ("core", "ui"))
    return sorted(modules)


def test_page_imports_are_found() -> None:
    found = page_imports()
    assert "core.services.exports" in found and "ui.state" in found and "core.services.revision" in found


def test_pages_import_no_heavy_library() -> None:
    script = (
        "import importlib, json, sys\n"
        f"for name in {page_imports()!r}:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except ModuleNotFoundError:\n"
        "        pass  # `from core.services import x` where x is a name, not a module\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({list(HEAVY)!r}))))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
