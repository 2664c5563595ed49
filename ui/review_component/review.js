// Redraft review component (Streamlit components v2).
//
// The whole document with every edit inline. A decision is shown at once in the browser and
// queued in an outbox that is sent to the server as component state ({seq, items}); the server
// stores each item (idempotent by its key) and answers with `results` in the next `data`. So
// the server's rerun is never between a click and what the person sees, and nothing is lost:
// unanswered items are re-sent, kept in localStorage across reloads, and a refused one is shown
// as failed.
//
// Safety: everything that comes in `data` (document text, model output, explanations, reasons)
// is untrusted and is only ever put into the page with textContent / createTextNode.
//
// What is decided, queued, failed or changed elsewhere lives in a ReviewState (review_state.js,
// which ui/review.py puts in front of this file: the two are one module). This file paints it,
// handles keys and focus, and sends the outbox.

const INSTANCES = new WeakMap() // parentElement -> instance
const INTENT_COLOURS = {
  fluency: 0, clarity: 1, coherence: 2, style: 3, "meaning-changed": 4,
  simplify: 5, formal: 6, neutral: 7, paraphrase: 8,
}
const SYNC_EVERY_MS = 15000 // a visible tab asks for fresh data this often, even when idle
const SYNC_MIN_GAP_MS = 1000 // focus + visibilitychange come together: one rerun
const GLOBAL_KEYS = new Set(["j", "k", "n", "p", "a", "r", "e", "u", "ArrowRight", "ArrowLeft"])
const LABELS = STATUS_LABELS
// Heard by the relay component review_widget mounts outside the review's fragment: its trigger reruns
// the whole page, which a restarted server (no fragments known) does run.
const FULL_RERUN_EVENT = "redraft:full-rerun"

function el(tag, cls, text) {
  const node = document.createElement(tag)
  if (cls) node.className = cls
  if (text !== undefined && text !== null) node.textContent = String(text)
  return node
}

// An edit's text with its spaces and line breaks as marked runs (review_text.js): the marks are CSS
// pseudo-elements, so the text itself (copy, textContent) is unchanged.
// `part` [from, to]: the differing middle (changedPart), drawn stronger in a span of its own.
function marked(tag, cls, text, part) {
  const node = el(tag, cls)
  const add = (into, piece) => {
    for (const run of whitespaceRuns(piece)) {
      into.appendChild(run.ws ? el("span", "ws " + run.ws, run.text) : document.createTextNode(run.text))
    }
  }
  text = String(text ?? "")
  if (!part) {
    add(node, text)
    return node
  }
  const [from, to] = part
  add(node, text.slice(0, from))
  const mid = el("span", "dx")
  add(mid, text.slice(from, to))
  node.appendChild(mid)
  add(node, text.slice(to))
  return node
}

/** Where old and new differ ([from, to] in each), or null when they share nothing; and whether the
 *  difference is tiny (a comma, a space). */
function differing(before, after) {
  const { head, tail } = changedPart(before, after)
  const b = [head, before.length - tail]
  const a = [head, after.length - tail]
  const tiny = isTiny(before.slice(b[0], b[1]), after.slice(a[0], a[1]))
  return head + tail > 0 || tiny ? { b, a, tiny } : { b: null, a: null, tiny }
}

function button(label, cls, key) {
  const b = el("button", cls)
  b.type = "button"
  b.appendChild(document.createTextNode(label))
  if (key) {
    const k = el("kbd", null, key)
    k.setAttribute("aria-hidden", "true") // the name stays "Accept"; the key is announced below
    b.appendChild(k)
    b.setAttribute("aria-keyshortcuts", key)
  }
  return b
}

function store() {
  try {
    return globalThis.localStorage ?? null
  } catch (_e) {
    return null // storage disabled: the outbox still lives in memory
  }
}

class Review {
  constructor(parent) {
    this.parent = parent
    this.root = parent.querySelector(".rd-root")
    if (!this.root) {
      this.root = el("div", "rd-root")
      parent.appendChild(this.root)
    }
    this.sig = null
    this.scope = null
    this.st = new ReviewState()
    this.edits = []
    this.order = []
    this.orderPos = []
    this.spans = []
    this.focus = -1
    this.lastActionAt = performance.now()
    this.focusAt = performance.now()
    this.lastContact = Date.now() // the last send or sync: a rerun that brings fresh data
    this.lastSync = 0
    this.mode = "review"
    this.buildFrame()
    this.timer = setInterval(() => this.tick(), 1000)
    // Another tab (or process) may decide on this round: ask for fresh data when the tab comes back
    // and now and then while it is visible, so what it shows is what is stored.
    this.onVisible = () => {
      if (document.visibilityState === "visible") this.requestSync()
    }
    this.onWindowFocus = () => this.requestSync()
    document.addEventListener("visibilitychange", this.onVisible)
    window.addEventListener("focus", this.onWindowFocus)
    // Keys also work while nothing else has the focus (after a click elsewhere on the page). Capture
    // on window runs before Streamlit's own shortcuts (r = rerun), which must not see them.
    this.globalKeys = (e) => {
      if (!this.root.isConnected) return
      const active = document.activeElement
      if (active && active !== document.body && active !== document.documentElement) return
      if (this.mode !== "review" || e.ctrlKey || e.metaKey || e.altKey) return
      if (!GLOBAL_KEYS.has(e.key)) return
      this.onKey(e)
      this.root.focus({ preventScroll: true })
    }
    window.addEventListener("keydown", this.globalKeys, true)
  }

