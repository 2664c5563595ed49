// The review component's state (ui/review_component/review_state.js), without a browser.
//     node --test tests/js/
import { test } from "node:test"
import assert from "node:assert/strict"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"

import { ReviewState, serverDecision, sameDecision, wireItem } from "../../ui/review_component/review_state.js"

const DIR = new URL("../../ui/review_component/", import.meta.url)

// --- helpers --------------------------------------------------------------------------------------

const EDITS = [
  { id: 11, i: "fluency" },
  { id: 12, i: "clarity" },
  { id: 13, i: "fluency" },
  { id: 14, i: "clarity", h: "muted rule" },
  { id: 15, i: "style" },
]

function make(state = {}, restored = [], edits = EDITS) {
  let n = 0
  const s = new ReviewState({ newKey: () => `k${++n}` })
  s.reset(edits, state, restored)
  return s
}

const statuses = (s) => s.edits.map((_, i) => s.status(i))
const keys = (s) => s.outbox.map((x) => x.k)
const stored = (...items) => Object.fromEntries(items.map((x) => [x.k, null]))

// --- deciding and the outbox ----------------------------------------------------------------------

test("a decision shows at once and is queued with its own key", () => {
  const s = make()
  const item = s.decide(1, "accept", null, 1200)
  assert.equal(s.status(1), "accept")
  assert.deepEqual(wireItem(item), { k: "k1", ms: 1200, id: 12, a: "accept" })
  assert.deepEqual(keys(s), ["k1"])
  const mod = s.decide(2, "modify", "own words", 5)
  assert.deepEqual(wireItem(mod), { k: "k2", ms: 5, id: 13, a: "modify", t: "own words" })
  assert.deepEqual(s.top(2), { st: "modify", t: "own words", k: "k2" })
  assert.deepEqual(s.counts(), { pending: 2, accept: 1, reject: 0, modify: 1, hidden: 1 })
})

test("a repeated click or key press makes no second decision", () => {
  const s = make()
  assert.ok(s.decide(0, "accept", null, 0))
  assert.equal(s.decide(0, "accept", null, 0), null)
  assert.equal(s.decide(0, "accept", null, 0), null)
  assert.ok(s.decide(3, "modify", "x", 0))
  assert.equal(s.decide(3, "modify", "x", 0), null) // the same rewrite again
  assert.ok(s.decide(3, "modify", "y", 0)) // a different one is a decision
  assert.equal(s.decide(4, "undo", null, 0), null) // nothing to undo
  assert.equal(s.decide(99, "accept", null, 0), null)
  assert.equal(s.decide(-1, "accept", null, 0), null)
  assert.equal(s.decide(1, "explode", null, 0), null)
  assert.deepEqual(keys(s), ["k1", "k2", "k3"])
})

test("undo steps back through the edit's own decisions", () => {
  const s = make({ 12: ["reject", null] })
  assert.equal(s.canUndo(0), false)
  assert.equal(s.canUndo(1), true) // the server's decision can be undone too
  s.decide(1, "accept", null, 0)
  s.decide(1, "modify", "mine", 0)
  assert.equal(s.status(1), "modify")
  s.decide(1, "undo", null, 0)
  assert.equal(s.status(1), "accept")
  s.decide(1, "undo", null, 0)
  assert.equal(s.status(1), "reject")
  s.decide(1, "undo", null, 0)
  assert.equal(s.status(1), "pending")
  assert.equal(s.decide(1, "undo", null, 0), null)
  assert.deepEqual(s.outbox.map((x) => x.a), ["accept", "modify", "undo", "undo", "undo"])
})

test("undo the last decision: across edits, newest first, skipping what was undone already", () => {
  const s = make()
  s.decide(0, "accept", null, 0)
  s.decide(2, "reject", null, 0)
  s.decide(2, "undo", null, 0) // edit 2's reject is gone already
  let r = s.undoLast(4, 0)
  assert.equal(r.first, 0)
  assert.equal(r.item.a, "undo")
  assert.equal(r.item.id, 11)
  assert.equal(s.status(0), "pending")
  r = s.undoLast(4, 0) // history empty: undo on the focused edit, which has nothing: no-op
  assert.deepEqual(r, { item: null, first: -1 })
})

