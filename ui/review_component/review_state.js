// Redraft review component: the state of one review, without the page (no DOM, no storage, no
// clock of its own). review.js paints it; tests/js/ checks it with `node --test`.
//
// ui/review.py hands Streamlit ONE module: this file, then review.js (its `export default`), as one
// string. So this file declares top-level names that review.js uses directly, has named exports
// only (never `export default`) and imports nothing: a module made from a Blob URL has nothing to
// import relative to. Node reads it as an ES module through the package.json next to it.
//
// What it holds, per edit (by index in document order):
//   stacks   the decisions shown, newest last: {st, t, k}; k is the outbox key of the action that
//            made it, null when it came from the server. An empty stack is "pending".
//   failed   index -> why the server refused the latest action on it.
//   mine     index -> the decision this tab last made itself AND the server stored ({st, t}), or
//            UNDONE for a stored undo (what an undo leaves is whatever the server's history says).
//   changed  index -> {st, t}: what stands on the server when it is not what `mine` says (another
//            tab or process decided it since). Cleared when the person decides that edit again.
// and the outbox: the actions not yet answered, in order, each {k, id, a, t, ms} or
// {k, bulk, ids, ms}, plus `sentAt` (0 until sent) and `_idx` (indexes of its edits).

const REVIEW_RETRY_MS = 2500
// A restarted server is a new session that knows none of the page's fragments: it drops the
// fragment reruns this component's sends cause (its log: "fragment ... does not exist anymore").
// An outbox unanswered this long asks for a full rerun of the page (review_widget's relay),
// then again at growing gaps (up to 15 s), so a server that is merely slow is not flooded with full reruns.
const FULL_RERUN_AFTER_MS = 5000
const FULL_RERUN_MAX_GAP_MS = 15000
const RESEND_ON_DATA_MS = 1000 // fresh data that does not answer the outbox: send it again, at most this often
const UNDONE = Object.freeze({ undone: true })
const NO_DECISION = Object.freeze({ st: "pending", t: null, k: null })

export const STATUS_LABELS = Object.freeze({
  pending: "pending", accept: "accepted", reject: "rejected", modify: "rewritten",
})

function defaultKey() {
  const c = globalThis.crypto
  if (c && typeof c.randomUUID === "function") return c.randomUUID()
  const bytes = new Uint8Array(16)
  if (c && c.getRandomValues) c.getRandomValues(bytes)
  else for (let i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256)
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")
}

const own = (obj, key) => obj != null && Object.prototype.hasOwnProperty.call(obj, key)

/** The server's `state` entry ([status, modified_text, comment?] or absent) as {st, t, c}. */
export function serverDecision(entry) {
  if (!Array.isArray(entry) || typeof entry[0] !== "string" || entry[0] === "pending") return { st: "pending", t: null }
  const st = entry[0]
  return withComment({ st, t: st === "modify" ? (entry[1] ?? null) : null }, entry[2])
}

/** `d` with its comment `c` where there is one (no `c` key otherwise). */
function withComment(d, c) {
  if (typeof c === "string" && c) d.c = c
  return d
}

/** Whether two decisions show the same thing. */
export function sameDecision(a, b) {
  if (a.st !== b.st) return false
  return a.st !== "modify" || (a.t ?? null) === (b.t ?? null)
}

/** An outbox item as it goes to the server (component state) or into localStorage. */
export function wireItem(item) {
  const out = { k: item.k, ms: item.ms }
  if (item.bulk) {
    out.bulk = item.bulk
    out.ids = item.ids
  } else {
    out.id = item.id
    out.a = item.a
    if (item.a === "modify") out.t = item.t
    if (typeof item.c === "string") out.c = item.c
  }
  return out
}

export class ReviewState {
  constructor(options = {}) {
    this.newKey = options.newKey || defaultKey
    this.retryMs = options.retryMs ?? REVIEW_RETRY_MS
    this.seq = 0 // outbox messages sent, over the life of the component (never reset)
    this.lastSend = 0
    this.fullRerunAfterMs = options.fullRerunAfterMs ?? FULL_RERUN_AFTER_MS
    this.fullRerunGap = this.fullRerunAfterMs
    this.lastFullRerun = 0
    this.reset([], {}, [])
  }

  // --- a round (re)built --------------------------------------------------------------------------