  get locked() {
    return this.st.locked
  }

  destroy() {
    clearInterval(this.timer)
    window.removeEventListener("keydown", this.globalKeys, true)
    document.removeEventListener("visibilitychange", this.onVisible)
    window.removeEventListener("focus", this.onWindowFocus)
    this.root.replaceChildren()
  }

  // --- skeleton -------------------------------------------------------------------------------

  buildFrame() {
    const r = this.root
    r.replaceChildren()
    r.tabIndex = 0
    this.bar = el("div", "rd-bar")
    this.countsEl = el("div", "rd-counts")
    this.countEls = {}
    for (const k of ["pending", "accept", "reject", "modify"]) {
      const c = el("span", "rd-count k-" + k)
      c.dataset.kind = k
      const b = el("b", null, "0")
      c.append(b, document.createTextNode(" " + LABELS[k]))
      this.countEls[k] = b
      this.countsEl.appendChild(c)
    }
    this.bulk = el("div", "rd-bulk")
    this.scopeSel = el("select", "rd-scope")
    this.scopeSel.setAttribute("aria-label", "Bulk actions apply to")
    this.acceptAll = button("Accept all", "rd-accept-all")
    this.rejectAll = button("Reject all", "rd-reject-all")
    this.undoBulk = button("Undo bulk", "rd-undo-bulk rd-off")
    this.bulk.append(this.scopeSel, this.acceptAll, this.rejectAll, this.undoBulk)
    this.hiddenToggle = el("label", "rd-toggle rd-off")
    this.hiddenBox = el("input")
    this.hiddenBox.type = "checkbox"
    this.hiddenText = el("span")
    this.hiddenToggle.append(this.hiddenBox, this.hiddenText)
    this.summary = el("div", "rd-legend")
    this.save = el("span", "rd-save")
    this.save.setAttribute("role", "status")
    this.save.setAttribute("aria-live", "polite")
    this.bar.append(this.countsEl, this.bulk, this.hiddenToggle, this.summary, el("span", "rd-spacer"), this.save)

    this.main = el("div", "rd-main")
    this.doc = el("div", "rd-doc")
    this.doc.setAttribute("aria-label", "Document")
    this.panel = el("aside", "rd-panel")
    this.panel.setAttribute("aria-label", "Focused edit")
    this.buildPanel()
    this.main.append(this.doc, this.panel)
    r.append(this.bar, this.main)

    this.doc.onclick = (e) => {
      const span = e.target.closest ? e.target.closest(".ed") : null
      if (!span || this.mode !== "review") return
      const idx = Number(span.dataset.i)
      if (this.isHiddenNow(idx)) return
      this.setFocus(idx, false)
    }
    this.acceptAll.onclick = (e) => this.bulkAct("accept", e)
    this.rejectAll.onclick = (e) => this.bulkAct("reject", e)
    this.undoBulk.onclick = (e) => this.undoLastBulk(e)
    this.scopeSel.onchange = () => {
      const scope = this.scopeSel.value
      this.acceptAll.firstChild.textContent = scope ? `Accept all ${scope}` : "Accept all"
      this.rejectAll.firstChild.textContent = scope ? `Reject all ${scope}` : "Reject all"
    }
    this.hiddenBox.onchange = () => {
      this.root.classList.toggle("show-hidden", this.hiddenBox.checked)
      this.refreshPanel()
    }
    r.onkeydown = (e) => this.onKey(e)
  }