test("bulk accept decides the pending, shown edits of the scope as one action; undo bulk takes it back", () => {
  const s = make({ 12: ["reject", null] })
  assert.deepEqual(s.bulkTargets("", false), [0, 2, 4]) // not the decided one, not the hidden one
  assert.deepEqual(s.bulkTargets("", true), [0, 2, 3, 4])
  assert.deepEqual(s.bulkTargets("fluency", false), [0, 2])
  const item = s.bulk("accept", s.bulkTargets("fluency", false), 0)
  assert.deepEqual(wireItem(item), { k: "k1", ms: 0, bulk: "accept", ids: [11, 13] })
  assert.deepEqual(statuses(s), ["accept", "reject", "accept", "pending", "pending"])
  assert.equal(s.bulk("accept", [0, 2], 0), null) // nothing pending left there
  s.decide(2, "reject", null, 0) // edit 2 changed since: undo bulk leaves it alone
  const undo = s.undoLastBulk(0)
  assert.equal(undo.a, "undo") // only one edit left: a plain undo
  assert.equal(undo.id, 11)
  assert.deepEqual(statuses(s), ["pending", "reject", "reject", "pending", "pending"])
  assert.equal(s.undoLastBulk(0), null) // once
})

test("undo bulk of several edits is one bulk undo item", () => {
  const s = make()
  s.bulk("reject", [0, 1, 2], 0)
  const undo = s.undoLastBulk(0)
  assert.deepEqual(wireItem(undo), { k: "k2", ms: 0, bulk: "undo", ids: [11, 12, 13] })
  assert.deepEqual(statuses(s), ["pending", "pending", "pending", "pending", "pending"])
})

// --- answers from the server ----------------------------------------------------------------------

test("results: stored items leave the outbox; a refused one is failed and the edit shows what is stored", () => {
  const s = make()
  const a = s.decide(0, "accept", null, 0)
  const b = s.decide(1, "reject", null, 0)
  const c = s.decide(2, "accept", null, 0)
  s.message(1000)
  const { dirty, outboxChanged } = s.applyUpdate({
    results: { [a.k]: null, [b.k]: "Round 1 is applied." },
    state: { 11: ["accept", null] },
  })
  assert.equal(outboxChanged, true)
  assert.deepEqual(keys(s), [c.k]) // c not answered yet: still queued
  assert.equal(s.failure(1), "Round 1 is applied.")
  assert.equal(s.failure(0), null)
  assert.equal(s.status(1), "pending") // back to what the server holds
  assert.equal(s.status(2), "accept") // in flight: the server's "pending" does not undo it
  assert.ok(dirty.has(0) && dirty.has(1) && !dirty.has(3))
  assert.deepEqual(s.saveStatus(1500), { text: "Saving 1…", kind: "", saved: false })
  s.applyUpdate({ results: { [c.k]: null }, state: { 11: ["accept", null], 13: ["accept", null] } })
  assert.deepEqual(s.saveStatus(1600), {
    text: "1 decision(s) failed: see the edit marked in red", kind: "err", saved: true,
  })
  // deciding the failed edit again clears the failure
  s.decide(1, "reject", null, 0)
  assert.equal(s.failure(1), null)
})

test("results for keys this tab does not hold change nothing; an empty update keeps the queue", () => {
  const s = make()
  s.decide(0, "accept", null, 0)
  const { dirty, outboxChanged } = s.applyUpdate({ results: { other: null }, state: {} })
  assert.equal(outboxChanged, false)
  assert.equal(dirty.size, 0)
  assert.equal(s.status(0), "accept")
  assert.equal(s.applyUpdate({}).outboxChanged, false)
  assert.equal(s.outbox.length, 1)
})

