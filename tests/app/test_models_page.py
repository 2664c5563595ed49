"""Adding a proposer on the Models page (and with the CLI) stores it for the Revise page."""

from sqlmodel import select

from core.db import session_scope
from core.models import ProposerSpec
from tests.app.conftest import app_test


def test_add_a_proposer_on_the_models_page(app_engine):
    at = app_test()
    at.switch_page("app_pages/models.py").run()
    at.text_input(key="add_spec").input("hf-seq2seq:grammarly/coedit-large?max_new_tokens=64")
    at.text_input(key="add_spec_name").input("CoEdIT <large>")
    at.button[0].click().run()
    assert not at.exception
    with session_scope(app_engine) as s:
        (row,) = s.exec(select(ProposerSpec)).all()
        assert (row.kind, row.model, row.params, row.name) == (
            "hf-seq2seq",
            "grammarly/coedit-large",
            {"max_new_tokens": 64},
            "CoEdIT <large>",
        )
    with session_scope(app_engine) as s:
        from core.documents import create_document

        create_document(s, "Doc", "Some text.")
    at.switch_page("app_pages/revise.py").run()
    assert not at.exception
    assert any(o.startswith("CoEdIT <large> (#") for o in at.selectbox(key="rv_spec").options)


def test_a_bad_spec_is_refused_with_a_message(app_engine):
    at = app_test()
    at.switch_page("app_pages/models.py").run()
    at.text_input(key="add_spec").input("gpt:whatever")
    at.button[0].click().run()
    assert any("Unknown proposer kind" in e.value for e in at.error)
    with session_scope(app_engine) as s:
        assert s.exec(select(ProposerSpec)).all() == []


def test_cli_proposer_add_and_list(app_engine, capsys):
    from core.cli import main

    url = app_engine.url.render_as_string(hide_password=False)
    assert main(["--database-url", url, "proposer", "add", "openai:http://127.0.0.1:8000/v1#llama", "--name", "L"]) == 0
    assert main(["--database-url", url, "proposer", "add", "nonsense"]) == 2
    assert main(["--database-url", url, "proposer", "list"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("1\tL\topenai:http://127.0.0.1:8000/v1#llama")
