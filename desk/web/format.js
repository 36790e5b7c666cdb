// Formatting for the page: addresses, times, names, initials, state
// labels, links built with the DOM, template previews.

import { $, el } from './dom.js';
import { S } from './store.js';

// parseAddress splits a contact address such as "whatsapp:+27820000001"
// or "sms:+27820000001".
export function parseAddress(addr) {
  const s = String(addr || '');
  const i = s.indexOf(':');
  if (i > 0 && /^[a-z]+$/.test(s.slice(0, i))) return { channel: s.slice(0, i), number: s.slice(i + 1) };
  return { channel: 'sms', number: s };
}
export const channelName = (ch) => (ch === 'whatsapp' ? 'WhatsApp' : ch === 'sms' ? 'SMS' : ch || '');

export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (isNaN(d)) return '';
  const now = new Date();
  const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (d.toDateString() === now.toDateString()) return time;
  const sameYear = d.getFullYear() === now.getFullYear();
  return d.toLocaleDateString([], { day: 'numeric', month: 'short', year: sameYear ? undefined : 'numeric' }) + ' ' + time;
}
export const fmtFull = (iso) => (iso ? new Date(iso).toLocaleString() : '');

export function agentName(id) {
  if (!id) return '';
  if (S.me && id === S.me.id) return 'you';
  const a = S.agents.get(id);
  return a && a.name ? a.name : id;
}

// initials are an avatar's letters: the first letters of the first two
// words of a name, or the last two digits of a number.
export function initials(name) {
  const words = String(name || '').trim().split(/\s+/).filter((w) => /\p{L}/u.test(w));
  if (words.length) return words.slice(0, 2).map((w) => w.match(/\p{L}/u)[0].toUpperCase()).join('');
  const digits = String(name || '').replace(/\D/g, '');
  return digits.slice(-2) || '?';
}

export function avatar(name, agent) {
  return el('span', { class: 'avatar' + (agent ? ' agent' : ''), 'aria-hidden': 'true', title: name, text: initials(name) });
}

// fullAgentName is an agent's name even for the user themself.
export function fullAgentName(id) {
  const a = S.agents.get(id);
  return (a && a.name) || (S.me && id === S.me.id && S.me.name) || id;
}

export function stateLabel(c) {
  const map = {
    queued: 'Waiting for an agent', live: 'Live', pending: 'Pending', closed: 'Closed',
    unassigned: 'Unassigned', assigned: 'Assigned', archived: 'Archived',
  };
  return (c.kind === 'ticket' ? 'Ticket · ' : 'Chat · ') + (map[c.state] || c.state);
}

// linkify turns text into text nodes and links built with the DOM:
// http(s) addresses, and those starting with www. (opened as https).
const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"']+/gi;
export function linkify(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of text.matchAll(URL_RE)) {
    let raw = m[0];
    // Leave trailing punctuation to the sentence.
    const trail = raw.match(/[.,;:!?)\]}]+$/);
    if (trail) raw = raw.slice(0, raw.length - trail[0].length);
    const start = m.index;
    let href = null;
    try {
      const u = new URL(/^www\./i.test(raw) ? 'https://' + raw : raw);
      if (u.protocol === 'http:' || u.protocol === 'https:') href = u.href;
    } catch (e) { /* not a URL */ }
    if (!href) continue;
    if (start > last) frag.append(document.createTextNode(text.slice(last, start)));
    frag.append(el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: raw }));
    last = start + raw.length;
  }
  if (last < text.length) frag.append(document.createTextNode(text.slice(last)));
  return frag;
}

export function safeHref(u) {
  try {
    const url = new URL(u, location.href);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  } catch (e) {
    return null;
  }
}

// fillTemplate renders a template preview with its variables, as DOM.
export function fillTemplate(preview, vars, mark) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const m of String(preview || '').matchAll(/\{\{\s*([\w.-]+)\s*\}\}/g)) {
    if (m.index > last) frag.append(document.createTextNode(preview.slice(last, m.index)));
    const v = vars && vars[m[1]];
    if (mark) frag.append(el('mark', { class: v ? 'var-filled' : 'var-empty', text: v || '{{' + m[1] + '}}' }));
    else frag.append(document.createTextNode(v || '{{' + m[1] + '}}'));
    last = m.index + m[0].length;
  }
  if (last < String(preview || '').length) frag.append(document.createTextNode(preview.slice(last)));
  return frag;
}

export const templateBySid = (sid) => S.settings.templates.find((t) => t.content_sid === sid);
