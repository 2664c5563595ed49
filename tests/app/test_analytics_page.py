"""The Analytics and Learning pages in AppTest, on a real SQLite database holding simulated runs."""

from __future__ import annotations

import json

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core import db, documents
from core.db import session_scope
from core.learning import analytics, muting, preference
from core.models import Mute, Project
from core.revision import review, rounds, threads
from core.training import simulate
from tests.app.conftest import app_test, metric
from tests.proposers_for_tests import ReplaceProposer

RULES = {"Teh": "The", "teh": "the", "sunny": "bright"}
TEXTS = [
    ("Teh cat and teh dog sat. It is a sunny day.", "The cat and the dog sat. It is a sunny day."),
    ("Teh end is near, teh sunny end.", "The end is near, the sunny end."),
    ("A sunny teh morning.", "A sunny the morning."),
]


@pytest.fixture
def app(app_engine: Engine) -> AppTest:
    engine = app_engine
    pairs = [simulate.Pair(f"doc {i}", *TEXTS[i % 3]) for i in range(12)]
    # learning on (predictions appear once enough is decided) and off, in their own projects
    simulate.run_simulation(
        engine,
        pairs,
        simulate.SimulatedUser(),
        proposer=ReplaceProposer(RULES),
        project_name="sim on",
        auto_mute_after=0,
        threshold=0.0,
    )
    simulate.run_simulation(
        engine,
        pairs[:3],
        simulate.SimulatedUser(),
        proposer=ReplaceProposer(RULES),
        project_name="sim off",
        learning=False,
    )
    at = app_test(timeout=60)
    at.run()
    return at


def test_analytics_page_charts_filters_and_downloads(app: AppTest) -> None:
    app.switch_page("app_pages/analytics.py").run()
    assert not app.exception
    assert app.title[0].value == "Analytics"
    with session_scope(db.open_database()) as s:
        everything = analytics.tally(analytics.load_records(s))
        sim_on = s.exec(select(Project).where(Project.name == "sim on")).one().id
    assert metric(app, "Edits proposed") == f"{everything['proposed']:,}"
    assert metric(app, "Decided") == f"{everything['decided']:,}"
    # only the open tab is drawn, and in it the chosen breakdown: depth, intent, rule, person or proposer
    for by in ("depth", "intent", "source", "user", "proposer"):
        app.button_group(key="an_by").set_value(by).run()
        (chart,) = app.get("plotly_chart")
        assert f"an_chart_{by}" in chart.proto.id and len(app.get("download_button")) == 1
    app.button_group(key="an_by").set_value("depth").run()
    assert not [m for m in app.metric if m.label == "Predictions with a decision"]
    open_tab(app, "Preference model")
    (calibration,) = app.get("plotly_chart")  # the acceptance charts are gone with their tab
    assert "an_chart_calibration" in calibration.proto.id
    # the preference model predicted the later documents of the learning run
    assert int(metric(app, "Predictions with a decision")) > 0
    open_tab(app, "Acceptance")
    # filter to one project: the counts follow
    assert all(s.key != "an_project" for s in app.selectbox)  # the filters are drawn once their box is opened
    app.session_state["an_filters_open"] = True  # as a click on it does
    app.run()
    app.selectbox(key="an_project").set_value(sim_on).run()
    assert not app.exception
    with session_scope(db.open_database()) as s:
        only = analytics.tally(analytics.load_records(s, analytics.Filters(project_id=sim_on)))
    assert metric(app, "Edits proposed") == f"{only['proposed']:,}" != f"{everything['proposed']:,}"
    app.session_state["an_filters_open"] = False  # closed again, the box still filters
    app.run()
    assert not app.exception and all(s.key != "an_project" for s in app.selectbox)
    assert metric(app, "Edits proposed") == f"{only['proposed']:,}"
    app.session_state["an_filters_open"] = True
    app.run()
    app.radio(key="an_sessions").set_value("people only").run()
    assert not app.exception
    assert any("No proposed edits match" in i.value for i in app.info)


