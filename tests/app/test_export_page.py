"""The Export and Models pages in AppTest, on a real SQLite database holding the R3 sample logs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from core import db
from core.data.r3 import import_r3_paths
from core.db import session_scope
from core.proposers.base import SpecData
from core.specs import get_or_create_spec
from tests.app.conftest import app_test, metric
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures" / "r3"


@pytest.fixture
def app(app_engine: Engine) -> AppTest:
    import_r3_paths(app_engine, [FIXTURES])
    at = app_test(timeout=60)
    at.run()
    return at


def test_export_page_counts_preview_and_filters(app: AppTest) -> None:
    app.switch_page("app_pages/export.py").run()
    assert not app.exception
    assert app.title[0].value == "Export"
    assert (metric(app, "Decided edits"), metric(app, "Documents"), metric(app, "People")) == ("48", "3", "1")
    assert "**By action:** accept" in app.markdown[0].value  # the breakdowns, one line each
    assert not app.dataframe  # the preview is drawn only once opened
    app.session_state["ex_preview_open"] = True  # as a click on the expander does
    app.run()
    preview = app.dataframe[0].value
    assert len(preview) == 20 and set(preview["action"]) <= {"accept", "reject"}
    assert not app.multiselect  # the filters are drawn once their box is opened
    app.session_state["ex_filters_open"] = True  # as a click on the expander does
    app.run()
    app.multiselect(key="ex_depths").select(3).run()
    assert metric(app, "Decided edits") == "9"
    app.multiselect(key="ex_intents").select("fluency").run()
    assert not app.exception and int(metric(app, "Decided edits")) < 9
    narrowed = metric(app, "Decided edits")
    # closed again, the box still filters, and says how many filters are set
    app.session_state["ex_filters_open"] = False
    app.run()
    assert not app.exception and not app.multiselect
    assert metric(app, "Decided edits") == narrowed
    assert any("2 filter(s) set." in c.value for c in app.caption)
    app.session_state["ex_filters_open"] = True
    app.run()
    assert app.multiselect(key="ex_depths").value == [3]  # the choices are still there


def test_export_page_prepares_downloads(app: AppTest) -> None:
    app.switch_page("app_pages/export.py").run()
    app.radio(key="ex_fmt").set_value("csv").run()
    app.button(key="ex_prepare").click().run()
    assert not app.exception
    fmt, data = app.session_state["ex_bytes"]
    assert fmt == "csv" and data.decode("utf-8").count("\n") > 48  # header + 48 rows (some hold newlines)
    assert all(r.key != "ex_trl_kind" for r in app.radio)  # only the open tab is drawn
    app.session_state["ex_tab"] = "Training data (TRL)"  # as a click on the tab does
    app.run()
    app.radio(key="ex_trl_kind").set_value("dpo").run()
    app.button(key="ex_trl_build").click().run()
    assert not app.exception
    kind, counts, stats, _zip = app.session_state["ex_trl"]
    assert kind == "dpo" and counts["train"] + counts["test"] + stats["duplicates"] == 48
    assert any("train and" in m.value for m in app.markdown)


def test_export_page_r3_files(app: AppTest) -> None:
    import io
    import json
    import zipfile

    app.switch_page("app_pages/export.py").run()
    app.session_state["ex_tab"] = "R3 logs"
    app.run()
    app.button(key="ex_r3_prepare").click().run()
    assert not app.exception
    names = zipfile.ZipFile(io.BytesIO(app.session_state["ex_r3"])).namelist()
    assert sorted(names) == sorted(p.name for p in FIXTURES.glob("*.json"))
    first = json.loads(zipfile.ZipFile(io.BytesIO(app.session_state["ex_r3"])).read(names[0]))
    assert "rev_depth_3" in first


def test_models_page_shows_lineage_and_offers_a_fine_tune(app: AppTest, tmp_path: Path) -> None:
    app.switch_page("app_pages/models.py").run()
    assert not app.exception
    assert app.title[0].value == "Models"
    assert any("transformers proposer" in i.value for i in app.info)  # only the imported R3 spec so far
    with session_scope(db.open_database()) as s:
        base = get_or_create_spec(s, SpecData(kind="hf-seq2seq", model=str(tmp_path / "model"), name="tiny"))
        get_or_create_spec(
            s, SpecData(kind="hf-seq2seq", model=str(tmp_path / "child"), name="child"), parent_id=base.id
        )
    app.run()
    lineage = app.dataframe[0].value
    assert list(lineage["proposer"])[-2:] == ["tiny", "\u2003\u2514 child"]
    assert any(b.label == "Start fine-tuning" for b in app.button)


def test_a_kept_filter_no_longer_offered_is_dropped(app: AppTest) -> None:
    app.switch_page("app_pages/export.py").run()
    everything = metric(app, "Decided edits")
    app.session_state["ex_projects"] = [9999]  # kept from earlier; that project is not offered now
    app.session_state["ex_depths"] = [3, 99]
    app.run()
    assert not app.exception
    assert any("1 filter(s) set." in c.value for c in app.caption)  # the depth; the project is dropped
    assert metric(app, "Decided edits") == "9" != everything
    app.session_state["ex_filters_open"] = True
    app.run()
    assert not app.exception
    assert (app.multiselect(key="ex_projects").value, app.multiselect(key="ex_depths").value) == ([], [3])
