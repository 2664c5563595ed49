"""Untrusted text (document, title, file name, feedback, model output) is shown as text: nothing in it
runs, nothing overlays the page, on the Documents, Revise and History pages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from core.db import make_engine, session_scope
from core.proposers.base import ProposalRequest, ProposalResult, SpecData, Suggestion
from core.revision import apply
from tests.browser.conftest import wait_for_app
from tests.browser.review_page import edit, edits, open_popover, open_revise, seed_round, wait_saved

pytestmark = [pytest.mark.browser, pytest.mark.slow]

OVERLAY = (
    '<style>body{display:none !important}</style><div id="pwn-overlay" '
    'style="position:fixed;inset:0;z-index:2147483647;background:#f00">overlay</div>'
)
PAYLOADS = [
    "<script>window.__pwned='script';alert('script')</script>",
    "<img src=x onerror=\"window.__pwned='img';alert('img')\">",
    "<iframe srcdoc=\"<script>parent.__pwned='iframe';parent.alert('iframe')</script>\"></iframe>",
    "<svg onload=\"window.__pwned='svg';alert('svg')\"></svg>",
    "<a href=\"javascript:window.__pwned='link';alert('link')\">click me</a>",
    "[a markdown link](javascript:alert('md'))",
    OVERLAY,
]
TEXT = "Intro teh start.\n\n" + "\n".join(f"Part {i} teh {p} end." for i, p in enumerate(PAYLOADS))


class PayloadProposer:
    """A "model" whose every output field is hostile."""

    spec = SpecData(kind="builtin", params={"test": "payloads"})

    def propose(self, request: ProposalRequest) -> ProposalResult:
        out, at, n = [], 0, 0
        while (at := request.text.find("teh", at)) >= 0:
            p = PAYLOADS[n % len(PAYLOADS)]
            out.append(
                Suggestion(
                    at,
                    at + 3,
                    f"the {p}",
                    alternatives=(p, f"{p} alt"),
                    intent="fluency",
                    explanation=f"Because {p}",
                    source=f"rule:{p}",
                )
            )
            at, n = at + 3, n + 1
        return ProposalResult(suggestions=out)


# Anything a payload would have created, in the page or in any (open) shadow root; and what is at the
# centre of the window (through shadow roots) must belong to the app.
PROBE = """() => {
  const roots = [document];
  for (const e of document.querySelectorAll('*')) if (e.shadowRoot) roots.push(e.shadowRoot);
  const bad = '#pwn-overlay, iframe[srcdoc], [onerror], [onload], a[href^="javascript:"]';
  const injected = roots.flatMap(r => Array.from(r.querySelectorAll(bad))).map(e => e.outerHTML.slice(0, 80));
  const x = innerWidth / 2, y = innerHeight / 2;
  let el = document.elementFromPoint(x, y);
  while (el && el.shadowRoot) {
    const inner = el.shadowRoot.elementFromPoint(x, y);
    if (!inner || inner === el) break;
    el = inner;
  }
  const app = document.querySelector("[data-testid='stApp']");
  const owner = el && el.getRootNode() instanceof ShadowRoot ? el.getRootNode().host : el;
  return {
    pwned: window.__pwned ?? null,
    injected,
    centreInApp: !!(owner && app.contains(owner)),
    centreId: el ? el.id : null,
    bodyShown: getComputedStyle(document.body).display !== 'none',
  };
}"""


def assert_safe(page, dialogs: list[str]) -> None:
    wait_for_app(page)
    page.wait_for_timeout(300)  # an onerror/onload would have fired by now
    probe = page.evaluate(PROBE)
    assert probe["pwned"] is None and probe["injected"] == [], probe
    assert probe["centreInApp"] and probe["centreId"] != "pwn-overlay" and probe["bodyShown"], probe
    assert dialogs == []


def test_payloads_are_text_everywhere(page, app_server):
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _, round_id, user_id = seed_round(app_server, TEXT, title=PAYLOADS[1] + " title", proposer=PayloadProposer())

    # a file whose name is a payload, imported on the Documents page
    page.get_by_role("tab", name="Upload files").click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(
        {"name": "<img src=x onerror=alert(1)>.txt", "mimeType": "text/plain", "buffer": OVERLAY.encode()}
    )
    page.get_by_role("button", name="Import").click()
    wait_for_app(page)
    assert_safe(page, dialogs)

    open_revise(page, app_server.url)
    page.get_by_role("combobox", name="Document").click()
    page.get_by_role("option", name=PAYLOADS[1] + " title").click()
    wait_for_app(page)
    expect(edits(page).first).to_be_visible()
    n = edits(page).count()
    assert n >= len(PAYLOADS) + 1
    doc = page.locator(".rd-doc")
    for p in PAYLOADS:
        assert p in doc.text_content()  # shown literally
    for i in range(n):  # each edit's explanation, source and alternatives in the panel
        edit(page, i).click()
        expect(page.locator(".rd-p-expl")).to_contain_text("Because ")
    assert_safe(page, dialogs)
    page.locator(".rd-alts button").first.click()  # choose a hostile alternative: a rewrite
    edit(page, 1).click()
    page.get_by_role("button", name="Rewrite", exact=True).click()
    page.locator(".rd-rewrite textarea").fill(PAYLOADS[0] + PAYLOADS[3])
    page.get_by_role("button", name="Save rewrite").click()
    wait_saved(page)
    assert_safe(page, dialogs)

    # free-text feedback with a payload, kept for the next round
    page.get_by_text("Settings for the next round").click()
    page.get_by_role("textbox", name="Feedback for the proposer (optional)").fill(OVERLAY + PAYLOADS[2])
    page.get_by_role("heading", name="Revise").click()  # commit the text area
    wait_for_app(page)
    open_popover(page, "Download", "Text (.txt)")
    assert_safe(page, dialogs)
    page.keyboard.press("Escape")

    # History: the applied round's diff shows the payloads as text too
    engine = make_engine(app_server.database_url)
    with session_scope(engine) as s:
        apply.apply_round(s, round_id, user_id)
    engine.dispose()
    page.get_by_role("link", name="History").click()
    wait_for_app(page)
    page.get_by_role("combobox", name="Document").click()
    page.get_by_role("option", name=PAYLOADS[1] + " title").click()
    wait_for_app(page)
    expect(page.locator(".rd-root.diff .ed").first).to_be_visible()
    assert PAYLOADS[0] + PAYLOADS[3] in page.locator(".rd-root.diff .rd-doc").text_content()
    assert_safe(page, dialogs)
    assert page.js_errors == []
