// @-mention autocomplete in the comment box: typing "@" and the start of
// a name or id lists the users who may be mentioned (everyone but the
// writer); arrow keys move, Enter or Tab picks, Escape closes. The pick
// writes "@id ", which the server reads as the mention.

import { $, el, show } from './dom.js';
import { avatar } from './format.js';
import { S } from './store.js';

const MAX = 8;
const M = { items: [], active: 0, start: -1 };

// query is the mention being typed at the caret: its text after "@" and
// where the "@" is, or null.
function query(box) {
  const upto = box.value.slice(0, box.selectionStart);
  const m = upto.match(/(^|[^\w@])@([\w.-]*)$/);
  return m ? { text: m[2].toLowerCase(), start: upto.length - m[2].length - 1 } : null;
}

function candidates(text) {
  const me = S.me && S.me.id;
  const all = Array.from(S.agents.values()).filter((a) => a.id !== me);
  const starts = (s) => String(s || '').toLowerCase().startsWith(text);
  const words = (s) => String(s || '').toLowerCase().split(/\s+/).some((w) => w.startsWith(text));
  return all.filter((a) => starts(a.id) || words(a.name))
    .sort((a, b) => (starts(b.id) - starts(a.id)) || String(a.name || a.id).localeCompare(String(b.name || b.id)))
    .slice(0, MAX);
}

function render() {
  const box = $('#comment');
  const list = $('#mention-list');
  const open = M.items.length > 0;
  box.setAttribute('aria-expanded', open ? 'true' : 'false');
  show(list, open);
  if (!open) {
    box.removeAttribute('aria-activedescendant');
    list.replaceChildren();
    return;
  }
  list.replaceChildren(...M.items.map((a, i) => el('li', {
    id: 'mention-' + i, role: 'option', 'aria-selected': i === M.active ? 'true' : 'false',
    onmousedown: (ev) => { ev.preventDefault(); pick(i); }, // keep the focus in the box
  }, avatar(a.name || a.id, true), el('span', { text: a.name || a.id }), el('span', { class: 'mention-id', text: '@' + a.id }))));
  box.setAttribute('aria-activedescendant', 'mention-' + M.active);
  const li = list.children[M.active];
  if (li && li.scrollIntoView) li.scrollIntoView({ block: 'nearest' });
}

export function update() {
  const q = query($('#comment'));
  M.items = q ? candidates(q.text) : [];
  M.start = q ? q.start : -1;
  M.active = 0;
  render();
}

function closeMentions() {
  M.items = [];
  render();
}

export function pick(i) {
  const a = M.items[i];
  const box = $('#comment');
  if (!a || M.start < 0) return;
  const before = box.value.slice(0, M.start);
  const after = box.value.slice(box.selectionStart).replace(/^[\w.-]*/, '');
  const text = '@' + a.id + ' ';
  box.value = before + text + after;
  const caret = before.length + text.length;
  box.setSelectionRange(caret, caret);
  closeMentions();
  box.focus();
}

function onKey(ev) {
  if (!M.items.length || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const n = M.items.length;
  if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
    M.active = (M.active + (ev.key === 'ArrowDown' ? 1 : n - 1)) % n;
    render();
  } else if (ev.key === 'Enter' || ev.key === 'Tab') {
    pick(M.active);
  } else if (ev.key === 'Escape') {
    closeMentions();
  } else {
    return;
  }
  ev.preventDefault();
  ev.stopImmediatePropagation();
}

// initMentions adds the suggestion list to the comment box.
export function initMentions() {
  const box = $('#comment');
  box.setAttribute('role', 'combobox');
  box.setAttribute('aria-autocomplete', 'list');
  box.setAttribute('aria-controls', 'mention-list');
  box.setAttribute('aria-expanded', 'false');
  $('#comment-form').classList.add('mention-box');
  box.before(el('ul', { id: 'mention-list', class: 'mention-list', role: 'listbox', 'aria-label': 'People to mention', hidden: true }));
  box.addEventListener('keydown', onKey);
  box.addEventListener('input', update);
  box.addEventListener('click', update);
  box.addEventListener('blur', () => setTimeout(closeMentions, 100));
}
