// The composer below the thread: a reply, a first message that
// reopens or reaches out, a ticket's start, canned replies.

import { pendingMedia, sentMedia } from './agent-extras.js';
import { api, convPath } from './api.js';
import { noteTyping } from './comments.js';
import { loadDetail, openConversation } from './conversation.js';
import { renderActions } from './details.js';
import { $, el, fail, show, toast } from './dom.js';
import { refreshSoon } from './events.js';
import { agentName, channelName } from './format.js';
import { pick } from './mentions.js';
import { isSup, S } from './store.js';
import { renderTemplatePicker } from './templates.js';

// composerMode says what the middle pane offers below the history.
function composerMode() {
  const d = S.detail;
  const c = d.conversation;
  const mine = S.me && c.assignee === S.me.id;
  const template = c.channel === 'whatsapp' && d.window_open === false;
  if (c.kind === 'chat' && (c.state === 'live' || c.state === 'pending')) {
    if (mine) return { kind: template ? 'template' : 'text', action: 'reply' };
    if (isSup()) {
      return {
        kind: 'readonly', sup: true,
        text: 'You are following this chat with ' + agentName(c.assignee) + ' as it happens. Supervisors comment instead of writing to the customer: '
          + 'add a comment on the right, and write @' + c.assignee + ' to notify ' + agentName(c.assignee) + '.',
      };
    }
    return { kind: 'readonly', text: 'This chat is with ' + agentName(c.assignee) + '. Only the assigned agent writes to the customer; add a comment instead.' };
  }
  if (canReachOut(c)) {
    if (!S.reaching.has(c.id)) {
      const via = channelName(c.channel);
      return {
        kind: 'start', action: 'reach-out-start', button: 'Reach out',
        text: 'This ' + (c.kind === 'ticket' ? 'ticket' : 'chat') + ' is closed. Reach out to the customer on ' + via
          + ': your message starts a new closed chat, and their answer makes it live.'
          + (template ? ' They last wrote more than 24 hours ago, so only an approved template can go.' : ''),
      };
    }
    return { kind: template ? 'template' : 'text', action: 'reach-out' };
  }
  if (c.kind === 'ticket' && c.state === 'assigned') {
    if (!mine) return { kind: 'readonly', text: 'This ticket is assigned to ' + agentName(c.assignee) + '.' };
    if (!c.agent_replied && !S.started.has(c.id)) {
      const text = c.subject ? 'This ticket was made from a closed chat, about "' + c.subject + '". Write to the customer to start a chat on it.'
        : 'The customer left this message for the team. Answer them to start a chat on this ticket.';
      return { kind: 'start', action: 'start', text, button: 'Start chat' };
    }
    return { kind: template ? 'template' : 'text', action: 'reply' };
  }
  if (c.kind === 'ticket' && c.state === 'unassigned') {
    return { kind: 'readonly', text: 'Accept this ticket to answer the customer.' };
  }
  if (c.kind === 'chat' && c.state === 'closed' && !c.merged_into) {
    // Only the chat's last agent reopens it (the server says the same).
    if (!mine) return { kind: 'readonly', text: 'This chat was with ' + agentName(c.assignee) + ': only they can reopen it.' };
    if (!S.reopening.has(c.id)) {
      return { kind: 'start', action: 'reopen-start', text: 'This chat is closed. Reopen it with a first message to the customer.', button: 'Reopen chat' };
    }
    return { kind: template ? 'template' : 'text', action: 'reopen' };
  }
  if (c.state === 'queued') return { kind: 'readonly', text: 'This chat is waiting in the queue for an agent.' };
  if (c.merged_into) return { kind: 'readonly', text: 'This chat continues in another conversation (' + c.merged_into + ').' };
  return { kind: 'readonly', text: c.kind === 'ticket' ? 'This ticket is ' + c.state + '.' : 'This chat is ' + c.state + '.' };
}

// canReachOut says whether the user may write to the contact of a closed
// conversation again: a supervisor always, an agent from a closed ticket
// they held (closed chats of their own are reopened instead).
export function canReachOut(c) {
  if ((c.state !== 'closed' && c.state !== 'archived') || c.merged_into || c.deleted_at) return false;
  if (isSup()) return true;
  return c.kind === 'ticket' && !!S.me && c.assignee === S.me.id;
}

export function renderComposer() {
  const mode = composerMode();
  S.mode = mode;
  $('#c-readonly').classList.toggle('sup-notice', !!mode.sup);
  show($('#c-start'), mode.kind === 'start');
  show($('#c-text'), mode.kind === 'text');
  show($('#c-template'), mode.kind === 'template');
  show($('#c-readonly'), mode.kind === 'readonly');
  if (mode.kind === 'start') {
    $('#c-start-text').textContent = mode.text;
    $('#c-start-btn').textContent = mode.button;
  }
  if (mode.kind === 'readonly') $('#c-readonly').textContent = mode.text;
  if (mode.kind === 'text') {
    const reopen = mode.action === 'reopen';
    const reach = mode.action === 'reach-out';
    $('#c-mode').textContent = reopen ? 'First message: sending it reopens the chat with you.'
      : reach ? 'Reach out: this message starts a new closed chat; the customer\'s answer makes it live.'
        : S.detail.conversation.kind === 'ticket' ? 'Reply on this ticket' : '';
    show($('#c-mode'), !!$('#c-mode').textContent);
    $('#send').textContent = reopen ? 'Reopen and send' : reach ? 'Reach out' : 'Send';
    show($('#c-cancel'), reopen || reach);
  }
  if (mode.kind === 'template') {
    $('#tpl-why').textContent = windowWhy(S.detail.contact);
    renderTemplatePicker();
    $('#tpl-send').textContent = mode.action === 'reopen' ? 'Reopen with template' : 'Send template';
    show($('#tpl-cancel'), mode.action === 'reopen' || mode.action === 'reach-out');
  }
  updateCannedHint();
}

