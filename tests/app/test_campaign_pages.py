"""The Campaigns page (researchers) and the Annotate page (annotators) in AppTest: creating a
campaign whose proposals job runs in the app's worker, taking Next, deciding through the review
component's outbox (set the way the browser sets it), finishing, blindness, who sees which page,
adjudication, and guidelines rendered inert."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select
from streamlit.testing.v1 import AppTest

from core import documents, specs, users
from core.access import PermissionDenied
from core.db import session_scope
from core.models import CampaignAssignment, Role, id_of, utcnow
from core.services import accounts, campaigns
from core.services import review as review_service
from tests.app.conftest import app_test
from tests.app.test_revise_page import rerun_until
from tests.campaign_helpers import SPEC, TEXT, decide_all, make_campaign
from tests.proposers_for_tests import register_test_kinds
from ui import review_widget

HOSTILE = "# Rules\nAccept real fixes.\n<script>alert(1)</script>\n![tracker](http://127.0.0.1:9/pixel.png)\n"


def as_user(at: AppTest, user_id: int, page: str) -> AppTest:
    at.session_state["user_id"] = user_id
    return at.switch_page(page)


def component_state(at: AppTest) -> dict:
    (component,) = at.get("bidi_component")
    return json.loads(component.proto.json)


def outbox_all(at: AppTest, round_id: int, action: str, edit_ids: list[int], key: str) -> None:
    items = [{"k": f"{key}{n}", "id": e, "a": action, "ms": 700} for n, e in enumerate(edit_ids)]
    at.session_state[review_widget.review_key(round_id)] = {"outbox": {"seq": 1, "items": items}}


def test_a_researcher_creates_a_campaign_and_sees_its_progress(app_engine):
    register_test_kinds()
    with session_scope(app_engine) as s:
        researcher = users.create_user(s, "rita", Role.RESEARCHER)
        ann = users.create_user(s, "anna", Role.ANNOTATOR)
        doc_ids = [id_of(documents.create_document(s, f"Doc {i}", TEXT.replace("end", f"end {i}"))) for i in range(2)]
        spec_id = id_of(specs.get_or_create_spec(s, SPEC))
        rid, aid = id_of(researcher), id_of(ann)
    at = as_user(app_test(), rid, "app_pages/campaigns.py").run()
    assert not at.exception, at.exception
    at.text_input[0].set_value("Spring batch")
    documents_box = next(m for m in at.multiselect if m.label == "Documents")
    documents_box.set_value(doc_ids)
    next(s for s in at.selectbox if s.label == "Proposer").set_value(f"spec:{spec_id}")
    next(m for m in at.multiselect if m.label == "Intents").set_value(["fluency"])
    next(m for m in at.multiselect if m.label.startswith("Annotators")).set_value([aid])
    next(b for b in at.button if b.label == "Create and make the proposals").click().run()
    assert not at.exception, at.exception
    assert any("Spring batch" in s.value for s in at.success)
    # the proposals job runs in the app's worker thread; the page shows it done
    rerun_until(at, lambda a: any(m.label == "Documents ready" and m.value == "2 / 2" for m in a.metric))
    assert next(m.value for m in at.metric if m.label == "Judgements done") == "0 / 4"
    assert len(at.get("plotly_chart")) >= 2  # documents per person, judgements per document


def test_an_annotator_takes_next_decides_and_finishes_and_the_next_one_is_blind(app_engine):
    setup = make_campaign(app_engine, docs=1, annotators=2, overlap=2, guidelines=HOSTILE)
    first, second = setup.annotators
    at = as_user(app_test(), first.user_id, "app_pages/annotate.py").run()
    assert not at.exception, at.exception
    at.button(key="an_next").click().run()
    assert not at.exception, at.exception
    data = component_state(at)
    edit_ids = [e["id"] for e in data["edits"]]
    round_id = at.session_state["_an_working"][1]
    assert len(edit_ids) == 4
    # guidelines beside the review: Markdown kept, HTML and the image inert (escaped, not fetched)
    shown = next(m.value for m in at.markdown if "Rules" in m.value)
    assert "\\<script\\>" in shown and "<script>" not in shown
    assert "\\![tracker]" in shown
    outbox_all(at, round_id, "accept", edit_ids, "a")
    at.button(key="an_finish").click().run()
    assert not at.exception, at.exception
    assert any("Finished" in s.value for s in at.success), [s.value for s in at.error]
    assert campaigns.status(app_engine, setup.researcher, setup.campaign_id).campaign["done"] == 1

    # the second annotator gets the same edits, with none of the first one's decisions
    at2 = as_user(app_test(), second.user_id, "app_pages/annotate.py").run()
    at2.button(key="an_next").click().run()
    data2 = component_state(at2)
    assert [e["id"] for e in data2["edits"]] == edit_ids
    assert data2["state"] == {}  # none of the first person's decisions reach the second one's browser
    assert {e.status for e in review_service.round_view(app_engine, second, round_id).edits} == {"pending"}
    assert {e.status for e in review_service.round_view(app_engine, first, round_id).edits} == {"accept"}


def test_finishing_with_undecided_edits_is_refused_and_an_expired_reservation_is_explained(app_engine):
    setup = make_campaign(app_engine, docs=1, annotators=1, overlap=1)
    (ann,) = setup.annotators
    at = as_user(app_test(), ann.user_id, "app_pages/annotate.py").run()
    at.button(key="an_next").click().run()
    at.button(key="an_finish").click().run()
    assert any("still undecided" in e.value for e in at.error)
    with session_scope(app_engine) as s:
        for row in s.exec(select(CampaignAssignment)):
            row.expires_at = utcnow() - timedelta(minutes=1)
            s.add(row)
    at.run()
    assert any("expired" in w.value for w in at.warning)
    assert at.button(key="an_next")  # and Next is offered again


def test_a_paused_annotator_sees_why(app_engine):
    setup = make_campaign(app_engine, docs=1, annotators=1, overlap=1)
    (ann,) = setup.annotators
    campaigns.set_paused(app_engine, setup.researcher, setup.campaign_id, ann.user_id, True)
    at = as_user(app_test(), ann.user_id, "app_pages/annotate.py").run()
    assert any("paused" in w.value and "researcher" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "an_next"]


def test_an_annotator_cannot_open_the_campaigns_page(app_engine):
    setup = make_campaign(app_engine, docs=1, annotators=1, overlap=1)
    at = as_user(app_test(), setup.annotators[0].user_id, "app_pages/campaigns.py")
    try:
        at.run()
    except Exception:  # noqa: BLE001 - a page not in the navigation may not be switched to at all
        pass
    assert not any(t.value == "Campaigns" for t in at.title)
    assert not any("c campaign" in str(getattr(w, "value", "")) for w in at.selectbox)


def test_adjudicating_a_disputed_edit_from_the_page(app_engine):
    setup = make_campaign(app_engine, docs=1, annotators=2, overlap=2)
    for ann, action in zip(setup.annotators, ("accept", "reject"), strict=True):
        work = campaigns.next_item(app_engine, ann, setup.campaign_id)
        assert work is not None
        decide_all(app_engine, ann, work.round_id, action)
        campaigns.finish_item(app_engine, ann, setup.campaign_id, work.item_id)
    queue = campaigns.adjudication_queue(app_engine, setup.researcher, setup.campaign_id)
    assert len(queue) == 4
    edit_id = queue[0].edit_id
    at = as_user(app_test(), setup.researcher.user_id, "app_pages/campaigns.py")
    at.session_state["cp_tab"] = "Adjudicate"  # as a click on the tab does: only the open tab is drawn
    at.run()
    assert not at.exception, at.exception
    at.radio(key=f"cp_act_{edit_id}").set_value("reject")
    at.button(key=f"cp_adj_{edit_id}").click().run()
    assert not at.exception, at.exception
    labels = {lab.edit_id: lab for lab in campaigns.standing_labels(app_engine, setup.researcher, setup.campaign_id)}
    assert labels[edit_id].source == "adjudicated" and labels[edit_id].label == "reject"
    assert len(campaigns.adjudication_queue(app_engine, setup.researcher, setup.campaign_id)) == 3
    assert not [b for b in at.button if b.key == f"cp_adj_{edit_id}"]  # it left the queue
    # the Agreement tab counts the four edits both people judged
    at.session_state["cp_tab"] = "Agreement"
    at.run()
    assert any(m.label == "Edits judged by 2+ people" and m.value == "4" for m in at.metric)


@pytest.mark.parametrize("export", ["labels.csv", "agreement.json", "dpo.zip"])
def test_exports_are_offered_as_downloads(app_engine, export):
    from core.services import campaign_views

    setup = make_campaign(app_engine, docs=1, annotators=2, overlap=2)
    for ann in setup.annotators:
        work = campaigns.next_item(app_engine, ann, setup.campaign_id)
        assert work is not None
        decide_all(app_engine, ann, work.round_id, "reject")
        campaigns.finish_item(app_engine, ann, setup.campaign_id, work.item_id)
    data, name = campaign_views.export_file(app_engine, setup.researcher, setup.campaign_id, export)
    assert name.endswith(export.rsplit(".", 1)[1]) and data
    if export == "labels.csv":
        assert data.decode().count("\n") == 5 and "unanimous" in data.decode()
    at = as_user(app_test(), setup.researcher.user_id, "app_pages/campaigns.py")
    at.session_state["cp_tab"] = "Export"
    at.run()
    assert not at.exception, at.exception
    assert at.get("download_button")  # the files are offered on the Export tab


def test_only_the_open_campaign_tab_is_drawn_and_each_one_runs(app_engine):
    setup = make_campaign(app_engine, docs=2, gold_docs=1, annotators=2, overlap=2)
    for ann in setup.annotators:
        work = campaigns.next_item(app_engine, ann, setup.campaign_id)
        assert work is not None
        decide_all(app_engine, ann, work.round_id, "accept" if ann is setup.annotators[0] else "reject")
        campaigns.finish_item(app_engine, ann, setup.campaign_id, work.item_id)
    at = as_user(app_test(), setup.researcher.user_id, "app_pages/campaigns.py").run()
    assert not at.exception, at.exception
    labels = [t.label for t in at.tabs]
    assert labels == ["Progress", "Agreement", "Quality", "Assign", "Adjudicate", "Export"]
    for label in labels:
        at.session_state["cp_tab"] = label
        at.run()
        assert not at.exception, (label, at.exception)
        (opened,) = [t for t in at.tabs if t.label == label]
        assert len(opened.children) > 0, label
        assert all(not t.children for t in at.tabs if t.label != label), label


def test_the_analytics_agreement_tab_shows_the_r3_sample_figures(app_engine):
    """R3's depth-1 edits are shared units: 20 judged by both people, alpha 0.304, 70% agreement."""
    from core.data.r3_import import import_r3_paths
    from tests.conftest import shared_data

    import_r3_paths(app_engine, [shared_data("r3_multi_sample")])
    at = app_test().switch_page("app_pages/analytics.py").run()  # the local admin
    at.session_state["an_tab"] = "Agreement"  # as a click on the tab does: only the open tab is drawn
    at.run()
    assert not at.exception, at.exception
    depth = next(d.value for d in at.dataframe if {"depth", "alpha"} <= set(d.value.columns))
    row = depth[depth["depth"] == 1].iloc[0]
    assert row["units"] == 20 and row["people"] == 2
    assert row["alpha"] == pytest.approx(0.304, abs=0.0005) and row["percent_agreement"] == 0.7
    shown = {m.label: m.value for m in at.metric}
    assert shown["Edits judged by 2+ people"] == "20"
    assert shown["Krippendorff's alpha (nominal)"] == "0.304" and shown["Full agreement"] == "70%"


