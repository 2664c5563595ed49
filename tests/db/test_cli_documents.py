import subprocess
import sys

from tests.conftest import REPO


def run_cli(db_url, *args, stdin=None):
    return subprocess.run(
        [sys.executable, "-m", "core", "--database-url", db_url, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        input=stdin,
        timeout=120,
    )


def test_cli_import_list_show(tmp_path, db_url):
    good = tmp_path / "essay.md"
    good.write_text("# Title\n\nSome text here.\r\n", encoding="utf-8", newline="")
    bad = tmp_path / "latin.txt"
    bad.write_bytes("Déjà vu".encode("latin-1"))
    assert run_cli(db_url, "init-db").returncode == 0
    r = run_cli(db_url, "import", str(good), str(bad))
    assert r.returncode == 1  # one file failed
    assert "latin.txt" in r.stderr and "not valid UTF-8" in r.stderr
    assert r.stdout.strip().endswith("essay")
    doc_id = r.stdout.split("\t")[0]
    listed = run_cli(db_url, "list").stdout
    assert "essay" in listed and "latin" not in listed
    shown = run_cli(db_url, "show", doc_id)
    assert shown.stdout == "# Title\n\nSome text here.\n"
    versions = run_cli(db_url, "show", doc_id, "--versions").stdout
    assert "imported" in versions
    missing = run_cli(db_url, "show", "999")
    assert missing.returncode == 2 and "No document with id 999" in missing.stderr