  buildPanel() {
    const p = this.panel
    this.pHead = el("div", "rd-p-head")
    this.pIntent = el("span", "rd-chip")
    this.pBadge = el("span", "rd-badge")
    this.pPos = el("span", "rd-p-pos")
    this.pHead.append(this.pIntent, this.pBadge, this.pPos)
    this.pChange = el("div", "rd-p-change")
    this.pSentence = el("div", "rd-p-sentence")
    this.pSentence.setAttribute("aria-label", "The sentence with the change")
    this.pExpl = el("div", "rd-p-expl")
    this.pMeta = el("div", "rd-p-meta")
    this.pHidden = el("div", "rd-p-note")
    this.pError = el("div", "rd-p-error")
    this.pError.setAttribute("role", "alert")
    this.pChanged = el("div", "rd-p-changed rd-off")
    this.pActions = el("div", "rd-actions")
    this.bAccept = button("Accept", "act-accept", "a")
    this.bReject = button("Reject", "act-reject", "r")
    this.bRewrite = button("Rewrite", "act-rewrite", "e")
    this.bUndo = button("Undo", "act-undo", "u")
    this.pActions.append(this.bAccept, this.bReject, this.bRewrite, this.bUndo)
    this.pAlts = el("div", "rd-alts")
    // a comment on the decision (sent with it again; shown after a reload)
    this.pComment = el("div", "rd-comment rd-off")
    this.cmText = el("textarea")
    this.cmText.setAttribute("aria-label", "Comment on this decision")
    this.cmText.placeholder = "Comment on your decision (optional)"
    this.cmText.maxLength = 10000
    this.cmSave = button("Save comment", "cm-save", "Ctrl+Enter")
    this.pComment.append(this.cmText, this.cmSave)
    this.cmSave.onclick = (e) => {
      if (!e || e.detail <= 1) this.saveComment()
    }
    // "Never change 'X'": protect the word this edit alters, in this document (the server hides the
    // round's pending edits that change it)
    this.bProtect = button("Never change", "act-protect")
    this.bProtect.onclick = (e) => this.protect(e, "document")
    // the same word in every document of the project: for the project's owner or an admin (data.pp)
    this.bProtectAll = button("…in every document of this project", "act-protect act-protect-all")
    this.bProtectAll.onclick = (e) => this.protect(e, "project")
    this.pRewrite = el("div", "rd-rewrite rd-off")
    this.rwText = el("textarea")
    this.rwText.setAttribute("aria-label", "Your replacement text")
    const rwRow = el("div", "rd-row")
    this.rwSave = button("Save rewrite", "rw-save", "Ctrl+Enter")
    this.rwCancel = button("Cancel", "rw-cancel", "Esc")
    rwRow.append(this.rwSave, this.rwCancel)
    this.pRewrite.append(this.rwText, rwRow)
    const nav = el("div", "rd-nav")
    this.bPrev = button("Previous", "nav-prev", "k")
    this.bNext = button("Next", "nav-next", "j")
    nav.append(this.bPrev, this.bNext)
    this.pEmpty = el("div", "rd-p-note")
    this.pHelp = el("div", "rd-help")
    this.pHelp.textContent =
      "Keys: j / k next and previous edit, a accept, r reject, e rewrite, u undo, 1–9 pick an alternative."
    p.append(this.pEmpty, this.pHead, this.pChange, this.pSentence, this.pExpl, this.pMeta, this.pHidden, this.pError,
      this.pChanged, this.pActions, this.pComment, this.pAlts, this.bProtect, this.bProtectAll, this.pRewrite, nav, this.pHelp)

    this.bAccept.onclick = (e) => this.clickAct(e, "accept")
    this.bReject.onclick = (e) => this.clickAct(e, "reject")
    this.bUndo.onclick = (e) => this.clickAct(e, "undo")
    this.bRewrite.onclick = () => this.openRewrite()
    this.rwSave.onclick = () => this.saveRewrite(false)
    this.rwCancel.onclick = () => this.closeRewrite(true)
    this.bPrev.onclick = () => this.move(-1, false)
    this.bNext.onclick = () => this.move(1, false)
  }

  // --- data from the server ---------------------------------------------------------------------

  update(data) {
    data = data || {}
    this.lastContact = Date.now() // fresh data: the next idle sync counts from here
    this.mode = data.mode === "diff" ? "diff" : "review"
    this.protectProject = data.pp === true
    this.root.classList.toggle("diff", this.mode === "diff")
    const rebuilt = data.sig !== this.sig
    if (rebuilt) this.rebuild(data)
    if (this.mode === "review") {
      const { dirty, outboxChanged } = this.st.applyUpdate({
        results: data.results, state: data.state, locked: data.locked || null,
      })
      for (const i of dirty) this.paint(i)
      if (outboxChanged) this.saveOutbox()
      // what this browser kept from before a reload goes again (unless the round is closed now), and
      // what fresh data did not answer: the server that ran did not see it
      if (this.st.outbox.length && (rebuilt || this.st.resendOnData(Date.now()))) this.send()
    } else {
      this.st.locked = data.locked || null
    }
    this.root.classList.toggle("locked", !!this.locked)
    this.refreshCounts()
    this.refreshPanel()
    this.refreshSave()
  }

