import io

import docx
import pytest

from core.errors import InputError
from core.files import decode_bytes, prepare_text, read_upload, safe_filename
from core.text.sizes import format_size

MB = 1_000_000
MIB = 1024 * 1024


def make_docx(paragraphs: list[str]) -> bytes:
    d = docx.Document()
    for p in paragraphs:
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_text_is_kept_exactly_except_crlf_which_is_recorded():
    text = "  Tabs\tand  spaces ✓ كلمة 中文 e\u0301\r\nnext\rlone CR\n\n"
    prepared = prepare_text(text, MB)
    assert prepared.text == text.replace("\r\n", "\n")
    assert "\r" in prepared.text  # a lone CR is not touched
    assert prepared.notes and "CRLF" in prepared.notes[0] and "1 lines" in prepared.notes[0]
    assert prepare_text("plain\n", MB).notes == ()


@pytest.mark.parametrize("text", ["", "   ", "\n\t \r\n"])
def test_empty_or_whitespace_is_refused(text):
    with pytest.raises(InputError, match="empty"):
        prepare_text(text, MB)


def test_size_limit_names_sizes_in_mib_and_says_to_split():
    with pytest.raises(InputError) as refused:
        prepare_text("x" * (3 * MIB + MIB // 10), 2 * MIB)
    message = str(refused.value)
    assert "3.1 MiB" in message and "the limit is 2 MiB" in message
    assert "Split the document into parts of at most 2 MiB" in message
    assert "REDRAFT" not in message and " MB" not in message  # no setting, one unit
    assert prepare_text("é" * 1000, 2000).text  # 2000 bytes exactly is allowed


def test_a_size_just_over_the_limit_does_not_read_as_the_limit():
    with pytest.raises(InputError, match=r"is just over 2 MiB; the limit is 2 MiB"):
        prepare_text("x" * (2 * MIB + 3), 2 * MIB)


def test_an_upload_far_over_the_limit_is_refused_in_mib_before_decoding():
    with pytest.raises(InputError, match=r"'big.txt' is 8 MiB; .*Split the document") as refused:
        read_upload("big.txt", b"x" * (8 * MIB), 1 * MIB)
    assert "REDRAFT" not in str(refused.value)


@pytest.mark.parametrize(
    ("n", "shown"),
    [(2 * MIB, "2 MiB"), (2_200_000, "2.1 MiB"), (50_000, "0.05 MiB"), (0, "0 MiB"), (64 * MIB, "64 MiB")],
)
def test_format_size_is_one_unit(n, shown):
    assert format_size(n) == shown


def test_binary_file_is_refused():
    with pytest.raises(InputError, match="binary"):
        read_upload("photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", MB)


def test_non_utf8_file_names_encodings_tried_and_a_guess():
    data = "Café au lait, naïve façade, déjà vu. ".encode("cp1252") * 5
    with pytest.raises(InputError) as err:
        read_upload("notes.txt", data, MB)
    message = str(err.value)
    assert "not valid UTF-8" in message and "Tried: utf-8, utf-16" in message
    assert "notes.txt" in message
    # choosing the encoding explicitly reads it
    assert read_upload("notes.txt", data, MB, encoding="cp1252").text.startswith("Café au lait")


def test_utf8_bom_and_utf16_are_read():
    assert decode_bytes("\ufeffHello".encode("utf-8")) == "Hello"
    assert decode_bytes("Hello wörld".encode("utf-16")) == "Hello wörld"


def test_docx_paragraphs_become_lines():
    up = read_upload("Report.docx", make_docx(["First paragraph.", "Second one."]), MB)
    assert up.text == "First paragraph.\nSecond one."
    assert up.title == "Report"


def test_corrupt_docx_is_refused():
    with pytest.raises(InputError, match="corrupt"):
        read_upload("broken.docx", b"PK\x03\x04 definitely not a zip", MB)
    with pytest.raises(InputError, match="corrupt|could not be read"):
        read_upload("plain.docx", b"just text pretending", MB)


def test_unsupported_extension():
    with pytest.raises(InputError, match="unsupported file type .pdf"):
        read_upload("paper.pdf", b"%PDF-1.4", MB)


def test_file_names_with_paths_and_html():
    name, notes = safe_filename("../../etc/passwd.txt")
    assert name == "passwd.txt" and "path separators" in notes[0]
    name, notes = safe_filename("C:\\Users\\me\\draft.md")
    assert name == "draft.md"
    name, notes = safe_filename("<img src=x onerror=alert(1)>.txt")
    assert name == "<img src=x onerror=alert(1)>.txt" and notes == []  # stored as given, rendered as text
    with pytest.raises(InputError):
        safe_filename("../")


def test_huge_upload_refused_before_decoding():
    with pytest.raises(InputError, match="limit"):
        read_upload("big.txt", b"a" * (4 * 1000 + 1), 1000)


def test_titles_and_file_names_are_plain_one_line_text_and_long_ones_are_shortened():
    from core.files import MAX_FILENAME_CHARS, MAX_TITLE_CHARS, clean_title, prepare_text, read_upload

    assert clean_title("An\nessay\twith \u202eevil\u202c\x1b[31m title") == "An essay with evil[31m title"
    assert len(clean_title("x" * 5000)) == MAX_TITLE_CHARS
    name = "r" * 240 + ".txt"
    upload = read_upload(name, b"Some text.", 10_000)  # refused by the first build
    assert upload.filename == name  # the record keeps the original name
    assert len(upload.title) <= MAX_TITLE_CHARS and upload.title.endswith("\u2026")
    assert any("shortened" in n for n in upload.notes)
    bidi = read_upload("report\u202egpj.txt", b"Some text.", 10_000)
    assert bidi.title == "reportgpj" and bidi.filename == "report\u202egpj.txt"
    assert len("x" * 300) > MAX_FILENAME_CHARS
    prepared = prepare_text("Bell\x07 and escape\x1b[2J here.\tTab\n", 10_000)
    assert prepared.text == "Bell and escape[2J here.\tTab\n"
    assert any("control character" in n for n in prepared.notes)


def test_docx_bomb_is_refused_from_its_declared_sizes_before_parsing(monkeypatch):
    import core.files
    from core.errors import InputError
    from core.files import read_upload
    from tests.hostile_inputs import docx_billion_laughs, docx_bomb, docx_bytes

    opened = []
    real = core.files._main_part
    monkeypatch.setattr(core.files, "_main_part", lambda *a: opened.append(1) or real(*a))
    bomb = docx_bomb(200)  # ~200 KB stored, 200 MB unpacked
    assert len(bomb) < 8 * 2 * 1024 * 1024
    with pytest.raises(InputError, match=r"declares [\d.]+ MiB when unpacked.*it was not opened"):
        read_upload("bomb.docx", bomb, 2 * 1024 * 1024)
    with pytest.raises(InputError, match=r"would unpack \d+ times larger"):
        read_upload("bomb.docx", docx_bomb(5), 2 * 1024 * 1024)
    with pytest.raises(InputError, match="DOCTYPE or entities"):
        read_upload("laughs.docx", docx_billion_laughs(), 2 * 1024 * 1024)
    assert opened == []  # refused before any XML was parsed
    fine = read_upload("fine.docx", docx_bytes(b"<w:p><w:r><w:t>Hello there.</w:t></w:r></w:p>"), 10_000)
    assert fine.text == "Hello there." and opened == [1]


def test_docx_tables_tabs_and_breaks_read_as_python_docx_did():
    d = docx.Document()
    d.add_paragraph("Intro")
    p = d.add_paragraph("a")
    p.add_run().add_tab()
    p.add_run("b")
    p.add_run().add_break()
    p.add_run("c")
    table = d.add_table(rows=2, cols=2)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.text = f"r{r}c{c}"
    d.add_paragraph("Outro")
    out = io.BytesIO()
    d.save(out)
    expected = [p.text for p in d.paragraphs] + ["\t".join(c.text for c in row.cells) for row in table.rows]
    assert read_upload("t.docx", out.getvalue(), MB).text == "\n".join(expected)


def test_a_small_size_is_never_zero():
    assert format_size(1000) == "0.001 MiB"
