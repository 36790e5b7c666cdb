// ---------- the customer profile ----------
// Opened from a conversation's header: who the customer is, what the
// channel allows now, what bots learnt, the team's note about them (which
// whoever sees the profile may keep), and every conversation they had with
// how it ended. A dialog built with the DOM; nothing from the server is
// ever parsed as HTML.

import { api } from './api.js';
import { openConversation } from './conversation.js';
import { $, el, fail, show, toast } from './dom.js';
import { closeInfo } from './engagement.js';
import { channelName, fmtFull, parseAddress } from './format.js';

const customerPath = (address) => '/customers/' + encodeURIComponent(address);

let current = null; // the address whose profile is open

function dialog() {
  let d = $('#profile-dialog');
  if (d) return d;
  d = el('dialog', { id: 'profile-dialog', class: 'dialog wide-dialog', 'aria-labelledby': 'profile-title' },
    el('div', { class: 'dialog-head' },
      el('h3', { id: 'profile-title', text: 'Customer profile' }),
      el('span', { class: 'spacer' }),
      el('button', { type: 'button', class: 'ghost', id: 'profile-close', text: 'Close', onclick: () => d.close() })),
    el('div', { id: 'profile-body', class: 'profile-body' }));
  document.body.append(d);
  return d;
}

function factList(pairs) {
  return el('dl', { class: 'facts' }, pairs.filter(([, v]) => v !== '' && v !== null && v !== undefined)
    .flatMap(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
}

function whoFacts(p) {
  const c = p.contact;
  const addr = parseAddress(c.address);
  const reach = [];
  if (c.opted_out) reach.push('Opted out: no messages can be sent');
  if (p.unreachable) reach.push('Twilio found this number cannot receive messages');
  if (p.channel === 'whatsapp') reach.push(p.window_open ? '24-hour window open: free text allowed' : '24-hour window closed: templates only');
  return factList([
    ['Name', c.name || 'Not known'],
    ['Number', addr.number],
    ['Channel', channelName(p.channel)],
    ['Opt-out', c.opted_out ? 'Opted out' : 'Subscribed'],
    ['Sending', reach.join('. ') || 'Free text allowed'],
    ['Last message in', c.last_inbound ? fmtFull(c.last_inbound) : 'Never'],
  ]);
}

function botFacts(p) {
  const keys = Object.keys(p.attributes || {}).sort();
  if (!keys.length && !(p.tags || []).length) return el('p', { class: 'muted small', text: 'No bot has set anything on this customer.' });
  return el('div', {},
    (p.tags || []).length ? el('div', { class: 'chips' }, p.tags.map((t) => el('span', { class: 'chip', text: t }))) : null,
    keys.length ? factList(keys.map((k) => [k, p.attributes[k]])) : null);
}

function noteForm(p) {
  const text = el('textarea', { id: 'profile-note', rows: '3', maxlength: '4000' });
  text.value = p.note.text || '';
  const by = el('span', { id: 'profile-note-by', class: 'muted small',
    text: p.note.by ? 'Last changed by ' + p.note.by + ', ' + fmtFull(p.note.at) : 'No note yet' });
  const err = el('p', { class: 'form-error', role: 'alert', hidden: true });
  const form = el('form', { id: 'profile-note-form', class: 'comment-form' },
    el('label', { for: 'profile-note', text: 'Note about the customer (the team sees it; the customer never does)' }), text,
    el('div', { class: 'bar' }, by, el('span', { class: 'spacer' }),
      el('button', { type: 'submit', id: 'profile-note-save', text: 'Save note' })), err);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    show(err, false);
    try {
      const n = await api('PUT', customerPath(p.contact.address) + '/note', { text: text.value });
      by.textContent = n.text ? 'Saved by ' + n.by + ', ' + fmtFull(n.at) : 'Note cleared';
      toast('Note saved', 'ok');
    } catch (e) {
      err.textContent = e.message;
      show(err, true);
    }
  });
  return form;
}

function conversationRow(e) {
  const what = (e.kind === 'ticket' ? 'Ticket' : 'Chat') + ' · ' + channelName(e.channel) + ' · ' + e.state;
  return el('li', { class: 'profile-conv', dataset: { conversation: e.id } },
    el('div', { class: 'row' },
      el('strong', { text: fmtFull(e.created_at) }),
      el('span', { class: 'muted small', text: what }),
      el('span', { class: 'spacer' }),
      el('button', { type: 'button', class: 'ghost small', text: 'Open', onclick: () => { dialog().close(); openConversation(e.id); } })),
    e.preview ? el('div', { class: 'muted small eng-preview', text: e.preview }) : null,
    closeInfo(e));
}

function render(p) {
  const body = $('#profile-body');
  body.replaceChildren(
    el('section', { class: 'box' }, el('h4', { text: 'Customer' }), whoFacts(p)),
    el('section', { class: 'box' }, el('h4', { text: 'Set by bots' }), botFacts(p)),
    el('section', { class: 'box' }, el('h4', { text: 'Note' }), noteForm(p)),
    el('section', { class: 'box' },
      el('h4', { text: 'Conversations (' + p.conversations.length + ')' }),
      p.conversations.length ? el('ol', { class: 'profile-convs' }, p.conversations.map(conversationRow))
        : el('p', { class: 'muted small', text: 'None yet.' })));
}

// openProfile shows a customer's profile, by their address.
export async function openProfile(address) {
  const d = dialog();
  current = address;
  $('#profile-title').textContent = 'Customer profile';
  $('#profile-body').replaceChildren(el('p', { class: 'muted', text: 'Loading…' }));
  if (!d.open) d.showModal();
  try {
    const p = await api('GET', customerPath(address));
    if (current !== address) return; // another profile was opened meanwhile
    $('#profile-title').textContent = 'Customer profile: ' + (p.contact.name || parseAddress(p.contact.address).number);
    render(p);
  } catch (e) {
    d.close();
    fail(e);
  }
}