def test_learning_page_unmute_settings_and_project_mutes(app: AppTest) -> None:
    with session_scope(db.open_database()) as s:
        me = documents.default_user(s).id
        project_id = documents.default_project(s).id
        mine = muting.mute(s, project_id, "rule", "lingotweaker:COMMA_COMPOUND_SENTENCE", user_id=me, automatic=True)
        mine_id = mine.id
    app.switch_page("app_pages/learning.py").run()
    assert not app.exception
    assert app.title[0].value == "Learning"
    assert not any("COMMA_COMPOUND_SENTENCE" in m.value for m in app.markdown)  # only the open tab is drawn
    app.session_state["le_tab"] = "Muted"  # as a click on the tab does
    app.run()
    assert any("COMMA_COMPOUND_SENTENCE" in m.value for m in app.markdown)
    app.button(key=f"le_unmute_{mine_id}").click().run()
    assert not app.exception
    with session_scope(db.open_database()) as s:
        assert not s.get(Mute, mine_id).active
    # settings: a higher threshold, automatic muting after 5
    app.session_state["le_tab"] = "Your settings"
    app.run()
    app.slider(key="le_threshold").set_value(0.25)
    app.number_input(key="le_mute_after").set_value(5)
    app.button[[b.label for b in app.button].index("Save")].click().run()
    assert not app.exception
    with session_scope(db.open_database()) as s:
        profile = preference.get_profile(s, project_id, me)
        assert (profile.threshold, profile.auto_mute_after, profile.learning) == (0.25, 5, True)
    # the local user is an admin: in the simulated project, mute an intent for everyone, then unmute it
    with session_scope(db.open_database()) as s:
        sim_on = s.exec(select(Project).where(Project.name == "sim on")).one().id
    app.selectbox(key="le_project").set_value(sim_on).run()
    app.session_state["le_tab"] = "Muted"
    app.run()
    app.selectbox(key="le_mute_kind").set_value("intent").run()
    assert app.selectbox(key="le_mute_value_intent").options == ["fluency"]
    app.checkbox(key="le_mute_all").check()
    app.button(key="le_mute").click().run()
    assert not app.exception
    with session_scope(db.open_database()) as s:
        (row,) = muting.list_mutes(s, sim_on, None)
        assert (row.kind, row.value, row.user_id, row.active) == ("intent", "fluency", None, True)
    app.button(key=f"le_unmute_{row.id}").click().run()
    assert not app.exception
    with session_scope(db.open_database()) as s:
        assert muting.list_mutes(s, sim_on, None) == []


def open_tab(app: AppTest, name: str) -> None:
    """Select an Analytics tab, as a click on it does (the page draws only the open tab)."""
    app.session_state["an_tab"] = name
    app.run()
    assert not app.exception


def _figure(app: AppTest, key: str) -> dict:
    """The Plotly figure JSON of the chart with this key."""
    return json.loads(next(c for c in app.get("plotly_chart") if key in c.proto.id).proto.spec)


def test_analytics_charts_carry_counts_whole_depth_ticks_and_visible_zero_bars(app: AppTest) -> None:
    app.switch_page("app_pages/analytics.py").run()
    assert not app.exception
    with session_scope(db.open_database()) as s:
        rows = analytics.acceptance_by(analytics.load_records(s), "depth")
    depth = _figure(app, "an_chart_depth")
    (bar,) = depth["data"]
    assert depth["layout"]["xaxis"]["dtick"] == 1 and depth["layout"]["xaxis"]["tickformat"] == "d"
    assert depth["layout"]["yaxis"]["ticksuffix"] == "%"
    assert list(bar["x"]) == [r["depth"] for r in rows]
    assert [f"n={r['decided']:,}" in t for r, t in zip(rows, bar["text"], strict=True)] == [True] * len(rows)
    assert all(f"n={r['decided']:,}" in h for r, h in zip(rows, bar["hovertext"], strict=True))
    assert len(app.get("plotly_chart")) == 1  # one breakdown drawn at a time
    app.button_group(key="an_by").set_value("source").run()
    assert not app.exception
    # "sunny" -> "bright" is never in the reference: its rule's bar is 0%, drawn and labelled
    rules = _figure(app, "an_chart_source")
    (bar,) = rules["data"]
    i = list(bar["y"]).index("test:sunny")
    assert bar["text"][i].startswith("0% (n=") and bar["x"][i] > 0
    open_tab(app, "Rounds and time")
    rounds = _figure(app, "an_chart_rounds")
    assert rounds["layout"]["xaxis"]["dtick"] == 1


def test_cached_figures_follow_a_new_round_and_decision_at_once(app: AppTest) -> None:
    """The page's summary is cached (ui.cached), keyed by the database watermark: a new round and a
    decision show on the next run, not after the cache expires."""
    app.switch_page("app_pages/analytics.py").run()
    before = int(metric(app, "Edits proposed").replace(",", ""))
    decided = int(metric(app, "Decided").replace(",", ""))
    app.run()  # a rerun with nothing changed: served from the cache, same figures
    assert int(metric(app, "Edits proposed").replace(",", "")) == before
    engine = db.open_database()
    with session_scope(engine) as s:
        doc = documents.create_document(s, "Fresh", "Teh cat saw teh dog.")
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
    rnd = rounds.propose_round(engine, thread_id, rounds.RoundSettings(), proposer=ReplaceProposer(RULES))
    with session_scope(engine) as s:
        first = review.round_view(s, rnd.id, user_id).edits[0]
        review.decide(s, first.row.id, user_id, "accept")
    app.run()
    assert not app.exception
    assert int(metric(app, "Edits proposed").replace(",", "")) == before + 2
    assert int(metric(app, "Decided").replace(",", "")) == decided + 1


def test_a_kept_filter_no_longer_offered_is_dropped(app: AppTest) -> None:
    app.switch_page("app_pages/analytics.py").run()
    everything = metric(app, "Edits proposed")
    for key in ("an_project", "an_document", "an_user"):
        app.session_state[key] = 9999  # kept from earlier: gone now
    app.session_state["an_proposer"] = "a proposer removed since"
    app.run()
    assert not app.exception and metric(app, "Edits proposed") == everything
    app.session_state["an_filters_open"] = True
    app.run()
    assert not app.exception and metric(app, "Edits proposed") == everything
    assert [app.selectbox(key=k).value for k in ("an_project", "an_document", "an_proposer")] == [None] * 3
