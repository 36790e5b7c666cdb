// The open conversation: opening and closing it, reading it, its
// header and its messages.

import { api, convPath } from './api.js';
import { attachmentBlocks } from './attachments.js';
import { renderViewers, startViewing } from './comments.js';
import { renderComposer } from './composer.js';
import { renderActions, renderFacts } from './details.js';
import { $, $$, el, fail, show, toast } from './dom.js';
import { syncCard } from './events.js';
import { agentName, channelName, fillTemplate, fmtFull, fmtTime, initials, linkify, parseAddress, stateLabel, templateBySid } from './format.js';
import { renderFreshMarkers, renderSummary } from './groups.js';
import { renderMessages } from './history.js';
import { dismissRouted } from './routed.js';
import { isSup, S, VIEWER_TTL } from './store.js';
import { setView } from './views.js';

// At phone width one pane shows at a time: list, conv or details (the
// CSS reads body[data-pane]); on a wide screen all three show.
export function setPane(pane) { document.body.dataset.pane = pane; }

// ---------- conversation ----------
export function renderEmptyConversation() {
  show($('#conv'), false);
  const sup = isSup();
  show($('#empty'), !sup);
  show($('#summary'), sup);
  if (sup) renderSummary();
  show($('#details'), false);
  show($('#details-empty'), true);
  S.viewers.clear();
}

export async function openConversation(id) {
  if (!id) return;
  S.followTab = false; // opened on purpose: it stays, whatever the tab lists
  if (S.view !== 'desk') setView('desk');
  if (S.openId !== id) {
    if (S.openId) {
      const draft = $('#reply').value;
      if (draft.trim()) S.drafts.set(S.openId, draft);
      else S.drafts.delete(S.openId);
    }
    S.viewers.clear();
    S.tplKey = '';
    $('#reply').value = S.drafts.get(id) || '';
    $('#comment').value = '';
    $('#messages').replaceChildren();
    S.detail = null;
  }
  S.openId = id;
  dismissRouted(id); // opened: accepted
  S.fresh.delete(id);
  S.dots.delete(id);
  for (const li of $$('#list .card')) {
    const on = li.dataset.id === id;
    li.classList.toggle('active', on);
    if (on) {
      li.classList.remove('fresh');
      const d = li.querySelector('.dot-new');
      if (d) d.remove();
    }
  }
  renderFreshMarkers();
  show($('#summary'), false);
  setPane('conv');
  history.replaceState(null, '', '#c=' + encodeURIComponent(id));
  await loadDetail(true);
  startViewing();
}

export function closeConversation() {
  S.openId = null;
  S.detail = null;
  clearInterval(S.viewTimer);
  history.replaceState(null, '', location.pathname);
  renderEmptyConversation();
  setPane('list');
  for (const li of $$('#list .card.active')) li.classList.remove('active');
}

// loadDetail reads the open conversation again; quiet leaves a 404 (one
// the user just handed on) without an error message.
export async function loadDetail(first, quiet) {
  const seq = ++S.detailSeq;
  const id = S.openId;
  if (!id) return;
  try {
    const d = await api('GET', convPath(id));
    if (seq !== S.detailSeq || id !== S.openId) return;
    const prevId = S.detail && S.detail.conversation.id;
    S.detail = d;
    const until = Date.now() + VIEWER_TTL;
    for (const v of d.viewers || []) {
      if (v.agent !== S.me.id) S.viewers.set(v.agent, { typing: !!v.typing, until });
    }
    renderDetail(first || prevId !== id);
    syncCard(d.conversation);
  } catch (e) {
    if (seq !== S.detailSeq) return;
    if (e.status === 404) {
      closeConversation();
      if (!quiet) toast('That conversation is not available to you any more.');
    } else {
      fail(e);
    }
  }
}

