// Redraft: reruns the whole page when the review component asks (window event "redraft:full-rerun").
//
// Mounted outside the review's fragment, so its trigger is a full rerun. The review component's own
// sends rerun only its fragment, which a restarted server (a new session) does not know and drops;
// a full rerun makes the fragment known again and the queued decisions are stored.
const EVENT = "redraft:full-rerun"
const relay = (globalThis.__redraftRerunRelay ??= { send: null, listening: false })
if (!relay.listening) {
  relay.listening = true
  window.addEventListener(EVENT, () => {
    if (relay.send) relay.send("rerun", Date.now())
  })
}

export default function (component) {
  const send = component.setTriggerValue
  relay.send = send
  return () => {
    if (relay.send === send) relay.send = null
  }
}
