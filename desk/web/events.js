// Live updates: the event stream, what each event changes on the page,
// and the batched refreshes for what an event does not carry.

import { alertNewChat } from './alerts.js';
import { api, convPath } from './api.js';
import { renderViewers } from './comments.js';
import { loadDetail, statusLine } from './conversation.js';
import { $, show } from './dom.js';
import { refreshCounts, renderFreshMarkers } from './groups.js';
import { loadList, renderList, sortByActivity } from './list.js';
import { refreshMe } from './presence.js';
import { dismissRouted, showRouted } from './routed.js';
import { API, EVENT_TYPES, isSup, S, VIEWER_TTL } from './store.js';

const pending = { list: false, counts: false, detail: false };
let refreshTimer = null;
export function refreshSoon(what) {
  pending.list = pending.list || !!what.list;
  pending.counts = pending.counts || !!what.counts;
  pending.detail = pending.detail || !!what.detail;
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    const w = Object.assign({}, pending);
    pending.list = pending.counts = pending.detail = false;
    if (!S.me) return;
    if (w.list) loadList(false);
    if (w.counts) refreshCounts();
    if (w.detail && S.openId) loadDetail();
  }, 150);
}

function refreshAll() {
  refreshMe();
  refreshSoon({ list: true, counts: true, detail: true });
}

// ---------- live events ----------
let connTimer = null;
function setConnected(ok) {
  clearTimeout(connTimer);
  if (ok) {
    show($('#conn'), false);
    document.body.dataset.live = 'connected';
  } else {
    document.body.dataset.live = 'reconnecting';
    // A short gap is normal (the stream is renewed); say so only if it lasts.
    connTimer = setTimeout(() => show($('#conn'), true), 4000);
  }
}

export function connectEvents() {
  if (S.es) S.es.close();
  const es = new EventSource(API + '/events');
  S.es = es;
  es.onopen = () => {
    if (S.es !== es) return;
    setConnected(true);
    if (S.esDropped) {
      S.esDropped = false;
      refreshAll(); // events may have been missed while away
    }
  };
  es.onerror = () => {
    if (S.es !== es) return;
    S.esDropped = true;
    setConnected(false);
    if (es.readyState === EventSource.CLOSED) {
      // The browser gave up (an error answer): check the session, then retry.
      setTimeout(async () => {
        if (S.es !== es || !S.me) return;
        try {
          await api('GET', '/me');
          connectEvents();
        } catch (e) { /* signed out, or the next try will tell */ }
      }, 3000);
    }
  };
  for (const type of EVENT_TYPES) {
    es.addEventListener(type, (ev) => {
      let e;
      try { e = JSON.parse(ev.data); } catch (err) { return; }
      onEvent(type, e);
    });
  }
}

// newChat confirms a chat given to me (the event names it; the API must
// show it) before it turns green and the alert sounds.
async function newChat(id) {
  try {
    const d = await api('GET', convPath(id));
    const c = d.conversation;
    if (!S.me || c.assignee !== S.me.id || c.state !== 'live' || id === S.openId) return;
    showRouted(c);
    // The list read for the same event may have seen the chat first (and
    // made it fresh): the alert goes once per chat, whichever came first.
    S.fresh.add(id);
    if (S.knownLive) S.knownLive.add(id);
    if (!S.alerted.has(id)) {
      S.alerted.add(id);
      alertNewChat(id, c);
    }
    renderFreshMarkers();
    if (S.tab === 'live') {
      const li = $('#list .card[data-id="' + CSS.escape(id) + '"]');
      if (li) li.classList.add('fresh');
    }
  } catch (e) { /* not visible to me: nothing to announce */ }
}

function onEvent(type, e) {
  if (!S.me) return;
  const id = e.conversation_id;
  const isOpen = id && id === S.openId;
  switch (type) {
    case 'viewing':
      if (isOpen && e.agent && e.agent !== S.me.id) {
        S.viewers.set(e.agent, { typing: !!e.typing, until: Date.now() + VIEWER_TTL });
        renderViewers();
      }
      return;
    case 'agent.changed':
      if (e.agent === S.me.id) refreshMe();
      if (isSup()) refreshSoon({ list: true });
      return;
    case 'message.status':
      // The event carries the new status: the line changes in place.
      if (isOpen && !applyStatus(e)) refreshSoon({ detail: true });
      return;
    case 'message.media': // a customer's media was fetched (or given up): the open thread shows it
      if (isOpen) refreshSoon({ detail: true });
      return;
    case 'message.in':
    case 'message.out':
    case 'message.note':
      if (type === 'message.in' && id && !isOpen && e.assignee === S.me.id) S.dots.add(id);
      // A message changes no tab's count. The open conversation is read
      // again (its thread needs the message) and its card updated from it.
      // Another's card takes what the event says (its preview and times)
      // when it is in the list; only a card the list lacks needs the list.
      if (isOpen) refreshSoon({ detail: true });
      else if (!applyCard(type, e)) refreshSoon({ list: true });
      return;
    case 'conversation.assigned':
      if (e.was === S.me.id && e.assignee !== S.me.id) dismissRouted(id); // handed on: no longer mine to accept
      if (e.assignee === S.me.id && e.kind === 'chat' && e.state === 'live' && !isOpen) {
        newChat(id);
      } else if (isSup() && e.kind === 'chat' && e.state === 'live' && !e.was) {
        alertNewChat(id, { assignee: e.assignee }); // supervisors hear new chats too
      }
      break;
    case 'conversation.closed':
      S.fresh.delete(id);
      S.alerted.delete(id); // reopened or routed again later: a new alert
      dismissRouted(id);
      break;
    case 'comment':
      if ((e.mentions || []).includes(S.me.id) && e.agent !== S.me.id) S.mentionFrom = e.agent;
      break;
    default:
      break;
  }
  refreshSoon({ list: true, counts: true, detail: isOpen });
}

// applyStatus shows a delivery status an event carries on the open
// conversation's message; false when the message is not shown, or the
// status needs its error code (read with the conversation).
function applyStatus(e) {
  const m = S.detail && (S.detail.history || []).find((x) => x.id === e.message_id);
  const li = m && $('#messages .msg[data-id="' + CSS.escape(e.message_id) + '"]');
  if (!li || !e.status || e.status === 'failed' || e.status === 'undelivered') return false;
  m.status = e.status;
  const old = li.querySelector('.msg-status');
  if (old) old.replaceWith(statusLine(m));
  return true;
}

// applyCard puts a message event's card (its preview and times) on the
// card in the list; false when the list does not hold it, or the event
// says nothing of the card (notes and system lines leave it as it is).
function applyCard(type, e) {
  const c = S.items.find((x) => x.id === e.conversation_id);
  if (!c) return type === 'message.note';
  if (type === 'message.note') return true;
  if (e.preview === undefined) return false;
  const change = { id: c.id, preview: e.preview, updated_at: e.at, last_activity_at: e.at };
  if (e.last_customer_at) change.last_customer_at = e.last_customer_at;
  syncCard(change);
  return true;
}

// syncCard puts what the open conversation now says on its card (the
// preview, the times, the chips) without reading the list again.
export function syncCard(c) {
  const i = S.items.findIndex((x) => x.id === c.id);
  if (i < 0) return;
  S.items[i] = Object.assign({}, S.items[i], c);
  sortByActivity();
  renderList();
}