  rebuild(data) {
    this.sig = data.sig
    this.altsFor = null
    this.scope = String(data.scope || "")
    this.edits = Array.isArray(data.edits) ? data.edits : []
    // Navigation order: document order, or the server's (e.g. most likely to be accepted first).
    const n = this.edits.length
    const given = Array.isArray(data.order) && data.order.length === n ? data.order : null
    this.order = given || this.edits.map((_, i) => i)
    this.orderPos = new Array(n)
    this.order.forEach((i, p) => { this.orderPos[i] = p })
    const segs = Array.isArray(data.segs) ? data.segs : [""]
    this.segs = segs
    // a reload resumes where it was: the outbox this browser kept (shown at once), and the focused edit
    this.st.reset(this.edits, data.state || {}, this.mode === "review" ? this.loadOutbox() : [])
    this.undoBulk.classList.add("rd-off")
    this.spans = new Array(this.edits.length)
    this.intents = []
    // One block per line: a change re-lays out its own paragraph, and paragraphs off screen are
    // not rendered at all (content-visibility), so the cost of a click does not grow with the text.
    const frag = document.createDocumentFragment()
    let block = null
    let chars = 0
    const close = () => {
      if (!block.firstChild) block.appendChild(document.createElement("br"))
      block.style.containIntrinsicSize = `auto ${Math.max(1, Math.ceil(chars / 90)) * 1.75}em`
    }
    const open = () => {
      if (block) close()
      block = el("div", "ln")
      chars = 0
      frag.appendChild(block)
    }
    const addText = (text) => {
      const lines = text.split("\n")
      for (let j = 0; j < lines.length; j++) {
        if (j > 0) open()
        if (lines[j]) {
          block.appendChild(document.createTextNode(lines[j]))
          chars += lines[j].length
        }
      }
    }
    open()
    for (let i = 0; i < this.edits.length; i++) {
      const e = this.edits[i]
      if (segs[i]) addText(segs[i])
      const span = el("span", "ed c" + this.colour(e.i))
      span.dataset.i = String(i)
      span.dataset.st = "pending"
      const dx = differing(e.b || "", e.a || "")
      const del = marked("del", null, e.b, dx.b)
      const ins = marked("ins", null, e.a, dx.a)
      const mod = el("span", "mod")
      if (!e.b) del.classList.add("rd-off")
      if (!e.a) { ins.classList.add("rd-off"); span.classList.add("noins") }
      span.append(del, ins, mod)
      if (e.h) span.classList.add("hid")
      if (dx.tiny) span.classList.add("tiny") // a comma or a space: a minimum width to see and click
      this.spans[i] = span
      block.appendChild(span)
      chars += (e.b || "").length + (e.a || "").length
      if (e.i && !this.intents.includes(e.i)) this.intents.push(e.i)
    }
    const tail = segs[this.edits.length]
    if (tail) addText(tail)
    if (!this.edits.length && !segs.join("")) block.appendChild(el("span", "rd-empty", "(empty document)"))
    close()
    this.doc.replaceChildren(frag)
    this.doc.classList.toggle("short", this.edits.length < 4 && segs.join("").length < 1500)
    for (let i = 0; i < this.edits.length; i++) this.paint(i)
    this.buildScope()
    this.buildSummary(data)
    this.focus = -1
    if (this.mode === "review") {
      const want = this.loadFocus()
      let idx = this.edits.findIndex((e) => e.id === want)
      if (idx < 0 || this.isHiddenNow(idx)) idx = this.nextIndex(-1, 1, true)
      if (idx >= 0) this.setFocus(idx, true)
      // The review takes the keys when it appears, unless the person is typing somewhere.
      const active = document.activeElement
      const typing = active && (/^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) || active.isContentEditable)
      if (!typing) this.root.focus({ preventScroll: true })
    }
    this.root.classList.toggle("nopanel", this.mode === "review" && !this.edits.length)
  }

  colour(intent) {
    return Object.hasOwn(INTENT_COLOURS, intent) ? INTENT_COLOURS[intent] : 9
  }

  buildScope() {
    const sel = this.scopeSel
    sel.replaceChildren()
    const all = el("option", null, "All intents")
    all.value = ""
    sel.appendChild(all)
    for (const name of this.intents) {
      const o = el("option", null, name)
      o.value = name
      sel.appendChild(o)
    }
    sel.onchange()
    this.bulk.classList.toggle("rd-off", this.mode !== "review" || !this.edits.length)
  }

  buildSummary(data) {
    this.summary.replaceChildren()
    if (this.mode === "diff") {
      const s = data.summary || {}
      this.summary.appendChild(el("span", "rd-count", `${this.edits.length} change${this.edits.length === 1 ? "" : "s"}`))
      this.summary.appendChild(el("span", "rd-count k-accept", `+${s.inserted || 0} characters`))
      this.summary.appendChild(el("span", "rd-count k-reject", `−${s.deleted || 0} characters`))
      return
    }
    for (const name of this.intents) {
      const chip = el("span", "rd-chip c" + this.colour(name), name)
      this.summary.appendChild(chip)
    }
  }

  // --- state of one edit --------------------------------------------------------------------------

  top(i) {
    return this.st.top(i)
  }

  status(i) {
    return this.st.status(i)
  }

  isHiddenNow(i) {
    const e = this.edits[i]
    return !!(e && e.h && this.status(i) === "pending" && !this.hiddenBox.checked)
  }

  /** What edit i reads as in the text now: the new text once accepted or rewritten, else the old. */
  shownText(i) {
    const t = this.top(i)
    if (t.st === "accept") return this.edits[i].a
    if (t.st === "modify") return t.t ?? ""
    return this.edits[i].b
  }

  changedNote(i) {
    const now = this.st.changedTo(i)
    return now ? `Changed in another tab or by another process: now ${LABELS[now.st] || now.st}` : ""
  }

  paint(i) {
    const span = this.spans[i]
    if (!span) return
    const t = this.top(i)
    span.dataset.st = t.st
    const mod = span.children[2]
    const text = t.st === "modify" ? (t.t ?? "") : ""
    if (mod.textContent !== text) mod.textContent = text
    span.classList.toggle("nomod", t.st === "modify" && !text)
    span.classList.toggle("failed", this.st.failed.has(i))
    span.classList.toggle("hid", !!this.edits[i].h && t.st === "pending")
    const note = this.changedNote(i)
    span.classList.toggle("changed", !!note)
    if (note) span.title = note
    else if (span.hasAttribute("title")) span.removeAttribute("title")
  }

  // --- deciding -----------------------------------------------------------------------------------

  clickAct(e, action) {
    // the second click of a double click is the same decision, not another one
    if (e && e.detail > 1) return
    this.act(this.focus, action, null, false)
  }

  tookMs(sinceFocus) {
    const now = performance.now()
    const ms = Math.round(now - (sinceFocus ? Math.max(this.lastActionAt, this.focusAt) : this.lastActionAt))
    this.lastActionAt = now
    return ms
  }

  // After the state changed: the edits it touched, and what they change around them.
  queued(idx) {
    for (const i of idx) this.paint(i)
    this.saveOutbox() // at once: a reload right after the click must not lose it
    this.sendSoon()
    this.refreshCounts()
    this.refreshSave() // "Saving…" (data-saved="no") from the click on, not from the send
    this.undoBulk.classList.toggle("rd-off", !this.st.lastBulk)
  }

  act(i, action, text, fromKeyboard) {
    if (this.mode !== "review" || i < 0 || i >= this.edits.length) return false
    if (this.locked) {
      this.flashSave(this.locked, "err")
      return false
    }
    const now = performance.now()
    const item = this.st.decide(i, action, text, Math.round(now - Math.max(this.lastActionAt, this.focusAt)))
    if (!item) return false // already so: a repeated click or key press makes no second decision
    this.lastActionAt = now
    this.queued(item._idx)
    if (fromKeyboard && action !== "undo") {
      const next = this.nextIndex(i, 1, true)
      this.setFocus(next >= 0 ? next : i, true)
    } else {
      this.refreshPanel()
    }
    return true
  }

  bulkAct(action, e) {
    if (e && e.detail > 1) return
    if (this.locked) return this.flashSave(this.locked, "err")
    const idx = this.st.bulkTargets(this.scopeSel.value, this.hiddenBox.checked)
    if (!idx.length) return this.flashSave("No pending edits " + (this.scopeSel.value ? "of that intent" : "left"), "warn")
    const item = this.st.bulk(action, idx, this.tookMs(false))
    if (!item) return
    this.queued(item._idx)
    this.refreshPanel()
  }

  undoLastBulk(e) {
    if (e && e.detail > 1) return
    if (this.locked) return this.flashSave(this.locked, "err")
    const item = this.st.undoLastBulk(this.tookMs(true))
    this.undoBulk.classList.toggle("rd-off", !this.st.lastBulk)
    if (!item) return
    this.queued(item._idx)
    this.refreshPanel()
  }

  undoLast() {
    if (this.mode !== "review") return
    if (this.locked) return this.flashSave(this.locked, "err")
    const { item, first } = this.st.undoLast(this.focus, this.tookMs(true))
    this.undoBulk.classList.toggle("rd-off", !this.st.lastBulk)
    if (!item) return
    this.queued(item._idx)
    if (first >= 0) this.setFocus(first, true)
    else this.refreshPanel()
  }

  // --- talking to the server ----------------------------------------------------------------------

  sendSoon() {
    // After the decision is painted: Streamlit's own work on a state change must not delay what the
    // person sees. Several decisions in one frame go as one message. (The timeout covers hidden
    // tabs, where animation frames do not run.)
    if (this.sendPending) return
    this.sendPending = true
    const go = () => {
      if (!this.sendPending) return
      this.sendPending = false
      this.send()
    }
    requestAnimationFrame(() => setTimeout(go, 0))
    setTimeout(go, 100)
  }

  send() {
    if (!this.setStateValue) return
    const now = Date.now()
    this.lastContact = now
    this.setStateValue("outbox", this.st.message(now))
    this.saveOutbox()
    this.refreshSave()
  }

  // Ask the server for fresh data (another tab may have decided since): a new `sync` value reruns
  // the fragment, which answers with `data`. Not in the read-only diff, nor for a closed round.
  requestSync() {
    if (!this.setStateValue || this.mode !== "review" || this.locked || !this.root.isConnected) return false
    const now = Date.now()
    if (now - this.lastContact < SYNC_MIN_GAP_MS) return false // a rerun is on its way already
    this.lastContact = now
    this.lastSync = Math.max(now, this.lastSync + 1) // always a new value
    this.setStateValue("sync", this.lastSync)
    return true
  }

  tick() {
    const now = Date.now()
    if (this.st.dueForRetry(now)) this.send()
    if (this.root.isConnected && this.st.fullRerunDue(now)) window.dispatchEvent(new CustomEvent(FULL_RERUN_EVENT))
    else if (now - this.lastContact >= SYNC_EVERY_MS && document.visibilityState === "visible") this.requestSync()
    if (this.st.outbox.length || this.flash) this.refreshSave()
    if (this.flash && this.flash.until <= Date.now()) this.flash = null
  }

  storageKey(what) {
    return "redraft." + what + "." + this.scope
  }

  loadOutbox() {
    const s = store()
    if (!s || !this.scope) return []
    try {
      const items = JSON.parse(s.getItem(this.storageKey("outbox")) || "[]")
      return Array.isArray(items) ? items : []
    } catch (_e) {
      return []
    }
  }

  saveOutbox() {
    const s = store()
    if (!s || !this.scope || this.mode !== "review") return
    try {
      if (this.st.outbox.length) s.setItem(this.storageKey("outbox"), JSON.stringify(this.st.stored()))
      else s.removeItem(this.storageKey("outbox"))
    } catch (_e) {
      /* full or disabled storage: memory still has it */
    }
  }

  loadFocus() {
    const s = store()
    if (!s || !this.scope) return null
    const v = Number(s.getItem(this.storageKey("focus")))
    return Number.isFinite(v) ? v : null
  }

  saveFocus() {
    const s = store()
    if (!s || !this.scope || this.focus < 0) return
    try {
      s.setItem(this.storageKey("focus"), String(this.edits[this.focus].id))
    } catch (_e) {
      /* ignore */
    }
  }

  // --- focus and navigation -----------------------------------------------------------------------

  nextIndex(from, dir, preferPending) {
    const n = this.order.length
    if (!n) return -1
    const start = from < 0 ? (dir > 0 ? -1 : n) : this.orderPos[from]
    if (preferPending) {
      for (let p = start + dir; p >= 0 && p < n; p += dir) {
        const i = this.order[p]
        if (!this.isHiddenNow(i) && this.status(i) === "pending") return i
      }
    }
    for (let p = start + dir; p >= 0 && p < n; p += dir) if (!this.isHiddenNow(this.order[p])) return this.order[p]
    return -1
  }

  move(dir, fromKeyboard) {
    const next = this.nextIndex(this.focus, dir, false)
    if (next >= 0) this.setFocus(next, true)
    else if (fromKeyboard) this.flashSave(dir > 0 ? "That was the last edit." : "That was the first edit.", "")
  }

  setFocus(i, scroll) {
    if (this.focus >= 0 && this.spans[this.focus]) this.spans[this.focus].classList.remove("focus")
    this.focus = i
    this.focusAt = performance.now()
    this.closeRewrite(false)
    if (i >= 0 && this.spans[i]) {
      this.spans[i].classList.add("focus")
      if (scroll) this.scrollTo(this.spans[i])
      this.saveFocus()
    }
    this.refreshPanel()
  }

  scrollTo(span) {
    const doc = this.doc
    const box = doc.getBoundingClientRect()
    const r = span.getBoundingClientRect()
    if (r.top < box.top + 24 || r.bottom > box.bottom - 24) {
      doc.scrollTop += r.top - box.top - doc.clientHeight / 3
    }
  }

  // "Never change": the server protects the word the focused edit alters (in its document, or in
  // the whole project) and hides the round's pending edits that change it.
  protect(e, scope) {
    if (e && e.detail > 1) return
    const i = this.focus
    if (i < 0 || this.locked || !this.setTriggerValue || !this.edits[i].nt) return
    this.setTriggerValue("protect", scope === "project" ? { id: this.edits[i].id, scope } : this.edits[i].id)
    this.flashSave(`Protecting “${this.edits[i].nt}”${scope === "project" ? " in the project" : ""}…`, "")
  }

  // --- rewrite ------------------------------------------------------------------------------------

  openRewrite() {
    const i = this.focus
    if (i < 0 || this.locked) return
    const t = this.top(i)
    this.rwText.value = t.st === "modify" ? (t.t ?? "") : this.edits[i].a
    this.pRewrite.classList.remove("rd-off")
    this.rwText.focus()
    this.rwText.select()
  }

  closeRewrite(refocus) {
    if (this.pRewrite.classList.contains("rd-off")) return
    this.pRewrite.classList.add("rd-off")
    if (refocus) this.root.focus({ preventScroll: true })
  }

  saveRewrite(fromKeyboard) {
    const i = this.focus
    if (i < 0) return
    const text = this.rwText.value
    this.closeRewrite(true)
    this.act(i, "modify", text, fromKeyboard)
  }

  saveComment() {
    const i = this.focus
    if (i < 0 || this.locked) return
    const item = this.st.commentOn(i, this.cmText.value, this.tookMs(true))
    if (!item) return
    this.queued(item._idx)
    this.refreshPanel()
  }

  // --- keyboard -----------------------------------------------------------------------------------

  onKey(e) {
    // Keys pressed in here belong to the review: keep Streamlit's own shortcuts (r = rerun) out.
    e.stopPropagation()
    if (this.mode !== "review") return
    const tag = e.target && e.target.tagName
    if (tag === "TEXTAREA" || tag === "INPUT" || tag === "SELECT") {
      if (e.target === this.cmText && e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault()
        if (!e.repeat) this.saveComment()
        return
      }
      if (e.target === this.rwText) {
        if (e.key === "Escape") {
          e.preventDefault()
          this.closeRewrite(true)
        } else if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault()
          if (!e.repeat) this.saveRewrite(true)
        }
      }
      return
    }
    if (e.altKey) return
    const ctrlZ = (e.ctrlKey || e.metaKey) && (e.key === "z" || e.key === "Z")
    if ((e.ctrlKey || e.metaKey) && !ctrlZ) return
    const handled = ["j", "k", "n", "p", "a", "r", "e", "u", "ArrowRight", "ArrowLeft", "Enter"]
    const isDigit = e.key >= "1" && e.key <= "9" && e.key.length === 1
    if (!ctrlZ && !handled.includes(e.key) && !isDigit) return
    if (e.target && e.target.tagName === "BUTTON" && e.key === "Enter") return // let the button work
    e.preventDefault()
    if (e.repeat) return // a held key makes one decision, not many
    if (ctrlZ || e.key === "u") return this.undoLast()
    switch (e.key) {
      case "j": case "n": case "ArrowRight": return this.move(1, true)
      case "k": case "p": case "ArrowLeft": return this.move(-1, true)
      case "a": return this.act(this.focus, "accept", null, true)
      case "r": return this.act(this.focus, "reject", null, true)
      case "e": case "Enter": return this.openRewrite()
      default: {
        const alts = this.focus >= 0 ? this.edits[this.focus].alt || [] : []
        const pick = alts[Number(e.key) - 1]
        if (pick !== undefined) this.act(this.focus, "modify", pick, true)
      }
    }
  }

  // --- toolbar and panel --------------------------------------------------------------------------

  refreshCounts() {
    if (this.mode !== "review") {
      this.countsEl.classList.add("rd-off")
      this.hiddenToggle.classList.add("rd-off")
      return
    }
    this.countsEl.classList.remove("rd-off")
    const c = this.st.counts()
    const hidden = c.hidden
    for (const k of ["pending", "accept", "reject", "modify"]) {
      const text = String(c[k])
      if (this.countEls[k].textContent !== text) this.countEls[k].textContent = text
    }
    this.hiddenToggle.classList.toggle("rd-off", hidden === 0)
    this.hiddenText.textContent = `Show ${hidden} hidden`
    const open = !this.locked
    this.acceptAll.disabled = !open
    this.rejectAll.disabled = !open
    this.scopeSel.disabled = !open
  }

  refreshPanel() {
    if (this.mode !== "review") return
    const i = this.focus
    const has = i >= 0 && i < this.edits.length
    for (const node of [this.pHead, this.pChange, this.pSentence, this.pExpl, this.pMeta, this.pActions, this.pAlts, this.bProtect, this.bProtectAll, this.pComment])
      node.classList.toggle("rd-off", !has)
    this.pEmpty.classList.toggle("rd-off", has)
    if (!has) {
      this.pEmpty.textContent = this.edits.length ? "Click an edit in the text to review it." : "No edits in this round."
      this.pHidden.classList.add("rd-off")
      this.pError.classList.add("rd-off")
      this.pChanged.classList.add("rd-off")
      return
    }
    const e = this.edits[i]
    const t = this.top(i)
    this.pIntent.className = "rd-chip c" + this.colour(e.i)
    this.pIntent.textContent = e.i || "edit"
    this.pBadge.className = "rd-badge b-" + t.st
    this.pBadge.textContent = LABELS[t.st] || t.st
    this.pPos.textContent = `${i + 1} of ${this.edits.length}`
    const change = this.pChange
    change.replaceChildren()
    const now = t.st === "modify" ? (t.t ?? "") : e.a
    const dx = differing(e.b || "", now || "")
    if (e.b) change.appendChild(marked("del", null, e.b, dx.b))
    if (e.b && now) change.appendChild(el("span", "arrow", "→"))
    if (now) change.appendChild(marked("ins", null, now, dx.a))
    if (!e.b && !now) change.appendChild(el("span", "rd-p-note", "(empty)"))
    // the sentence around it, the change in place (neighbouring edits read as they stand now)
    const ctx = sentenceAround(this.segs || [], this.edits, i, (j) => this.shownText(j))
    // only what differs is struck and inserted: "However" -> "However," reads "However[,] it ended."
    const b = e.b || ""
    const { head, tail } = changedPart(b, now || "")
    const midB = b.slice(head, b.length - tail)
    const midA = (now || "").slice(head, (now || "").length - tail)
    this.pSentence.replaceChildren(
      document.createTextNode(ctx.left + b.slice(0, head)),
      ...(midB ? [marked("del", null, midB)] : []),
      ...(midA ? [marked("ins", null, midA)] : []),
      document.createTextNode(b.slice(b.length - tail) + ctx.right),
    )
    const source = e.src ? e.src : "proposer"
    this.pExpl.textContent = e.x ? e.x : `${source}${e.i ? " · " + e.i : ""}`
    const meta = [e.src ? "Source: " + e.src : null]
    if (typeof e.p === "number") meta.push(`predicted acceptance ${Math.round(e.p * 100)}%`)
    if (typeof e.sc === "number") meta.push(`score ${Math.round(e.sc * 100) / 100}`)
    this.pMeta.textContent = meta.filter(Boolean).join(" · ")
    this.pMeta.classList.toggle("rd-off", !this.pMeta.textContent)
    this.pHidden.textContent = e.h ? "Hidden: " + e.h : ""
    this.pHidden.classList.toggle("rd-off", !e.h)
    const err = this.st.failure(i)
    this.pError.textContent = err ? "Not saved: " + err : ""
    this.pError.classList.toggle("rd-off", !err)
    const note = this.changedNote(i)
    this.pChanged.textContent = note
    this.pChanged.classList.toggle("rd-off", !note)
    // Buttons a click lands on are never disabled (the focus would drop to <body>, and forcing it
    // back costs a layout): a repeated decision is simply a no-op, shown by aria-pressed.
    const open = !this.locked
    for (const b of [this.bAccept, this.bReject, this.bRewrite, this.bUndo]) b.disabled = !open
    this.bAccept.setAttribute("aria-pressed", String(t.st === "accept"))
    this.bReject.setAttribute("aria-pressed", String(t.st === "reject"))
    this.bUndo.setAttribute("aria-disabled", String(!this.st.canUndo(i)))
    this.bPrev.setAttribute("aria-disabled", String(this.nextIndex(i, -1, false) < 0))
    this.bNext.setAttribute("aria-disabled", String(this.nextIndex(i, 1, false) < 0))
    // the comment box: for a decided edit, holding its stored comment unless the person is typing in it
    this.pComment.classList.toggle("rd-off", t.st === "pending" || !open)
    const stored = t.c ?? ""
    const typing = this.root.getRootNode().activeElement === this.cmText
    if (this.commentFor !== i || (this.commentStored !== stored && !typing)) this.cmText.value = stored
    this.commentFor = i
    this.commentStored = stored
    const term = typeof e.nt === "string" && e.nt ? e.nt : null
    const protectable = !!term && t.st === "pending" && !this.locked
    this.bProtect.classList.toggle("rd-off", !protectable)
    this.bProtectAll.classList.toggle("rd-off", !protectable || !this.protectProject)
    if (term) this.bProtect.firstChild.textContent = `Never change “${term}”`
    const alts = Array.isArray(e.alt) ? e.alt : []
    if (this.altsFor !== i || this.altsOpen !== open) {
      this.altsFor = i
      this.altsOpen = open
      this.pAlts.replaceChildren()
      this.pAlts.classList.toggle("rd-off", !alts.length)
      if (alts.length) {
        this.pAlts.appendChild(el("div", "rd-alts-title", "Alternatives"))
        alts.forEach((alt, n) => {
          const b = button(alt === "" ? "(delete)" : alt, "alt", n < 9 ? String(n + 1) : null)
          b.disabled = !open
          b.onclick = (ev) => {
            if (ev.detail > 1) return
            this.act(i, "modify", alt, false)
          }
          this.pAlts.appendChild(b)
        })
      }
    }
    for (const [n, b] of Array.from(this.pAlts.querySelectorAll("button")).entries())
      b.setAttribute("aria-pressed", String(t.st === "modify" && t.t === alts[n]))
  }

  flashSave(message, kind) {
    this.flash = { message, kind, until: Date.now() + 3000 }
    this.refreshSave()
  }

  refreshSave() {
    const s = this.save
    if (this.mode !== "review") {
      s.textContent = ""
      return
    }
    let { text, kind, saved } = this.st.saveStatus(Date.now())
    if (this.flash && this.flash.until > Date.now()) {
      text = this.flash.message
      kind = this.flash.kind
    }
    if (s.textContent !== text) s.textContent = text
    s.className = "rd-save" + (kind ? " " + kind : "")
    this.root.dataset.saved = saved ? "yes" : "no"
  }
}

export default function (component) {
  const { data, parentElement, setStateValue } = component
  let inst = INSTANCES.get(parentElement)
  if (!inst) {
    inst = new Review(parentElement)
    INSTANCES.set(parentElement, inst)
  }
  inst.setStateValue = setStateValue
  inst.setTriggerValue = component.setTriggerValue
  inst.gen = (inst.gen || 0) + 1
  const gen = inst.gen
  inst.update(data)
  // Streamlit keeps the cleanup of the latest call for unmount; an older one must not tear down.
  return () => {
    if (INSTANCES.get(parentElement) === inst && inst.gen === gen) {
      inst.destroy()
      INSTANCES.delete(parentElement)
    }
  }
}