test("retry: everything unanswered goes again in each message, with a new seq, after the retry delay", () => {
  const s = make()
  assert.equal(s.dueForRetry(10_000), false) // nothing queued
  s.decide(0, "accept", null, 0)
  const m1 = s.message(1000)
  assert.equal(m1.items.length, 1)
  assert.equal(s.dueForRetry(2000), false)
  assert.equal(s.dueForRetry(1000 + s.retryMs), true)
  s.decide(1, "reject", null, 0)
  const m2 = s.message(4000)
  assert.equal(m2.seq, m1.seq + 1)
  assert.deepEqual(m2.items.map((x) => x.k), ["k1", "k2"])
  assert.equal(s.outbox[0].sentAt, 1000) // first sent then: how long it has waited counts from there
  assert.equal(s.oldestWait(4000), 3000)
  assert.equal(s.saveStatus(3900).text, "Saving 2…")
  assert.equal(s.saveStatus(4500).text, "Saving 2… (retrying)")
  assert.equal(s.saveStatus(17_000).kind, "err")
  assert.match(s.saveStatus(17_000).text, /^2 decision\(s\) not saved yet/)
  // wire items carry no bookkeeping
  for (const x of m2.items) assert.deepEqual(Object.keys(x).sort(), ["a", "id", "k", "ms"])
})

test("reload: the kept outbox is restored, shown at once, and answered later", () => {
  const before = make()
  before.decide(1, "accept", null, 0)
  before.decide(2, "modify", "kept words", 0)
  before.bulk("reject", [3, 4], 0)
  before.decide(2, "undo", null, 0) // undoes a restored decision: shown
  const kept = JSON.parse(JSON.stringify(before.stored()))

  const s = make({}, kept)
  assert.deepEqual(keys(s), keys(before))
  assert.deepEqual(statuses(s), ["pending", "accept", "pending", "reject", "reject"])
  assert.ok(s.outbox.every((x) => x.sentAt === 0))
  const m = s.message(50)
  assert.deepEqual(m.items, kept)
  s.applyUpdate({
    results: stored(...s.outbox),
    state: { 12: ["accept", null], 14: ["reject", null], 15: ["reject", null] },
  })
  assert.equal(s.outbox.length, 0)
  assert.deepEqual(statuses(s), ["pending", "accept", "pending", "reject", "reject"])
  assert.equal(s.changed.size, 0)
})

test("reload: junk and duplicates in storage are dropped; an undo the server may have stored is not replayed", () => {
  const s = make({ 11: ["accept", null] }, [
    null, { k: 5 }, { a: "accept", id: 11 },
    { k: "u1", id: 11, a: "undo", ms: 0 }, // undoes what the server has: maybe stored already
    { k: "x1", id: 13, a: "reject", ms: 0 },
    { k: "x1", id: 13, a: "accept", ms: 0 },
    { k: "gone", id: 999, a: "accept", ms: 0 }, // not in this round (the server will say so)
  ])
  assert.deepEqual(keys(s), ["u1", "x1", "gone"])
  assert.deepEqual(statuses(s), ["accept", "pending", "reject", "pending", "pending"])
  s.applyUpdate({ results: { gone: "This edit is not in this round." }, state: { 11: ["accept", null] } })
  assert.equal(s.failed.size, 0) // an item for no edit here marks nothing
  assert.deepEqual(keys(s), ["u1", "x1"])
})

test("server state seeds the edits, and edits with nothing in flight follow it", () => {
  const s = make({ 11: ["accept", null], 13: ["modify", "theirs"], 15: ["pending", null] })
  assert.deepEqual(statuses(s), ["accept", "pending", "modify", "pending", "pending"])
  assert.deepEqual(s.top(2), { st: "modify", t: "theirs", k: null })
  const { dirty } = s.applyUpdate({ state: { 11: ["accept", null], 13: ["modify", "other words"], 12: ["reject", null] } })
  assert.deepEqual([...dirty].sort(), [1, 2]) // only what changed is repainted
  assert.equal(s.top(2).t, "other words")
  assert.equal(s.status(1), "reject")
  assert.equal(s.changed.size, 0) // never decided here: followed silently
  assert.equal(s.saveStatus(0).text, "All decisions saved")
})

test("helpers: server entries and sameness", () => {
  assert.deepEqual(serverDecision(undefined), { st: "pending", t: null })
  assert.deepEqual(serverDecision(["accept", "ignored"]), { st: "accept", t: null })
  assert.deepEqual(serverDecision(["modify", null]), { st: "modify", t: null })
  assert.ok(sameDecision({ st: "modify", t: "a" }, { st: "modify", t: "a" }))
  assert.ok(!sameDecision({ st: "modify", t: "a" }, { st: "modify", t: "b" }))
  assert.ok(sameDecision({ st: "accept", t: "x" }, { st: "accept", t: null }))
})

