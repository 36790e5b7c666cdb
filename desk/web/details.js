// The details panel: the facts of the open conversation, its actions,
// and the close dialog.

import { onActions } from './agent-extras.js';
import { api, convPath } from './api.js';
import { canReachOut, startClicked } from './composer.js';
import { loadDetail } from './conversation.js';
import { $, el, fail, show, toast } from './dom.js';
import { refreshSoon } from './events.js';
import { agentName, channelName, fmtFull, parseAddress, stateLabel } from './format.js';
import { acceptTicket } from './groups.js';
import { API, S } from './store.js';
import { openTransferDialog } from './transfer.js';

export function renderFacts() {
  const d = S.detail;
  const c = d.conversation;
  const addr = parseAddress(c.contact);
  const rows = [
    ['Customer', c.contact_name || (d.contact && d.contact.name) || '—'],
    ['Number', addr.number],
    ['Channel', channelName(c.channel)],
    ['Status', stateLabel(c) + (c.flagged ? ' · flagged' : '')],
    ['Department', (S.settings.departments.find((x) => x.id === c.department) || {}).name || c.department],
    ['Agent', c.assignee ? agentName(c.assignee) : '—'],
    ['Started', fmtFull(c.created_at)],
    ['Customer wrote', fmtFull(c.last_customer_at) || '—'],
  ];
  if (c.channel === 'whatsapp') rows.push(['24-hour window', d.window_open ? 'Open: free text allowed' : 'Closed: templates only']);
  if (d.contact && d.contact.opted_out) rows.push(['Opted out', 'Yes: nothing can be sent']);
  if (c.session) rows.push(['Message session', { asking: 'Asked YES/NO', collecting: 'Collecting messages', ended: 'Ended' }[c.session] || c.session]);
  if (c.mentions && c.mentions.length) rows.push(['Mentioned', c.mentions.map(agentName).join(', ')]);
  if (c.subject) rows.push(['Subject', c.subject]);
  if (c.rating) {
    const n = Math.max(0, Math.min(5, Number(c.rating.score) || 0));
    rows.push(['Survey rating', '★'.repeat(n) + '☆'.repeat(5 - n) + ' ' + n + ' of 5' + (c.rating.comment ? ': ' + c.rating.comment : '')]);
  }
  $('#facts').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));

  const cl = c.closed;
  show($('#closure-box'), !!cl);
  if (cl) {
    const crow = [
      ['By', cl.by === 'customer' ? 'the customer' : cl.by === 'system' ? 'Parley' : agentName(cl.by)],
      ['Reason', cl.reason],
      ['When', fmtFull(cl.at)],
    ];
    if (cl.sentiment) crow.push(['Sentiment', cl.sentiment]);
    if (cl.tag) crow.push(['Tag', cl.tag]);
    if (cl.notes) crow.push(['Notes', cl.notes]);
    if (cl.refs && cl.refs.length) crow.push(['References', cl.refs.join('\n')]);
    $('#closure').replaceChildren(...crow.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { class: 'pre', text: v || '—' })]));
  }
}

function actionButton(label, cls, onclick, title) {
  return el('button', { type: 'button', class: cls || '', title: title || null, dataset: { action: label }, onclick, text: label });
}