def test_known_answers_for_gold_edits_are_set_and_score_people(app_engine):
    from core.services import campaign_views

    setup = make_campaign(app_engine, docs=1, gold_docs=1, annotators=1, overlap=1, gold_every=1)
    rows = campaign_views.gold_edits(app_engine, setup.researcher, setup.campaign_id)
    assert len(rows) == 4 and {r["answer"] for r in rows} == {""}
    at = as_user(app_test(), setup.researcher.user_id, "app_pages/campaigns.py")
    at.session_state["cp_tab"] = "Quality"
    at.run()
    assert not at.exception, at.exception
    assert at.button(key="cp_gold_save")  # the editor is on the Quality tab
    answers = [{**r, "answer": "accept" if n % 2 == 0 else "reject"} for n, r in enumerate(rows)]
    assert campaign_views.save_gold_answers(app_engine, setup.researcher, answers) == 4
    (ann,) = setup.annotators
    work = campaigns.next_item(app_engine, ann, setup.campaign_id)
    assert work is not None and work.gold  # every first document is gold
    decide_all(app_engine, ann, work.round_id, "accept")
    campaigns.finish_item(app_engine, ann, setup.campaign_id, work.item_id)
    (score,) = campaigns.gold_scores(app_engine, setup.researcher, setup.campaign_id).values()
    assert (score.correct, score.total) == (2, 4)
    with pytest.raises(PermissionDenied):
        campaign_views.gold_edits(app_engine, ann, setup.campaign_id)


def test_the_navigation_shows_each_campaign_page_to_whom_the_policy_allows(app_engine):
    from core.services import campaign_views

    setup = make_campaign(app_engine, docs=1, annotators=1, overlap=1)
    with session_scope(app_engine) as s:
        writer = users.create_user(s, "wendy", Role.WRITER)
        loose = users.create_user(s, "uninvited", Role.ANNOTATOR)
        writer_id, loose_id = id_of(writer), id_of(loose)
    people = {"researcher": setup.researcher, "annotator": setup.annotators[0]}
    seen = {k: campaign_views.page_access(app_engine, a) for k, a in people.items()}
    assert seen["researcher"].runs and not seen["annotator"].runs and seen["annotator"].annotates
    assert campaign_views.page_access(app_engine, accounts.actor(app_engine, writer_id)) == campaign_views.PageAccess(
        runs=False, annotates=False
    )
    # an annotator not invited yet still gets the page, which says so
    at = as_user(app_test(), loose_id, "app_pages/annotate.py").run()
    assert not at.exception, at.exception
    assert any("not invited to any campaign" in i.value for i in at.info)