  /** A new set of edits ({id, i?, h?}, document order), this person's server `state`, and the outbox
   *  items this browser kept (localStorage), which are shown at once and sent again. */
  reset(edits, state, restored) {
    this.edits = Array.isArray(edits) ? edits : []
    const n = this.edits.length
    this.index = new Map()
    for (let i = 0; i < n; i++) this.index.set(this.edits[i].id, i)
    this.stacks = new Array(n)
    this.failed = new Map()
    this.mine = new Map()
    this.changed = new Map()
    this.outbox = []
    this.history = [] // {k, idx}: decisions (single or bulk) this tab made, for "undo the last"
    this.lastBulk = null
    this.locked = null
    state = state || {}
    for (let i = 0; i < n; i++) this.seedFrom(i, state[String(this.edits[i].id)])
    this.restore(restored || [])
  }

  seedFrom(i, entry) {
    const d = serverDecision(entry)
    this.stacks[i] = d.st === "pending" ? [] : [withComment({ st: d.st, t: d.t, k: null }, d.c)]
  }

  restore(items) {
    const seen = new Set()
    for (const x of items) {
      if (!x || typeof x.k !== "string" || !x.k || seen.has(x.k)) continue
      seen.add(x.k)
      const item = x.bulk
        ? { k: x.k, bulk: String(x.bulk), ids: Array.isArray(x.ids) ? x.ids : [], ms: x.ms ?? 0 }
        : { k: x.k, id: x.id, a: x.a, ms: x.ms ?? 0 }
      if (!x.bulk && x.a === "modify") item.t = typeof x.t === "string" ? x.t : ""
      if (!x.bulk && typeof x.c === "string") item.c = x.c
      item.sentAt = 0
      this.indexesOf(item)
      this.outbox.push(item)
      // Show what it decides at once. An undo is shown only when it undoes a decision restored here:
      // one the server may already have stored has already left the state it came with.
      const action = item.bulk || item.a
      for (const i of item._idx) {
        if (action === "undo") {
          if (this.top(i).k !== null) this.stacks[i].pop()
        } else if (action === "accept" || action === "reject" || action === "modify") {
          this.stacks[i].push(withComment({ st: action, t: action === "modify" ? item.t : null, k: item.k }, item.c))
        }
      }
    }
  }

  indexesOf(item) {
    if (!item._idx) {
      const ids = item.bulk ? (Array.isArray(item.ids) ? item.ids : []) : [item.id]
      item._idx = []
      for (const id of ids) {
        const i = this.index.get(id)
        if (i !== undefined) item._idx.push(i)
      }
    }
    return item._idx
  }

  // --- one edit -----------------------------------------------------------------------------------

  top(i) {
    const s = this.stacks[i]
    return s && s.length ? s[s.length - 1] : NO_DECISION
  }

  status(i) {
    return this.top(i).st
  }

  canUndo(i) {
    return !!(this.stacks[i] && this.stacks[i].length)
  }

  failure(i) {
    return this.failed.get(i) ?? null
  }

  /** {st, t} standing on the server when another tab or process changed this edit, else null. */
  changedTo(i) {
    return this.changed.get(i) ?? null
  }

  counts() {
    const c = { pending: 0, accept: 0, reject: 0, modify: 0, hidden: 0 }
    for (let i = 0; i < this.edits.length; i++) {
      const st = this.status(i)
      if (st === "pending" && this.edits[i].h) c.hidden += 1
      else c[st] = (c[st] || 0) + 1
    }
    return c
  }

  /** Pending edits a bulk action would decide: of `intent` ("" for all), hidden ones only when shown. */
  bulkTargets(intent, showHidden) {
    const out = []
    for (let i = 0; i < this.edits.length; i++) {
      if (this.status(i) !== "pending") continue
      const e = this.edits[i]
      if (e.h && !showHidden) continue
      if (intent && e.i !== intent) continue
      out.push(i)
    }
    return out
  }

  // --- deciding -----------------------------------------------------------------------------------
  // Each returns the outbox item it queued, or null when nothing changes (a repeated click or key
  // press, nothing to undo, the round is locked). `ms` is the time the person took.

  decide(i, action, text, ms) {
    if (this.locked || !Number.isInteger(i) || i < 0 || i >= this.edits.length) return null
    const cur = this.top(i)
    if (action === "undo") {
      if (!this.stacks[i].length) return null
    } else if (action === "modify") {
      text = String(text ?? "")
      if (cur.st === "modify" && cur.t === text) return null
    } else if (action === "accept" || action === "reject") {
      if (cur.st === action) return null // already so: no second decision
    } else {
      return null
    }
    const k = this.newKey()
    if (action === "undo") this.stacks[i].pop()
    else this.stacks[i].push({ st: action, t: action === "modify" ? text : null, k })
    this.failed.delete(i)
    this.changed.delete(i)
    const item = { k, id: this.edits[i].id, a: action, ms: ms ?? 0, sentAt: 0, _idx: [i] }
    if (action === "modify") item.t = text
    this.outbox.push(item)
    if (action !== "undo") this.history.push({ k, idx: [i] })
    return item
  }