// --- two tabs on one round ------------------------------------------------------------------------

test("changed elsewhere: a stored decision of this tab that the server no longer holds is flagged", () => {
  const s = make()
  const a = s.decide(0, "accept", null, 0)
  s.applyUpdate({ results: stored(a), state: { 11: ["accept", null] } })
  assert.equal(s.changedTo(0), null)
  // another tab rejects it
  const { dirty } = s.applyUpdate({ state: { 11: ["reject", null] } })
  assert.ok(dirty.has(0))
  assert.equal(s.status(0), "reject") // shows what stands on the server
  assert.deepEqual(s.changedTo(0), { st: "reject", t: null })
  assert.deepEqual(s.saveStatus(0), {
    text: "1 decision changed elsewhere — showing what is stored", kind: "warn", saved: true,
  })
  // the same again: nothing to repaint
  assert.equal(s.applyUpdate({ state: { 11: ["reject", null] } }).dirty.size, 0)
  // and changed again: to a rewrite
  s.applyUpdate({ state: { 11: ["modify", "their words"] } })
  assert.deepEqual(s.changedTo(0), { st: "modify", t: "their words" })
  assert.deepEqual(s.top(0), { st: "modify", t: "their words", k: null })
})

test("changed elsewhere: several edits are counted; a rewrite with other words counts too", () => {
  const s = make()
  const a = s.decide(0, "modify", "mine", 0)
  const b = s.bulk("reject", [1, 2], 0)
  s.applyUpdate({ results: stored(a, b), state: { 11: ["modify", "mine"], 12: ["reject", null], 13: ["reject", null] } })
  assert.equal(s.changed.size, 0)
  s.applyUpdate({ state: { 11: ["modify", "yours"], 12: ["reject", null] } }) // 13 undone elsewhere
  assert.deepEqual([...s.changed.keys()].sort(), [0, 2])
  assert.deepEqual(s.changedTo(2), { st: "pending", t: null })
  assert.equal(s.status(2), "pending")
  assert.equal(s.saveStatus(0).text, "2 decisions changed elsewhere — showing what is stored")
})

test("changed elsewhere: the flag clears when the person decides that edit again", () => {
  const s = make()
  const a = s.decide(0, "accept", null, 0)
  s.applyUpdate({ results: stored(a), state: { 11: ["accept", null] } })
  s.applyUpdate({ state: { 11: ["reject", null] } })
  assert.ok(s.changedTo(0))
  const again = s.decide(0, "accept", null, 0)
  assert.equal(s.changedTo(0), null)
  assert.equal(s.status(0), "accept")
  s.applyUpdate({ results: stored(again), state: { 11: ["accept", null] } })
  assert.equal(s.changedTo(0), null)
  assert.equal(s.saveStatus(0).text, "All decisions saved")
})

test("changed elsewhere: clears when the server holds this tab's decision again", () => {
  const s = make()
  const a = s.decide(0, "reject", null, 0)
  s.applyUpdate({ results: stored(a), state: { 11: ["reject", null] } })
  s.applyUpdate({ state: { 11: ["accept", null] } })
  assert.ok(s.changedTo(0))
  const { dirty } = s.applyUpdate({ state: { 11: ["reject", null] } }) // the other tab undid it
  assert.ok(dirty.has(0))
  assert.equal(s.changedTo(0), null)
  assert.equal(s.status(0), "reject")
})

test("changed elsewhere: not while this tab's own decision is in flight, nor for a refused one", () => {
  const s = make()
  const a = s.decide(0, "accept", null, 0)
  s.applyUpdate({ results: stored(a), state: { 11: ["accept", null] } })
  const b = s.decide(0, "reject", null, 0) // in flight: the server still says accept
  s.applyUpdate({ state: { 11: ["accept", null] } })
  assert.equal(s.status(0), "reject")
  assert.equal(s.changedTo(0), null)
  s.applyUpdate({ results: { [b.k]: "No." }, state: { 11: ["accept", null] } }) // refused: back to accept
  assert.equal(s.status(0), "accept")
  assert.equal(s.failure(0), "No.")
  assert.equal(s.changedTo(0), null) // accept is what this tab last stored
})

