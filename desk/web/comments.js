// Internal comments with @-mentions, the notification bell, and who
// else is viewing or typing in the open conversation.

import { api, convPath } from './api.js';
import { loadDetail, openConversation } from './conversation.js';
import { $, el, fail, show } from './dom.js';
import { agentName, avatar, fmtTime, fullAgentName } from './format.js';
import { renderCounts } from './groups.js';
import { S, VIEWING_EVERY } from './store.js';

export async function submitComment(ev) {
  ev.preventDefault();
  const box = $('#comment');
  const body = box.value.trim();
  if (!body || !S.openId) return;
  const id = S.openId;
  const btn = $('#comment-send');
  btn.disabled = true;
  try {
    await api('POST', convPath(id, 'comments'), { body });
    if (S.openId === id) box.value = '';
    await loadDetail(true);
  } catch (e) {
    fail(e);
  } finally {
    btn.disabled = false;
  }
}

export async function toggleBell(ev) {
  ev.stopPropagation();
  const menu = $('#bell-menu');
  const open = menu.hidden;
  show(menu, open);
  $('#bell').setAttribute('aria-expanded', open ? 'true' : 'false');
  if (!open) return;
  const list = $('#bell-list');
  list.replaceChildren(el('li', { class: 'muted small pad', text: 'Loading…' }));
  try {
    const r = await api('GET', '/notifications');
    const items = r.items || [];
    const unread = r.unread || 0;
    list.replaceChildren(...(items.length ? items.map((n, i) => el('li', {},
      el('button', {
        type: 'button', class: 'bell-item' + (i < unread ? ' unread' : ''),
        onclick: () => { show(menu, false); $('#bell').setAttribute('aria-expanded', 'false'); openConversation(n.conversation_id); },
      },
      el('span', { class: 'bell-who', text: agentName(n.by) + ' mentioned you' }),
      el('time', { class: 'muted small', datetime: n.at || '', text: fmtTime(n.at) }),
      el('span', { class: 'bell-text', text: n.text || '' }))))
      : [el('li', { class: 'muted small pad', text: 'No mentions yet. Colleagues reach you with @' + S.me.id + ' in a comment.' })]));
    if (unread > 0) {
      await api('POST', '/notifications/read');
      S.unread = 0;
      renderCounts();
    }
  } catch (e) {
    list.replaceChildren(el('li', { class: 'muted small pad', text: 'Could not load mentions.' }));
    fail(e);
  }
}

// ---------- collision detection ----------
function isTyping() {
  const box = $('#reply');
  return document.activeElement === box && !$('#c-text').hidden && box.value.trim() !== '';
}

export function startViewing() {
  clearInterval(S.viewTimer);
  S.viewingWarned = false;
  postViewing();
  S.viewTimer = setInterval(postViewing, VIEWING_EVERY);
}

async function postViewing() {
  const id = S.openId;
  if (!id || !S.me) return;
  const typing = isTyping();
  S.lastTyping = typing;
  try {
    await api('POST', convPath(id, 'viewing'), { typing });
  } catch (e) {
    if (!S.viewingWarned && e.status !== 404 && !e.silent) {
      S.viewingWarned = true;
      fail(e);
    }
  }
}

let typingTimer = null;
export function noteTyping() {
  if (isTyping() === S.lastTyping) return;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(postViewing, 300);
}

export function renderViewers() {
  const box = $('#viewers');
  const now = Date.now();
  for (const [id, v] of S.viewers) if (v.until <= now) S.viewers.delete(id);
  const list = [...S.viewers].filter(([id]) => S.me && id !== S.me.id);
  const old = $('#collision-note');
  if (old) old.remove();
  if (!list.length || !S.openId) {
    show(box, false);
    return;
  }
  box.replaceChildren(el('span', { class: 'muted', text: 'Also here: ' }),
    ...list.map(([id, v], i) => el('span', { class: 'viewer' + (v.typing ? ' typing' : ''), dataset: { agent: id }, title: id },
      (i ? ', ' : ''), avatar(fullAgentName(id), true), fullAgentName(id), v.typing ? ' (typing…)' : '')));
  show(box, true);
  // The same, as a note at the end of the thread, where the agent writes.
  const typing = list.filter(([, v]) => v.typing).map(([id]) => fullAgentName(id));
  const viewing = list.filter(([, v]) => !v.typing).map(([id]) => fullAgentName(id));
  const parts = [];
  if (typing.length) parts.push(typing.join(', ') + (typing.length === 1 ? ' is' : ' are') + ' typing a reply');
  if (viewing.length) parts.push(viewing.join(', ') + (viewing.length === 1 ? ' is' : ' are') + ' viewing this conversation');
  $('#messages').append(el('li', { id: 'collision-note', class: 'msg-collision', role: 'status', text: parts.join('; ') + '.' }));
}
