import pytest

from core import documents, projects
from core.db import session_scope
from core.errors import InputError
from core.models import ProposerSpec
from core.proposers.base import SpecData
from core.revision import review, rounds, threads
from core.users import create_user

TEXT = "This are a sentence with a error in it."


def _round(engine, settings=None):
    with session_scope(engine) as s:
        doc = documents.create_document(s, "d", TEXT)
        user_id = documents.default_user(s).id
        thread_id = threads.active_thread(s, doc.id, user_id).id
    return rounds.propose_round(engine, thread_id, settings or rounds.RoundSettings()), user_id


def test_rules_switched_off_for_the_project_are_not_run(engine):
    first, user_id = _round(engine)
    with session_scope(engine) as s:
        sources = {e.row.source for e in review.round_view(s, first.id, user_id).edits}
        project_id = documents.default_project(s).id
        assert sources, "the builtin proposer finds errors in the sample text"
        projects.update_settings(s, project_id, by_user_id=user_id, disabled=[*sources, " "])
        assert projects.disabled_rules(s, project_id) == frozenset(sources)
    second, _ = _round(engine)
    with session_scope(engine) as s:
        assert {e.row.source for e in review.round_view(s, second.id, user_id).edits}.isdisjoint(sources)
        assert set(review.get_round(s, second.id).request["disabled_rules"]) == sources


def test_only_admins_change_project_settings(engine):
    with session_scope(engine) as s:
        writer = create_user(s, "w", "writer")
        project_id = documents.default_project(s).id
        with pytest.raises(InputError, match="Only an admin"):
            projects.update_settings(s, project_id, by_user_id=writer.id, disabled=["X"])
        admin_id = documents.default_user(s).id
        with pytest.raises(InputError, match="Unknown intent"):
            projects.update_settings(s, project_id, by_user_id=admin_id, prefixes={"poetry": "Rhyme: "})


def test_project_instructions_go_into_the_recorded_seq2seq_spec(engine):
    with session_scope(engine) as s:
        project_id = documents.default_project(s).id
        admin_id = documents.default_user(s).id
        projects.update_settings(s, project_id, by_user_id=admin_id, prefixes={"fluency": "Correct this: "})
        doc = documents.create_document(s, "d", TEXT)
        thread_id = threads.active_thread(s, doc.id, admin_id).id
        spec = SpecData(kind="hf-seq2seq", model="/nonexistent/model")
        rnd = rounds.begin_round(s, thread_id, rounds.RoundSettings(spec=spec))
        row = s.get(ProposerSpec, rnd.spec_id)
        assert row.params["prefixes"] == {"fluency": "Correct this: "}
        # the spec's own prefixes win over the project's; other kinds are left alone
        own = SpecData(kind="hf-seq2seq", model="m", params={"prefixes": {"fluency": "Fix: "}})
        assert projects.spec_for_project(s, project_id, own).params["prefixes"] == {"fluency": "Fix: "}
        assert projects.spec_for_project(s, project_id, SpecData(kind="builtin")) == SpecData(kind="builtin")