function renderDetail(scrollToEnd) {
  const d = S.detail;
  const c = d.conversation;
  const addr = parseAddress(c.contact);
  show($('#empty'), false);
  show($('#summary'), false);
  show($('#conv'), true);
  show($('#details-empty'), false);
  show($('#details'), true);
  const name = c.contact_name || (d.contact && d.contact.name) || addr.number;
  $('#conv-name').textContent = name;
  $('#conv-avatar').textContent = initials(name);
  $('#conv-subject').textContent = c.subject ? 'Subject: ' + c.subject : '';
  show($('#conv-subject'), !!c.subject);
  $('#conv-sub').textContent = [channelName(c.channel), addr.number, stateLabel(c),
    c.assignee ? 'with ' + agentName(c.assignee) : '', c.rating ? 'rated ' + c.rating.score + ' of 5' : '',
    c.last_responder ? 'last reply by ' + agentName(c.last_responder) : ''].filter(Boolean).join(' · ');
  renderMessages(d.history || [], c, scrollToEnd);
  renderComposer();
  renderFacts();
  renderActions();
  renderViewers();
}

export function messageItem(m) {
  const dir = ['in', 'out', 'system', 'note'].includes(m.direction) ? m.direction : 'system';
  const li = el('li', { class: 'msg msg-' + dir, dataset: { id: m.id || '' } });
  if (dir === 'system') {
    li.append(el('span', { class: 'msg-sys', text: m.body || '' }),
      el('time', { class: 'msg-time', datetime: m.at || '', title: fmtFull(m.at), text: fmtTime(m.at) }));
    return li;
  }
  let who;
  if (dir === 'in') who = (S.detail && (S.detail.conversation.contact_name || (S.detail.contact && S.detail.contact.name))) || 'Customer';
  else if (dir === 'note') who = 'Internal note · ' + agentName(m.author);
  else if ((m.author || '').startsWith('bot:')) {
    who = 'Bot ' + m.author.slice(4) + ' (automatic)'; // the bot's part, before a person took over
    li.classList.add('msg-bot');
  } else who = m.author === 'parley' ? 'Parley (automatic)' : agentName(m.author) || 'Agent';
  const body = el('div', { class: 'msg-body' });
  if (m.body) body.append(el('div', { class: 'msg-text' }, linkify(m.body)));
  if (m.template) body.append(templateBlock(m.template));
  if (m.button) body.append(el('div', { class: 'msg-extra', text: 'Tapped button: ' + (m.button.text || m.button.payload || '') }));
  body.append(...attachmentBlocks(m));
  li.append(el('div', { class: 'msg-head' },
    el('span', { class: 'msg-who', text: who }),
    el('time', { class: 'msg-time', datetime: m.at || '', title: fmtFull(m.at), text: fmtTime(m.at) })), body);
  if (dir === 'out') li.append(statusLine(m));
  return li;
}

function templateBlock(t) {
  const known = templateBySid(t.content_sid);
  return el('div', { class: 'msg-template' },
    el('div', { class: 'small muted', text: 'Template ' + (known ? known.name : t.content_sid) }),
    known ? el('div', {}, fillTemplate(known.preview, t.variables || {}, false))
      : el('div', { text: Object.entries(t.variables || {}).map(([k, v]) => '{{' + k + '}} = ' + v).join(', ') }));
}

export function statusLine(m) {
  const s = m.status || 'queued';
  const labels = {
    queued: '◷ Queued', sending: '◷ Sending', sent: '✓ Sent', delivered: '✓✓ Delivered', read: '✓✓ Read',
    undelivered: '⚠ Not delivered', failed: '⚠ Failed',
  };
  let text = labels[s] || s;
  if ((s === 'failed' || s === 'undelivered') && (m.error_code || m.error)) {
    // The reason in words first; the code stays for whoever looks it up.
    text += ' · ' + (m.error_reason || m.error || '') + (m.error_code ? ' (' + m.error_code + ')' : '');
  }
  return el('div', { class: 'msg-status st-' + s, title: m.sid ? 'Twilio ' + m.sid : '', text });
}