// windowWhy says why only a template can go: the 24 hours have passed, or
// WhatsApp refused free text (Twilio's 63016) since the customer last wrote.
function windowWhy(contact) {
  const closed = contact && contact.window_closed_at && Date.parse(contact.window_closed_at);
  const wrote = contact && contact.last_inbound ? Date.parse(contact.last_inbound) : 0;
  if (closed && closed >= wrote) {
    return 'WhatsApp refused free text to this customer (Twilio error 63016). Only an approved template can go until they write again.';
  }
  return 'The customer last wrote more than 24 hours ago. WhatsApp only allows an approved template now.';
}

export function startClicked() {
  const c = S.detail && S.detail.conversation;
  if (!c) return;
  if (S.mode.action === 'start') S.started.add(c.id);
  if (S.mode.action === 'reopen-start') S.reopening.add(c.id);
  if (S.mode.action === 'reach-out-start') S.reaching.add(c.id);
  renderComposer();
  renderActions();
  const focus = S.mode.kind === 'template' ? $('#tpl') : $('#reply');
  focus.focus();
}

export function cancelReopen() {
  const c = S.detail && S.detail.conversation;
  if (c) {
    S.reopening.delete(c.id);
    S.reaching.delete(c.id);
  }
  renderComposer();
  renderActions();
}

export async function sendText() {
  const box = $('#reply');
  const text = box.value.trim();
  const media = pendingMedia(S.openId); // attachment ids; null: still uploading
  if (!media || (!text && !media.length) || S.sending || !S.openId || !S.mode) return;
  const reply = media.length ? { body: text, media } : { body: text };
  const id = S.openId;
  const reopen = S.mode.action === 'reopen';
  S.sending = true;
  $('#send').disabled = true;
  try {
    if (S.mode.action === 'reach-out') {
      const conv = await api('POST', convPath(id, 'reach-out'), reply);
      if (S.openId === id) box.value = '';
      S.drafts.delete(id);
      sentMedia(id);
      reachedOut(id, conv);
      return;
    }
    if (reopen) {
      await api('POST', convPath(id, 'reopen'), reply);
      S.reopening.delete(id);
      toast('Chat reopened. It is in your Live list.', 'ok');
    } else {
      await api('POST', convPath(id, 'messages'), reply);
    }
    if (S.openId === id) box.value = '';
    S.drafts.delete(id);
    sentMedia(id);
    noteTyping();
    await loadDetail(true);
    refreshSoon({ list: true, counts: true });
  } catch (e) {
    fail(e);
    if (e.code === 'template_required' || e.code === 'wrong_state') loadDetail();
  } finally {
    S.sending = false;
    $('#send').disabled = false;
  }
}

// reachedOut opens the new closed chat a reach-out started.
export function reachedOut(fromId, conv) {
  S.reaching.delete(fromId);
  toast('Sent. A new closed chat holds it, in Closed; the customer\'s answer makes it live.', 'ok');
  refreshSoon({ list: true, counts: true });
  if (conv && conv.id) openConversation(conv.id);
}

function cannedToken() {
  const box = $('#reply');
  const upto = box.value.slice(0, box.selectionStart);
  const m = upto.match(/(^|\s)(\/[\w.-]*)$/);
  return m ? { token: m[2], start: upto.length - m[2].length, end: box.selectionStart } : null;
}

function cannedMatches(token) {
  const t = token.toLowerCase();
  return S.settings.canned_replies.filter((c) => c.shortcut.toLowerCase().startsWith(t));
}

function insertAt(start, end, text) {
  const box = $('#reply');
  box.value = box.value.slice(0, start) + text + box.value.slice(end);
  const caret = start + text.length;
  box.setSelectionRange(caret, caret);
  box.dispatchEvent(new Event('input'));
}

// expandCanned replaces a /shortcut before the caret with its text.
export function expandCanned() {
  const tok = cannedToken();
  if (!tok || tok.token.length < 2) return false;
  const exact = S.settings.canned_replies.find((c) => c.shortcut.toLowerCase() === tok.token.toLowerCase());
  const all = cannedMatches(tok.token);
  const pick = exact || (all.length === 1 ? all[0] : null);
  if (!pick) return false;
  insertAt(tok.start, tok.end, pick.text);
  return true;
}

export function updateCannedHint() {
  const hint = $('#canned-hint');
  const tok = $('#c-text').hidden ? null : cannedToken();
  const list = tok && tok.token.length >= 1 ? cannedMatches(tok.token) : [];
  if (!list.length) {
    show(hint, false);
    return;
  }
  hint.replaceChildren(el('span', { class: 'muted', text: 'Tab inserts ' }),
    ...list.slice(0, 4).map((c) => el('button', {
      type: 'button', class: 'canned-pick', title: c.text,
      onmousedown: (ev) => ev.preventDefault(),
      onclick: () => {
        const t = cannedToken();
        if (t) insertAt(t.start, t.end, c.text);
        $('#reply').focus();
      },
    }, el('b', { text: c.shortcut }), ' ' + (c.text.length > 48 ? c.text.slice(0, 47) + '…' : c.text))));
  show(hint, true);
}

export function pickCanned(ev) {
  const i = ev.target.value;
  ev.target.value = '';
  const c = S.settings.canned_replies[Number(i)];
  if (!c) return;
  const box = $('#reply');
  insertAt(box.selectionStart, box.selectionEnd, c.text);
  box.focus();
}
