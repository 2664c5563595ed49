// How the review component shows an edit's text (ui/review_component/review_text.js).
//     node --test tests/js/
import { test } from "node:test"
import assert from "node:assert/strict"

import { changedPart, isTiny, sentenceAround, whitespaceRuns } from "../../ui/review_component/review_text.js"

test("spaces, line breaks and tabs in an edit become runs of their own, to be drawn with a mark", () => {
  assert.deepEqual(whitespaceRuns("a b\n\tc"), [
    { text: "a", ws: null },
    { text: " ", ws: "sp" },
    { text: "b", ws: null },
    { text: "\n", ws: "br" },
    { text: "\t", ws: "tab" },
    { text: "c", ws: null },
  ])
  assert.deepEqual(whitespaceRuns("  "), [{ text: " ", ws: "sp" }, { text: " ", ws: "sp" }])
  assert.deepEqual(whitespaceRuns("word"), [{ text: "word", ws: null }])
  assert.deepEqual(whitespaceRuns(""), [])
  assert.equal(whitespaceRuns("x\u00a0y")[1].ws, "nbsp")
  // nothing is lost: the runs put together are the text
  for (const t of ["a  b", "\n\nx\n", " teh ", "😀 é\u00a0"]) assert.equal(whitespaceRuns(t).map((r) => r.text).join(""), t)
})

test("a comma, a space or a line break is a tiny edit; a word is not", () => {
  assert.equal(isTiny("", ","), true)
  assert.equal(isTiny(" ", ""), true)
  assert.equal(isTiny("\n\n", "\n"), true)
  assert.equal(isTiny(",", ";"), true)
  assert.equal(isTiny("teh", "the"), false)
  assert.equal(isTiny("", "an"), true)
  assert.equal(isTiny("a", "an"), false)
})

const SEGS = ["First one. We ", " the report ", " noon. Last line\nnext"]
const EDITS = [{ b: "recieve", a: "receive" }, { b: "untill", a: "until" }]
const original = (j) => EDITS[j].b

test("the sentence around an edit runs from the previous sentence end to the next", () => {
  assert.deepEqual(sentenceAround(SEGS, EDITS, 0, original), { left: "We ", right: " the report untill noon." })
  assert.deepEqual(sentenceAround(SEGS, EDITS, 1, original), { left: "We recieve the report ", right: " noon." })
  // neighbours read as they stand now (accepted: the new text)
  assert.deepEqual(sentenceAround(SEGS, EDITS, 1, (j) => EDITS[j].a), { left: "We receive the report ", right: " noon." })
})

test("a line break ends a sentence; the text's ends are ends too", () => {
  const segs = ["Title\nbody has ", " here", ""]
  const edits = [{ b: "a", a: "an" }, { b: "!", a: "." }]
  assert.deepEqual(sentenceAround(segs, edits, 0, (j) => edits[j].b), { left: "body has ", right: " here!" })
  assert.deepEqual(sentenceAround(["no end ", " at all"], [{ b: "x", a: "y" }], 0, () => "x"), {
    left: "no end ",
    right: " at all",
  })
  // an edit right after a period: the sentence it ends is its context
  assert.deepEqual(sentenceAround(["The end.", "Next one. More."], [{ b: "", a: " " }], 0, () => ""), {
    left: "The end.",
    right: "Next one.",
  })
})

test("a run-on sentence is cut at a word with an ellipsis", () => {
  const long = "word ".repeat(200)
  const { left, right } = sentenceAround([long, long], [{ b: "x", a: "y" }], 0, () => "x")
  assert.ok(left.startsWith("…") && left.length <= 242, left.length)
  assert.ok(right.endsWith("…") && right.length <= 242, right.length)
  assert.ok(left.endsWith("word "))
})

test("the differing middle of an edit: what old and new do not share at their ends", () => {
  assert.deepEqual(changedPart("However", "However,"), { head: 7, tail: 0 })
  assert.deepEqual(changedPart("teh", "the"), { head: 1, tail: 0 })
  assert.deepEqual(changedPart("  ", " "), { head: 1, tail: 0 })
  assert.deepEqual(changedPart("", ","), { head: 0, tail: 0 })
  assert.deepEqual(changedPart("a cat", "a cat"), { head: 5, tail: 0 })
  assert.deepEqual(changedPart("colour", "color"), { head: 4, tail: 1 })
  // offsets count UTF-16 units (what String.slice takes), never split an emoji
  assert.deepEqual(changedPart("😀x", "😀y"), { head: 2, tail: 0 })
  assert.deepEqual(changedPart("x😀", "y😀"), { head: 0, tail: 2 })
})