  /** A comment on the decision that stands on edit i: the decision is sent again with it (a new row on
   *  the server; an undo then steps back to the decision as it was). "" removes the comment. Null when
   *  the edit is pending (a comment belongs to a decision) or the comment is already so. */
  commentOn(i, text, ms) {
    if (this.locked || !Number.isInteger(i) || i < 0 || i >= this.edits.length) return null
    const cur = this.top(i)
    if (cur.st === "pending") return null
    text = String(text ?? "").trim()
    if ((cur.c ?? "") === text) return null
    const k = this.newKey()
    this.stacks[i].push(withComment({ st: cur.st, t: cur.t, k }, text))
    this.failed.delete(i)
    this.changed.delete(i)
    const item = { k, id: this.edits[i].id, a: cur.st, c: text, ms: ms ?? 0, sentAt: 0, _idx: [i] }
    if (cur.st === "modify") item.t = cur.t ?? ""
    this.outbox.push(item)
    this.history.push({ k, idx: [i] })
    return item
  }

  /** Accept or reject the edits `idx` (still pending ones only) as one action. */
  bulk(action, idx, ms) {
    if (this.locked || (action !== "accept" && action !== "reject")) return null
    idx = (idx || []).filter((i) => i >= 0 && i < this.edits.length && this.status(i) === "pending")
    if (!idx.length) return null
    const k = this.newKey()
    for (const i of idx) {
      this.stacks[i].push({ st: action, t: null, k })
      this.failed.delete(i)
      this.changed.delete(i)
    }
    const item = { k, bulk: action, ids: idx.map((i) => this.edits[i].id), ms: ms ?? 0, sentAt: 0, _idx: idx }
    this.outbox.push(item)
    const entry = { k, idx }
    this.history.push(entry)
    this.lastBulk = entry
    return item
  }

  /** Undo what one history entry decided, on the edits where it is still the latest decision. */
  undoEntry(entry, ms) {
    if (this.locked || !entry) return null
    const idx = entry.idx.filter((i) => this.top(i).k === entry.k)
    if (!idx.length) return null
    if (idx.length === 1) return this.decide(idx[0], "undo", null, ms)
    const k = this.newKey()
    for (const i of idx) {
      this.stacks[i].pop()
      this.failed.delete(i)
      this.changed.delete(i)
    }
    const item = { k, bulk: "undo", ids: idx.map((i) => this.edits[i].id), ms: 0, sentAt: 0, _idx: idx }
    this.outbox.push(item)
    return item
  }

  /** Undo the last bulk action (once). */
  undoLastBulk(ms) {
    if (this.locked) return null
    const last = this.lastBulk
    this.lastBulk = null
    return last ? this.undoEntry(last, ms) : null
  }

  /** Undo the latest decision this tab made that still stands; with none, undo on edit `focus`.
   *  Returns {item, first}: first is the edit to focus (-1: leave the focus). */
  undoLast(focus, ms) {
    if (this.locked) return { item: null, first: -1 }
    while (this.history.length) {
      const entry = this.history.pop()
      if (this.lastBulk && this.lastBulk.k === entry.k) this.lastBulk = null
      const first = entry.idx.find((i) => this.top(i).k === entry.k)
      if (first === undefined) continue
      return { item: this.undoEntry(entry, ms), first }
    }
    return { item: focus >= 0 ? this.decide(focus, "undo", null, ms) : null, first: -1 }
  }

  // --- the server ---------------------------------------------------------------------------------

  /** The next outbox message ({seq, items}); marks every item as sent at `now`. */
  message(now) {
    this.seq += 1
    this.lastSend = now
    for (const item of this.outbox) if (!item.sentAt) item.sentAt = now
    return { seq: this.seq, items: this.outbox.map(wireItem) }
  }

  /** What localStorage keeps of the outbox (nothing once it is empty). */
  stored() {
    return this.outbox.map(wireItem)
  }

  /** Whether unanswered items are due to be sent again. */
  dueForRetry(now) {
    return this.outbox.length > 0 && now - this.lastSend >= this.retryMs
  }

  /** Whether fresh data from the server left sent items unanswered: the server that ran did not see
   *  them (a new session after a restart reads component state only once the component is mounted),
   *  so they go again now rather than at the next retry. */
  resendOnData(now) {
    return this.outbox.some((item) => item.sentAt) && now - this.lastSend >= RESEND_ON_DATA_MS
  }

