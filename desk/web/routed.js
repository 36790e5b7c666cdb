// The pop-up of a chat routed to the agent: who it is, Accept, and a
// countdown to the agent response timeout (the settings' value from the
// chat's assigned_at, as the server counts it). When it runs out the pop-up
// goes: the server hands the chat to someone else.

import { openConversation } from './conversation.js';
import { $, el } from './dom.js';
import { avatar, channelName, parseAddress } from './format.js';
import { setPresence } from './presence.js';
import { S } from './store.js';

const shown = new Map(); // conversation id -> {box, timer}

// showRouted puts up the pop-up of a chat just given to the user.
export function showRouted(c) {
  const limit = Number(S.settings.agent_response_timeout) || 0;
  const from = Date.parse(c.assigned_at || c.updated_at || '');
  if (shown.has(c.id) || !limit || !Number.isFinite(from)) return;
  const until = from + limit * 1000;
  if (until <= Date.now()) return;
  const addr = parseAddress(c.contact);
  const name = c.contact_name || addr.number;
  const left = el('span', { class: 'routed-left', 'aria-live': 'off' });
  const box = el('section', { class: 'routed', role: 'alertdialog', 'aria-label': 'New chat from ' + name, dataset: { id: c.id } },
    el('div', { class: 'routed-head' }, avatar(name), el('div', {},
      el('div', { class: 'routed-title', text: 'New chat · ' + name }),
      el('div', { class: 'muted small', text: [channelName(c.channel), c.department].filter(Boolean).join(' · ') }))),
    c.preview ? el('p', { class: 'routed-preview', text: c.preview }) : null,
    el('div', { class: 'routed-bar' }, left, el('span', { class: 'spacer' }),
      el('button', {
        type: 'button', class: 'ghost small routed-stop', text: 'Stop new chats',
        title: 'Keep this chat, and stop routing new ones to you', onclick: () => { dismissRouted(c.id); setPresence('online', false); },
      }),
      el('button', { type: 'button', class: 'primary routed-accept', text: 'Accept', onclick: () => { dismissRouted(c.id); openConversation(c.id); } })));
  const tick = () => {
    const s = Math.ceil((until - Date.now()) / 1000);
    if (s <= 0) {
      dismissRouted(c.id);
      return;
    }
    left.textContent = 'Answer within ' + Math.floor(s / 60) + ':' + String(s % 60).padStart(2, '0');
    left.classList.toggle('urgent', s <= 10);
  };
  tick();
  shown.set(c.id, { box, timer: setInterval(tick, 1000) });
  $('#routed-stack').append(box);
}

// dismissRouted takes a chat's pop-up away: accepted, opened, timed out,
// or no longer the user's.
export function dismissRouted(id) {
  const p = shown.get(id);
  if (!p) return;
  clearInterval(p.timer);
  p.box.remove();
  shown.delete(id);
}

export function dismissAllRouted() {
  for (const id of Array.from(shown.keys())) dismissRouted(id);
}
