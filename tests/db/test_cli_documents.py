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


def test_cli_never_prints_terminal_control_sequences(tmp_path, db_url):
    hostile = tmp_path / "evil\u202etxt.md"
    hostile.write_text("Red \x1b[31mtext\x1b[0m and a bell\x07. " + "Plain words follow here. " * 10, encoding="utf-8")
    long_name = tmp_path / ("n" * 240 + ".txt")  # refused by the first build
    long_name.write_text("Fine text.\n", encoding="utf-8")
    assert run_cli(db_url, "init-db").returncode == 0
    r = run_cli(db_url, "import", str(hostile), str(long_name))
    assert r.returncode == 0, r.stderr
    listed = run_cli(db_url, "list").stdout
    assert "\x1b" not in listed and "\u202e" not in listed and "\x07" not in listed
    lines = listed.strip().splitlines()
    assert len(lines) == 2 and "eviltxt" in listed and "\u2026" in listed
    evil_id = next(line for line in lines if "eviltxt" in line).split("\t")[0]
    shown = run_cli(db_url, "show", evil_id).stdout
    assert "\x1b" not in shown and "\x07" not in shown and shown.startswith("Red ")
