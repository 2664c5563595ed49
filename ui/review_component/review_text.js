// Redraft review component: how an edit's text is shown, without the page (no DOM). review.js
// paints it; tests/js/ checks it with `node --test`. Like review_state.js, it is put in front of
// review.js as one module: top-level names only, named exports, no imports.

const WS_KINDS = Object.freeze({ " ": "sp", "\n": "br", "\t": "tab", "\u00a0": "nbsp" })
const SENTENCE_END = /[.!?…]["'”’)\]]*(?=\s|$)/g
const CONTEXT_MAX = 240 // characters each side: a run-on "sentence" is cut with an ellipsis

/** `text` as runs: {text, ws} where ws names a whitespace character ("sp", "br", "tab", "nbsp"), one
 *  per run, or is null for a run of anything else. An edit's spaces and line breaks are drawn with
 *  a mark (· ↵ → ⍽) so a whitespace edit is not invisible. */
export function whitespaceRuns(text) {
  const out = []
  let plain = ""
  for (const ch of String(text ?? "")) {
    const ws = WS_KINDS[ch]
    if (!ws) {
      plain += ch
      continue
    }
    if (plain) out.push({ text: plain, ws: null })
    plain = ""
    out.push({ text: ch, ws })
  }
  if (plain) out.push({ text: plain, ws: null })
  return out
}

/** What differs between an edit's old and new text: {head, tail}, the lengths (in UTF-16 units, as
 *  JavaScript slices) of what both share at the start and at the end ("However" -> "However,":
 *  head 7, tail 0). The differing middle is drawn stronger, so a comma is not lost in a word. */
export function changedPart(before, after) {
  const a = Array.from(String(before ?? ""))
  const b = Array.from(String(after ?? ""))
  let head = 0
  while (head < a.length && head < b.length && a[head] === b[head]) head++
  let tail = 0
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++
  const units = (chars) => chars.join("").length
  return { head: units(a.slice(0, head)), tail: units(a.slice(a.length - tail)) }
}

/** Whether an edit shows too little to see or click (a space, a comma): drawn with a minimum width. */
export function isTiny(before, after) {
  const visible = (s) => Array.from(String(s ?? "").trim()).length
  return visible(before) + visible(after) <= 2
}

/** The sentence around edit `i`: {left, right}, the text before and after it up to the sentence's
 *  ends (a line break, or . ! ? … before a space), at most CONTEXT_MAX characters each side ("…" where
 *  cut). `segs` are the gaps between edits (segs[j] before edit j); `shown(j)` is what edit j reads
 *  as now (its new text once accepted, the old one while pending or rejected). */
export function sentenceAround(segs, edits, i, shown) {
  const piece = (j) => (j % 2 === 0 ? String(segs[j / 2] ?? "") : String(shown((j - 1) / 2) ?? ""))
  // left: gaps and edits before i, newest first, until a sentence end is found
  let left = ""
  for (let j = 2 * i; j >= 0 && left.length <= CONTEXT_MAX; j--) {
    left = piece(j) + left
    const start = sentenceStart(left)
    if (start > 0) {
      left = left.slice(start)
      break
    }
  }
  let right = ""
  for (let j = 2 * i + 2; j <= 2 * edits.length && right.length <= CONTEXT_MAX; j++) {
    right += piece(j)
    const end = sentenceEnd(right)
    if (end >= 0) {
      right = right.slice(0, end)
      break
    }
  }
  if (left.length > CONTEXT_MAX) left = "…" + left.slice(left.length - CONTEXT_MAX).replace(/^\S*\s/, "")
  if (right.length > CONTEXT_MAX) right = right.slice(0, CONTEXT_MAX).replace(/\s\S*$/, "") + "…"
  return { left: left.replace(/^[ \t]+/, ""), right }
}

/** Where the sentence that ends `text` starts: after its last line break or sentence end, else 0. */
function sentenceStart(text) {
  let start = text.lastIndexOf("\n") + 1
  SENTENCE_END.lastIndex = 0
  for (const m of text.matchAll(SENTENCE_END)) {
    const after = m.index + m[0].length
    if (after < text.length && after > start) start = after
  }
  return start
}

/** Where the sentence that starts `text` ends (after its . ! ? …, or at a line break), or -1. */
function sentenceEnd(text) {
  const br = text.indexOf("\n")
  SENTENCE_END.lastIndex = 0
  const m = SENTENCE_END.exec(text)
  const end = m ? m.index + m[0].length : -1
  if (br >= 0 && (end < 0 || br < end)) return br
  return end
}
