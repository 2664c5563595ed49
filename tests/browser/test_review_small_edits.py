"""Problem 8 of issue 13: whitespace, line-break and punctuation edits are visible (a mark over each
space, before each line break, a minimum width for a tiny edit), and the side panel shows the
sentence around the focused edit with the change in place."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.proposers.base import ProposalRequest, ProposalResult, SpecData, Suggestion
from tests.browser.review_page import edit, edits, open_revise, seed_round

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEXT = "First line. We went home  and slept.\n\n\nHowever it ended. Last one."


class SmallEdits:
    """A double space made single, three line breaks made two, a comma inserted."""

    spec = SpecData(kind="builtin", params={"test": "small edits"})

    def propose(self, request: ProposalRequest) -> ProposalResult:
        t = request.text
        space, breaks, comma = t.index("  "), t.index("\n\n\n"), t.index("However") + len("However")
        return ProposalResult(
            suggestions=[
                Suggestion(space, space + 2, " ", intent="fluency", explanation="one space"),
                Suggestion(breaks, breaks + 3, "\n\n", intent="fluency", explanation="one blank line"),
                Suggestion(comma, comma, ",", intent="fluency", explanation="comma after an adverb"),
            ]
        )


MARKS = """(root) => Array.from(root.querySelectorAll('.ws')).map(w => [
  w.className, getComputedStyle(w, '::after').content, getComputedStyle(w, '::before').content])"""


def test_whitespace_and_punctuation_edits_are_marked_and_shown_in_their_sentence(page, app_server):
    seed_round(app_server, TEXT, proposer=SmallEdits())
    open_revise(page, app_server.url)
    expect(edits(page)).to_have_count(3)
    space, breaks, comma = edit(page, 0), edit(page, 1), edit(page, 2)

    # a deleted space carries a visible mark; the text itself is unchanged
    marks = space.locator("del").evaluate(MARKS)
    assert marks and all(cls == "ws sp" and after == '"·"' for cls, after, _ in marks), marks
    assert space.locator("del").text_content() == "  "
    # a deleted line break is marked ↵
    marks = breaks.locator("del").evaluate(MARKS)
    assert any(cls == "ws br" and before == '"↵"' for cls, _, before in marks), marks
    # a comma is wide enough to see and click
    assert "tiny" in (comma.get_attribute("class") or "")
    box = comma.locator("ins .dx").bounding_box()
    assert box is not None and box["width"] >= 10, box
    assert comma.locator("ins .dx").text_content() == ","

    # the side panel: the sentence around the edit, the change in place
    comma.click()
    sentence = page.locator(".rd-p-sentence")
    expect(sentence).to_have_text("However, it ended.")
    expect(sentence.locator("ins")).to_have_text(",")
    space.click()
    expect(sentence).to_contain_text("We went home")
    expect(sentence).to_contain_text("and slept.")
    assert "First line" not in sentence.text_content()  # one sentence, not the paragraph
    assert sentence.locator("del .ws.sp").count() >= 1  # the deleted space is marked there too

    # once rejected, the old text reads as plain text again: no marks
    page.locator(".rd-panel").get_by_role("button", name="Reject", exact=True).click()
    expect(space).to_have_attribute("data-st", "reject")
    assert space.locator("del").evaluate(MARKS)[0][1] == "none"
    assert page.js_errors == []