test("changed elsewhere: after an undo this tab stored, the edit follows what the server says it left", () => {
  const s = make({ 11: ["accept", null] }) // decided before (earlier session): history on the server
  const r = s.decide(0, "reject", null, 0)
  s.applyUpdate({ results: stored(r), state: { 11: ["reject", null] } })
  const u = s.decide(0, "undo", null, 0)
  assert.equal(s.status(0), "accept")
  // the server's undo steps back in its own history, which may not be this tab's stack
  s.applyUpdate({ results: stored(u), state: { 11: ["modify", "older"] } })
  assert.deepEqual(s.top(0), { st: "modify", t: "older", k: null })
  assert.equal(s.changedTo(0), null) // this tab's own undo: no flag
  s.applyUpdate({ state: { 11: ["reject", null] } }) // but a later change elsewhere is flagged
  assert.deepEqual(s.changedTo(0), { st: "reject", t: null })
})

test("changed elsewhere: the flag is per round; a new round starts clean", () => {
  const s = make()
  const a = s.decide(0, "accept", null, 0)
  s.applyUpdate({ results: stored(a), state: { 11: ["accept", null] } })
  s.applyUpdate({ state: {} })
  assert.ok(s.changedTo(0))
  s.reset(EDITS, {}, [])
  assert.equal(s.changed.size, 0)
  s.applyUpdate({ state: { 11: ["reject", null] } })
  assert.equal(s.changedTo(0), null)
})

// --- a closed round -------------------------------------------------------------------------------

test("locked: what is still queued can never be stored: failed with the reason, and the outbox is emptied", () => {
  const s = make()
  const a = s.decide(0, "accept", null, 0)
  s.decide(1, "reject", null, 0)
  s.bulk("accept", [2, 4], 0)
  s.message(100)
  const locked = "Round 1 is applied: its edits can no longer be decided."
  const { dirty, outboxChanged } = s.applyUpdate({ results: stored(a), state: { 11: ["accept", null] }, locked })
  assert.equal(outboxChanged, true) // review.js then removes it from localStorage
  assert.equal(s.outbox.length, 0)
  assert.deepEqual(s.stored(), [])
  assert.equal(s.failure(0), null) // stored before the round closed
  for (const i of [1, 2, 4]) {
    assert.equal(s.failure(i), locked)
    assert.ok(dirty.has(i))
  }
  assert.deepEqual(statuses(s), ["accept", "pending", "pending", "pending", "pending"]) // what is stored
  assert.deepEqual(s.saveStatus(200), { text: locked, kind: "warn", saved: true })
  assert.equal(s.decide(3, "accept", null, 0), null) // nothing can be decided now
  assert.equal(s.bulk("reject", [3], 0), null)
  assert.deepEqual(s.undoLast(0, 0), { item: null, first: -1 })
  assert.equal(s.outbox.length, 0)
})

test("locked at reload: the kept outbox fails at once instead of saving forever", () => {
  const kept = [{ k: "old", id: 12, a: "accept", ms: 0 }]
  const s = make({}, kept)
  assert.equal(s.status(1), "accept")
  s.applyUpdate({ state: {}, locked: "Round 1 is finished." })
  assert.equal(s.outbox.length, 0)
  assert.equal(s.failure(1), "Round 1 is finished.")
  assert.equal(s.status(1), "pending")
  assert.equal(s.saveStatus(0).saved, true)
})

// --- speed ----------------------------------------------------------------------------------------