export function renderActions() {
  const c = S.detail.conversation;
  const mine = S.me && c.assignee === S.me.id;
  const sup = S.me && (S.me.role === 'supervisor' || S.me.role === 'admin');
  const acts = [];
  if (c.kind === 'ticket' && c.state === 'unassigned' && !sup) {
    acts.push(actionButton('Accept ticket', 'primary', () => acceptTicket(c.id)));
  }
  if (c.kind === 'ticket' && c.state === 'assigned' && mine && !c.agent_replied && !S.started.has(c.id)) {
    acts.push(actionButton('Start chat', 'primary', startClicked, 'Answer the customer from this ticket'));
  }
  if (c.kind === 'chat' && (c.state === 'live' || c.state === 'pending') && mine) {
    acts.push(actionButton(c.flagged ? 'Unflag' : 'Flag', '', () => act('flag', { flagged: !c.flagged },
      c.flagged ? 'Flag removed.' : 'Flagged: this chat will not time out or move to another agent.'),
    c.flagged ? 'Let timers run on this chat again' : 'Keep this chat with you: no inactivity close, no re-routing'));
    if (c.state === 'live') {
      acts.push(actionButton('Mark pending', '', () => act('pending', undefined, 'Marked pending: it waits for the customer.'),
        'Waiting on the customer: frees a slot for a new chat'));
    }
    acts.push(actionButton('Close chat', 'danger', () => openCloseDialog(c)));
  }
  if (c.kind === 'ticket' && c.state === 'assigned' && mine) {
    acts.push(actionButton('Close ticket', 'danger', () => openCloseDialog(c),
      c.agent_replied ? 'Close this ticket' : 'Reply to the customer first'));
    if (!c.agent_replied) acts[acts.length - 1].disabled = true;
  }
  if (c.kind === 'chat' && (c.state === 'live' || c.state === 'queued') && (mine || sup)) {
    acts.push(actionButton('Transfer', sup && !mine ? 'primary' : '', () => openTransferDialog(c),
      sup ? 'Assign this chat to a department or an agent who is available now' : 'Hand this chat to a department or an agent'));
  }
  if (c.kind === 'chat' && c.state === 'closed' && !c.merged_into && !S.reopening.has(c.id) && !sup) {
    acts.push(actionButton('Reopen chat', 'primary', startClicked, 'Start the chat again with a first message'));
  }
  if (canReachOut(c) && !S.reaching.has(c.id)) {
    acts.push(actionButton('Reach out', sup ? 'primary' : '', startClicked,
      'Write to the customer again: a text, or a template outside WhatsApp\'s 24-hour window'));
  }
  const box = $('#actions');
  if (!acts.length) acts.push(el('p', { class: 'muted small', text: 'Nothing to do here for you.' }));
  const tr = API + convPath(c.id, 'transcript');
  box.replaceChildren(...acts, el('div', { class: 'downloads small' }, 'Transcript: ',
    el('a', { href: tr + '?format=text', download: '' , text: 'text' }), ' · ',
    el('a', { href: tr + '?format=json', download: '', text: 'JSON' })));
  onActions(c, box); // Make a ticket, Delete, Restore (agent-extras.js)
}

async function act(action, body, okText) {
  const id = S.openId;
  if (!id) return;
  try {
    await api('POST', convPath(id, action), body);
    if (okText) toast(okText, 'ok');
  } catch (e) {
    fail(e);
  }
  if (S.openId === id) await loadDetail();
  refreshSoon({ list: true, counts: true });
}

// ---------- close dialog ----------
function openCloseDialog(c) {
  const dlg = $('#close-dialog');
  const ticket = c.kind === 'ticket';
  $('#close-title').textContent = ticket ? 'Close ticket' : 'Close chat';
  $('#close-submit').textContent = ticket ? 'Close ticket' : 'Close chat';
  $('#close-sentiments').replaceChildren(...S.settings.sentiments.map((s) => el('label', { class: 'radio s-' + s },
    el('input', { type: 'radio', name: 'sentiment', value: s, checked: ticket && s === 'neutral' }),
    ' ' + s.charAt(0).toUpperCase() + s.slice(1))));
  $('#close-tag').replaceChildren(el('option', { value: '', text: 'No tag' }),
    ...S.settings.tags.map((t) => el('option', { value: t, text: t })));
  $('#close-notes').value = '';
  $('#close-refs').value = '';
  show($('#close-error'), false);
  dlg.dataset.id = c.id;
  dlg.showModal();
}

export async function submitClose(ev) {
  ev.preventDefault();
  const dlg = $('#close-dialog');
  const id = dlg.dataset.id;
  const picked = $('#close-form input[name="sentiment"]:checked');
  const err = $('#close-error');
  if (!picked) {
    err.textContent = 'Pick how it went: positive, neutral or negative.';
    show(err, true);
    return;
  }
  const body = {
    sentiment: picked.value,
    tag: $('#close-tag').value,
    notes: $('#close-notes').value.trim(),
    refs: $('#close-refs').value.split('\n').map((s) => s.trim()).filter(Boolean),
  };
  const btn = $('#close-submit');
  btn.disabled = true;
  try {
    await api('POST', convPath(id, 'close'), body);
    dlg.close();
    toast(S.detail && S.detail.conversation.kind === 'ticket' ? 'Ticket closed.' : 'Chat closed.', 'ok');
    if (S.openId === id) await loadDetail();
    refreshSoon({ list: true, counts: true });
  } catch (e) {
    err.textContent = e.message + (e.code ? ' (' + e.code + ')' : '');
    show(err, true);
    fail(e);
  } finally {
    btn.disabled = false;
  }
}