  /** Whether to ask for a full rerun of the page now: sent items have waited FULL_RERUN_AFTER_MS
   *  unanswered (their fragment may be unknown to a restarted server). Each ask widens the gap to
   *  the next one (up to FULL_RERUN_MAX_GAP_MS); an answered outbox starts over. */
  fullRerunDue(now) {
    if (!this.outbox.length || this.oldestWait(now) < this.fullRerunAfterMs) return false
    if (this.lastFullRerun && now - this.lastFullRerun < this.fullRerunGap) return false
    if (this.lastFullRerun) this.fullRerunGap = Math.min(Math.round(this.fullRerunGap * 1.5), FULL_RERUN_MAX_GAP_MS)
    this.lastFullRerun = now
    return true
  }

  /** How long the oldest unanswered item has waited (0 for one not sent yet). */
  oldestWait(now) {
    let oldest = now
    for (const item of this.outbox) if (item.sentAt && item.sentAt < oldest) oldest = item.sentAt
    return now - oldest
  }

  /** Apply one `data` from the server: `results` (key -> null stored / error text), `state` (edit id ->
   *  [status, text]) and `locked` (why nothing can be decided any more, or null).
   *  Returns {dirty: Set of edit indexes to repaint, outboxChanged}. */
  applyUpdate({ results, state, locked } = {}) {
    results = results || {}
    state = state || {}
    const dirty = new Set()
    let outboxChanged = false
    const keep = []
    for (const item of this.outbox) {
      if (!own(results, item.k)) {
        keep.push(item)
        continue
      }
      outboxChanged = true
      const err = results[item.k]
      const action = item.bulk || item.a
      for (const i of item._idx) {
        dirty.add(i)
        if (err) {
          this.failed.set(i, String(err))
        } else {
          this.failed.delete(i)
          this.mine.set(i, action === "undo" ? UNDONE : { st: action, t: action === "modify" ? item.t : null })
        }
      }
    }
    this.outbox = keep
    if (!keep.length) {
      this.lastFullRerun = 0 // answered: the next silence starts with the first gap again
      this.fullRerunGap = this.fullRerunAfterMs
    }
    this.locked = locked ? String(locked) : null
    if (this.locked && this.outbox.length) {
      // The round is closed: what is still queued can never be stored.
      for (const item of this.outbox) {
        for (const i of item._idx) {
          this.failed.set(i, this.locked)
          dirty.add(i)
        }
      }
      this.outbox = []
      outboxChanged = true
    }
    // Edits with nothing in flight show what the server stored.
    const flying = new Set()
    for (const item of this.outbox) for (const i of item._idx) flying.add(i)
    for (let i = 0; i < this.edits.length; i++) {
      if (flying.has(i)) continue
      const server = serverDecision(state[String(this.edits[i].id)])
      if (!sameDecision(this.top(i), server)) {
        this.stacks[i] = server.st === "pending" ? [] : [withComment({ st: server.st, t: server.t, k: null }, server.c)]
        dirty.add(i)
      } else if (server.st !== "pending" && (this.top(i).c ?? null) !== (server.c ?? null)) {
        const s = this.stacks[i]
        const { c: _old, ...top } = s[s.length - 1]
        s[s.length - 1] = withComment(top, server.c) // a comment stored since (another tab)
        dirty.add(i)
      }
      const mine = this.mine.get(i)
      if (mine === undefined) continue // never decided here: follow the server silently
      if (mine === UNDONE) {
        this.mine.set(i, server)
        continue
      }
      const was = this.changed.get(i)
      if (sameDecision(mine, server)) {
        if (was) {
          this.changed.delete(i)
          dirty.add(i)
        }
      } else if (!was || !sameDecision(was, server)) {
        this.changed.set(i, server)
        dirty.add(i)
      }
    }
    return { dirty, outboxChanged }
  }

  /** The save line: {text, kind ("", "warn", "err"), saved (nothing queued)}. */
  saveStatus(now) {
    const n = this.outbox.length
    if (this.locked) return { text: this.locked, kind: "warn", saved: n === 0 }
    if (n) {
      const waited = this.oldestWait(now)
      if (waited > 15000)
        return {
          text: `${n} decision(s) not saved yet: the server does not answer. They are kept in this browser and sent again.`,
          kind: "err",
          saved: false,
        }
      if (waited > 3000) return { text: `Saving ${n}… (retrying)`, kind: "warn", saved: false }
      return { text: `Saving ${n}…`, kind: "", saved: false }
    }
    if (this.failed.size) return { text: `${this.failed.size} decision(s) failed: see the edit marked in red`, kind: "err", saved: true }
    const changed = this.changed.size
    if (changed)
      return {
        text: `${changed} decision${changed === 1 ? "" : "s"} changed elsewhere — showing what is stored`,
        kind: "warn",
        saved: true,
      }
    return { text: "All decisions saved", kind: "", saved: true }
  }
}