test("1,000 edits: a click touches one edit, an answer repaints only what changed", () => {
  const edits = Array.from({ length: 1000 }, (_, i) => ({ id: 1000 + i }))
  const state = {}
  for (let i = 0; i < 1000; i += 3) state[1000 + i] = ["accept", null]
  const s = make(state, [], edits)
  const t0 = performance.now()
  const items = []
  for (let i = 1; i < 1000; i += 3) items.push(s.decide(i, "reject", null, 0))
  for (const it of items) {
    assert.deepEqual(it._idx.length, 1)
    state[it.id] = ["reject", null]
  }
  s.message(1)
  const { dirty } = s.applyUpdate({ results: stored(...items), state })
  const ms = performance.now() - t0
  assert.equal(s.outbox.length, 0)
  assert.equal(dirty.size, items.length) // the answered ones; nothing else
  assert.equal(s.counts().reject, items.length)
  assert.ok(ms < 500, `333 decisions + one answer took ${ms.toFixed(0)} ms`)
  assert.equal(s.applyUpdate({ state }).dirty.size, 0)
})

// --- one module for Streamlit ---------------------------------------------------------------------

const textJs = readFileSync(new URL("review_text.js", DIR), "utf8")
const stateJs = readFileSync(new URL("review_state.js", DIR), "utf8")
const reviewJs = readFileSync(new URL("review.js", DIR), "utf8")

test("review_text.js + review_state.js + review.js load as ONE ES module with a default export (as Streamlit loads js=)", async () => {
  // Streamlit (components v2) turns the js string into a Blob URL and import()s it, then calls
  // module.default(component). A data: URL module is the same for node: no relative imports.
  assert.doesNotMatch(stateJs, /^\s*import\s/m, "review_state.js must import nothing")
  assert.doesNotMatch(stateJs, /^\s*export\s+default/m, "only review.js has the default export")
  assert.doesNotMatch(textJs, /^\s*(import\s|export\s+default)/m, "review_text.js: no imports, no default export")
  const src = textJs + "\n" + stateJs + "\n" + reviewJs
  const mod = await import("data:text/javascript;base64," + Buffer.from(src).toString("base64"))
  assert.equal(typeof mod.default, "function")
  assert.equal(typeof mod.ReviewState, "function")
  assert.equal(typeof mod.sentenceAround, "function")
  // review.js uses the state module's names, not its own copies
  assert.match(reviewJs, /new ReviewState\(/)
  assert.doesNotMatch(reviewJs, /this\.(stacks|outbox|failed|history)\b/)
})

// The Python side that registers the component (ui/review.py, or whatever module now reads
// ui/review_component/): it must hand Streamlit review_state.js in front of review.js.
const UI = new URL("../../ui/", import.meta.url)
const pyFiles = readdirSync(UI).filter((f) => f.endsWith(".py"))
const loader = pyFiles
  .map((f) => readFileSync(fileURLToPath(new URL(f, UI)), "utf8"))
  .find((src) => src.includes("review_component") && src.includes('"review.js"'))
const pyApplied = !!loader && loader.includes('"review_state.js"')

test(
  "the Python module puts review_state.js in front of review.js, and mounts with on_sync_change",
  { todo: pyApplied ? false : "apply the Python change (js = review_state.js + review.js, on_sync_change)" },
  () => {
    assert.ok(loader, "no module in ui/ reads ui/review_component/review.js")
    const first = loader.indexOf('"review_state.js"')
    assert.ok(first >= 0 && first < loader.indexOf('"review.js"'), "review_state.js must come before review.js")
    const text = loader.indexOf('"review_text.js"')
    assert.ok(text >= 0 && text < first, "review_text.js must come first")
    assert.ok(/on_sync_change=/.test(loader), "the mount needs on_sync_change=")
  },
)

// --- after a server restart (issue 13, problem 6) ---------------------------------------------------

test("an unanswered outbox asks for a full rerun after 5 s, then at widening gaps up to 15 s", () => {
  const s = make()
  assert.equal(s.fullRerunDue(1000), false) // nothing queued
  s.decide(0, "reject", null, 0)
  s.message(1000) // sent at 1 s
  assert.equal(s.fullRerunDue(5999), false) // a fragment rerun may still answer
  assert.equal(s.fullRerunDue(6000), true)
  assert.equal(s.fullRerunDue(6001), false) // one ask, not one per tick
  assert.equal(s.fullRerunDue(10999), false)
  assert.equal(s.fullRerunDue(11000), true) // +5 s
  assert.equal(s.fullRerunDue(18499), false)
  assert.equal(s.fullRerunDue(18500), true) // +7.5 s
  let at = 18500
  const gaps = []
  for (let t = 18501; t < 120000; t++) if (s.fullRerunDue(t)) gaps.push(t - at), (at = t)
  assert.deepEqual(gaps.slice(0, 2), [11250, 15000])
  assert.ok(gaps.every((g) => g <= 15000)) // a server that came back is asked again within 15 s
})

test("an answered outbox starts the full-rerun gaps over", () => {
  const s = make()
  const first = s.decide(0, "reject", null, 0)
  s.message(1000)
  assert.equal(s.fullRerunDue(6000), true)
  assert.equal(s.fullRerunDue(11000), true)
  s.applyUpdate({ results: stored(first), state: { 11: ["reject", null] } })
  assert.equal(s.fullRerunDue(20000), false)
  s.decide(1, "accept", null, 0)
  s.message(20000)
  assert.equal(s.fullRerunDue(24999), false)
  assert.equal(s.fullRerunDue(25000), true)
  assert.equal(s.fullRerunDue(29999), false)
  assert.equal(s.fullRerunDue(30000), true) // the first gap (5 s) again, not the widened one
})

test("fresh data that leaves sent items unanswered re-sends them, at most once a second", () => {
  const s = make()
  const a = s.decide(0, "accept", null, 0)
  assert.equal(s.resendOnData(5000), false) // queued, never sent: the normal send takes it
  s.message(5000)
  s.applyUpdate({ results: {}, state: {} }) // a run that did not see it (a new server session)
  assert.equal(s.resendOnData(5400), false)
  assert.equal(s.resendOnData(6000), true)
  s.message(6000)
  s.applyUpdate({ results: stored(a), state: { 11: ["accept", null] } })
  assert.equal(s.resendOnData(9000), false) // answered: nothing to send
  assert.equal(s.status(0), "accept")
})

// --- comments on decisions (issue 13) ----------------------------------------------------------------

test("a comment re-states the decision that stands, with the comment; undo steps back to it as it was", () => {
  const s = make({ 13: ["modify", "theirs", "kept short"] })
  assert.deepEqual(s.top(2), { st: "modify", t: "theirs", k: null, c: "kept short" }) // from the server
  assert.equal(s.commentOn(0, "why not", 0), null) // pending: a comment belongs to a decision
  s.decide(0, "accept", null, 10)
  const item = s.commentOn(0, "  house style  ", 20)
  assert.deepEqual(wireItem(item), { k: "k2", ms: 20, id: 11, a: "accept", c: "house style" })
  assert.deepEqual(s.top(0), { st: "accept", t: null, k: "k2", c: "house style" })
  assert.equal(s.commentOn(0, "house style", 0), null) // the same comment again: nothing
  const mod = s.commentOn(2, "", 0) // a rewrite keeps its text; "" removes the comment
  assert.deepEqual(wireItem(mod), { k: "k3", ms: 0, id: 13, a: "modify", t: "theirs", c: "" })
  assert.equal(s.top(2).c, undefined)
  s.decide(0, "undo", null, 0)
  assert.deepEqual(s.top(0), { st: "accept", t: null, k: "k1" }) // the accept, without the comment
})

test("a comment kept in the browser is restored with its decision, and the server's comment is followed", () => {
  const s = make({}, [{ k: "x1", id: 12, a: "reject", c: "off topic", ms: 0 }])
  assert.deepEqual(s.top(1), { st: "reject", t: null, k: "x1", c: "off topic" })
  assert.deepEqual(s.stored(), [{ k: "x1", ms: 0, id: 12, a: "reject", c: "off topic" }])
  const { dirty } = s.applyUpdate({ results: { x1: null }, state: { 12: ["reject", null, "off topic"], 11: ["accept", null, "from another tab"] } })
  assert.equal(s.top(1).c, "off topic")
  assert.equal(s.top(0).c, "from another tab")
  assert.ok(dirty.has(0))
  s.applyUpdate({ results: {}, state: { 12: ["reject", null], 11: ["accept", null] } }) // removed elsewhere
  assert.equal(s.top(0).c, undefined)
  assert.equal(serverDecision(["accept", null, "c"]).c, "c")
})
