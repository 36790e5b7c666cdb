// Parley desk: three agent workflows.
//
//   Attachments  files uploaded to POST /conversations/{id}/attachments,
//                shown as removable chips under the reply box, and sent as
//                the reply's "media" ids (the composer asks pendingMedia).
//   Make a ticket  a closed chat becomes a ticket with a subject
//                (POST /conversations/{id}/convert), assigned to the user.
//   Trash        Delete a closed conversation (POST .../delete), the Trash
//                tab (GET /conversations?tab=trash), Restore (POST .../restore).
//
// The details panel calls onActions when it draws the open conversation's
// actions, and the composer calls sentMedia when a reply went.
// Every text from the server goes in as text, never as markup.

import { form } from './admin.js';
import { api, convPath } from './api.js';
import { loadDetail, openConversation } from './conversation.js';
import { $, el, fail, show, toast } from './dom.js';
import { refreshSoon } from './events.js';
import { C, isSup, S } from './store.js';

const pend = new Map(); // conversation id -> [{key, name, size, att}] (att null while uploading)
let keys = 0;

const mayManage = (c) => !!S.me && (c.assignee === S.me.id || isSup());

function fmtSize(n) {
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return (n / 1024).toFixed(n < 10 * 1024 ? 1 : 0) + ' KB';
  const mb = n / (1024 * 1024);
  return (Number.isInteger(mb) ? String(mb) : mb.toFixed(1)) + ' MB';
}

function fmtDay(iso) {
  const d = new Date(iso);
  return isNaN(d) ? '' : d.toLocaleDateString([], { day: 'numeric', month: 'short', year: 'numeric' });
}

// ---------- page parts ----------
function build() {
  // Attachments: chips under the reply box, an Attach button in its bar.
  const reply = $('#reply');
  const bar = $('#c-text .bar');
  const input = el('input', { type: 'file', id: 'attach-input', multiple: true, hidden: true, tabindex: '-1' });
  input.addEventListener('change', () => {
    addFiles(Array.from(input.files || []));
    input.value = '';
  });
  const btn = el('button', {
    type: 'button', id: 'attach', class: 'ghost', title: 'Attach files to this reply, or drop them on the conversation',
    text: 'Attach file', onclick: () => input.click(),
  });
  reply.after(el('div', { id: 'attachments', class: 'att-list', 'aria-label': 'Attachments for this reply' }));
  bar.insertBefore(btn, $('#canned', bar));
  bar.insertBefore(input, btn);

  // Drag and drop onto the open conversation.
  const conv = $('#conv');
  const hasFiles = (ev) => ev.dataTransfer && Array.from(ev.dataTransfer.types || []).includes('Files');
  let depth = 0;
  conv.addEventListener('dragenter', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    depth++;
    conv.classList.toggle('drop-on', canAttach());
  });
  conv.addEventListener('dragover', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = canAttach() ? 'copy' : 'none';
  });
  conv.addEventListener('dragleave', () => {
    depth = Math.max(0, depth - 1);
    if (!depth) conv.classList.remove('drop-on');
  });
  conv.addEventListener('drop', (ev) => {
    if (!hasFiles(ev)) return;
    ev.preventDefault();
    depth = 0;
    conv.classList.remove('drop-on');
    if (!canAttach()) {
      toast('Files can be attached only while you can write a reply in this conversation.');
      return;
    }
    addFiles(Array.from(ev.dataTransfer.files || []));
  });

  // Trash: a tab of its own after the tickets' tabs, and a note over the list.
  const nav = $('nav.tabs');
  nav.append(el('div', { class: 'tab-group' },
    el('span', { class: 'group-label', text: 'Trash' }),
    el('div', { class: 'tab-row', role: 'tablist' },
      el('button', { type: 'button', role: 'tab', class: 'tab', dataset: { tab: 'trash' }, title: 'Conversations you deleted' },
        'Trash ', el('span', { class: 'count', dataset: { count: 'trash' }, text: '0' })))));
  $('#list-meta').before(el('p', {
    id: 'trash-note', class: 'trash-note', hidden: true,
  }));
  new MutationObserver(decorateList).observe($('#list'), { childList: true });

  // Dialogs: make a ticket, and confirm a deletion.
  document.body.append(
    el('dialog', { id: 'convert-dialog', class: 'dialog' },
      el('form', { id: 'convert-form', method: 'dialog', novalidate: true },
        el('h3', { text: 'Make a ticket' }),
        el('p', { class: 'muted small', text: 'The ticket is assigned to you and carries this chat\'s history, for follow-up work. If the customer already has an open ticket, the chat is added to that one instead.' }),
        el('label', {}, 'Subject',
          el('input', { id: 'convert-subject', maxlength: '200', autocomplete: 'off', placeholder: 'What needs following up' })),
        el('p', { id: 'convert-error', class: 'form-error', role: 'alert', hidden: true }),
        el('div', { class: 'bar' }, el('span', { class: 'spacer' }),
          el('button', { type: 'button', class: 'ghost', id: 'convert-cancel', text: 'Cancel' }),
          el('button', { type: 'submit', class: 'primary', id: 'convert-submit', text: 'Make ticket' })))),
    el('dialog', { id: 'delete-dialog', class: 'dialog' },
      el('form', { id: 'delete-form', method: 'dialog', novalidate: true },
        el('h3', { id: 'delete-title', text: 'Delete conversation?' }),
        el('p', { id: 'delete-text' }),
        el('p', { id: 'delete-error', class: 'form-error', role: 'alert', hidden: true }),
        el('div', { class: 'bar' }, el('span', { class: 'spacer' }),
          el('button', { type: 'button', class: 'ghost', id: 'delete-cancel', text: 'Cancel' }),
          el('button', { type: 'submit', class: 'danger', id: 'delete-submit', text: 'Move to trash' })))));
  $('#convert-form').addEventListener('submit', submitConvert);
  // The "write a subject" error goes as soon as there is one.
  $('#convert-subject').addEventListener('input', () => {
    if ($('#convert-subject').value.trim()) show($('#convert-error'), false);
  });
  $('#convert-cancel').addEventListener('click', () => $('#convert-dialog').close());
  $('#delete-form').addEventListener('submit', submitDelete);
  $('#delete-cancel').addEventListener('click', () => $('#delete-dialog').close());

  // The tab changes: show or hide the trash note at once.
  nav.addEventListener('click', () => setTimeout(decorateList, 0));
}

// ---------- attachments ----------
const canAttach = () => !!S.openId && !$('#c-text').hidden;

function addFiles(files) {
  const id = S.openId;
  if (!id || !files.length) return;
  const list = pend.get(id) || [];
  for (const f of files) {
    if (f.size > C.max_attachment_bytes) {
      toast('"' + f.name + '" is ' + fmtSize(f.size) + ': attachments can be at most ' + fmtSize(C.max_attachment_bytes) + '.');
      continue;
    }
    if (f.size === 0) {
      toast('"' + f.name + '" is empty; it was not attached.');
      continue;
    }
    if (list.length >= C.max_attachments_per_reply) {
      toast('A reply carries at most ' + C.max_attachments_per_reply + ' files; "' + f.name + '" was not attached.');
      continue;
    }
    const p = { key: ++keys, name: f.name, size: f.size, att: null };
    list.push(p);
    upload(id, f, p);
  }
  pend.set(id, list);
  renderChips();
}

async function upload(id, file, p) {
  const drop = () => {
    const list = (pend.get(id) || []).filter((x) => x !== p);
    pend.set(id, list);
    renderChips();
  };
  const form = new FormData();
  form.append('file', file, file.name);
  let res;
  try {
    res = await fetch('/api/v1' + convPath(id, 'attachments'), {
      method: 'POST', body: form, credentials: 'same-origin',
      headers: { Accept: 'application/json', 'X-CSRF-Token': S.csrf },
    });
  } catch (e) {
    drop();
    toast('Cannot reach Parley to upload "' + file.name + '"; check your connection.');
    return;
  }
  let data = null;
  try { data = await res.json(); } catch (e) { /* not JSON */ }
  if (!res.ok) {
    drop();
    if (res.status === 413) toast('"' + file.name + '" is too large: attachments can be at most ' + fmtSize(C.max_attachment_bytes) + '.');
    else toast('"' + file.name + '" was not attached: ' + ((data && data.error) || res.statusText || 'upload failed') + '.');
    return;
  }
  if (!(pend.get(id) || []).includes(p)) return; // removed while uploading
  p.att = data;
  renderChips();
}

function renderChips() {
  const box = $('#attachments');
  if (!box) return;
  const list = (S.openId && pend.get(S.openId)) || [];
  box.replaceChildren(...list.map((p) => el('span', {
    class: 'att-chip' + (p.att ? '' : ' uploading'), dataset: { key: String(p.key), id: p.att ? p.att.id : '' },
    title: p.name + (p.att ? ' · ' + (p.att.content_type || '') : ' · uploading'),
  },
  el('span', { class: 'att-name', text: p.name }),
  el('span', { class: 'att-size', text: p.att ? fmtSize(p.size) : 'uploading…' }),
  el('button', {
    type: 'button', class: 'att-x', 'aria-label': 'Remove ' + p.name, title: 'Remove', text: '×',
    onclick: () => {
      pend.set(S.openId, (pend.get(S.openId) || []).filter((x) => x !== p));
      renderChips();
    },
  }))));
  $('#send').title = list.length ? 'Sends the text (if any) with ' + list.length + (list.length === 1 ? ' file' : ' files') : '';
}

// ---------- actions on the open conversation ----------
export function onActions(c, box) {
  renderChips();
  const acts = [];
  if (c.deleted_at) {
    const purge = new Date(new Date(c.deleted_at).getTime() + C.trash_days * 86400000).toISOString();
    acts.push(actionButton('Restore', 'primary', () => restore(c.id), 'Take this conversation out of the trash'));
    acts.push(el('p', { class: 'extras-note', text: 'In the trash since ' + fmtDay(c.deleted_at) + '; purged for good on ' + fmtDay(purge) + '.' }));
    // Nothing else is done to a deleted conversation: restore it first.
    for (const b of box.querySelectorAll('button[data-action="Reopen chat"], button[data-action="Reach out"]')) b.remove();
    if (!$('#c-start').hidden || !$('#c-text').hidden || !$('#c-template').hidden) {
      show($('#c-start'), false);
      show($('#c-text'), false);
      show($('#c-template'), false);
      $('#c-readonly').textContent = 'This ' + (c.kind === 'ticket' ? 'ticket' : 'chat') + ' is in the trash. Restore it to work on it again.';
      show($('#c-readonly'), true);
    }
  } else if (c.state === 'closed' && mayManage(c)) {
    if (c.kind === 'chat' && !c.converted_to && !c.merged_into) {
      acts.push(actionButton('Make a ticket', '', () => openConvert(c), 'Turn this closed chat into a ticket assigned to you, for follow-up work'));
    }
    acts.push(actionButton('Delete', 'danger', () => openDelete(c), 'Move this closed ' + (c.kind === 'ticket' ? 'ticket' : 'chat') + ' to the trash'));
  }
  if (c.converted_to) {
    acts.push(actionButton('Open ticket', '', () => openConversation(c.converted_to), 'The ticket this chat became'));
  }
  if (!acts.length) return;
  const none = box.querySelector(':scope > p.muted');
  if (none) none.remove();
  const dl = box.querySelector(':scope > .downloads');
  for (const a of acts) box.insertBefore(a, dl);
}

function actionButton(label, cls, onclick, title) {
  return el('button', { type: 'button', class: cls || '', title: title || null, dataset: { action: label }, onclick, text: label });
}

// ---------- make a ticket ----------
function openConvert(c) {
  const dlg = $('#convert-dialog');
  dlg.dataset.id = c.id;
  $('#convert-subject').value = '';
  show($('#convert-error'), false);
  dlg.showModal();
  $('#convert-subject').focus();
}

async function submitConvert(ev) {
  ev.preventDefault();
  const dlg = $('#convert-dialog');
  const subject = $('#convert-subject').value.trim();
  const err = $('#convert-error');
  if (!subject) {
    err.textContent = 'Write a subject for the ticket.';
    show(err, true);
    return;
  }
  const btn = $('#convert-submit');
  btn.disabled = true;
  try {
    const ticket = await api('POST', convPath(dlg.dataset.id, 'convert'), { subject });
    dlg.close();
    toast('Ticket made. It is assigned to you, in Tickets → Assigned.', 'ok');
    const tab = document.querySelector('.tab[data-tab="assigned"]');
    if (tab && S.tab !== 'assigned') tab.click();
    refreshSoon({ list: true, counts: true });
    if (ticket && ticket.id) openConversation(ticket.id);
  } catch (e) {
    err.textContent = e.message + (e.code ? ' (' + e.code + ')' : '');
    show(err, true);
  } finally {
    btn.disabled = false;
  }
}

// ---------- trash ----------
function openDelete(c) {
  const dlg = $('#delete-dialog');
  dlg.dataset.id = c.id;
  const what = c.kind === 'ticket' ? 'ticket' : 'chat';
  $('#delete-title').textContent = 'Delete this ' + what + '?';
  $('#delete-text').textContent = 'It leaves every list and goes to your Trash, where you can restore it for ' + C.trash_days
    + ' days. After that it is purged for good, with its messages.';
  show($('#delete-error'), false);
  dlg.showModal();
}

async function submitDelete(ev) {
  ev.preventDefault();
  const dlg = $('#delete-dialog');
  const id = dlg.dataset.id;
  const btn = $('#delete-submit');
  btn.disabled = true;
  try {
    await api('POST', convPath(id, 'delete'));
    dlg.close();
    toast('Moved to the trash. Restore it from Trash within ' + C.trash_days + ' days if you need it.', 'ok');
    if (S.openId === id) await loadDetail(false, true);
    refreshSoon({ list: true, counts: true });
  } catch (e) {
    $('#delete-error').textContent = e.message + (e.code ? ' (' + e.code + ')' : '');
    show($('#delete-error'), true);
  } finally {
    btn.disabled = false;
  }
}

async function restore(id) {
  try {
    await api('POST', convPath(id, 'restore'));
    toast('Restored: it is back in its list.', 'ok');
    if (S.openId === id) await loadDetail(false, true);
  } catch (e) {
    fail(e);
  }
  refreshSoon({ list: true, counts: true });
}

// decorateList shows the trash note, and on the Trash tab a Restore
// button and the purge date on every card.
function decorateList() {
  const trash = S.tab === 'trash';
  const note = $('#trash-note');
  if (note) {
    note.textContent = 'Deleted conversations stay here for ' + C.trash_days + ' days, then they are purged for good. Restore one to put it back in its list.';
    show(note, trash);
  }
  if (!trash) return;
  for (const li of document.querySelectorAll('#list .card')) {
    if (li.querySelector('.card-restore')) continue;
    const c = S.items.find((x) => x.id === li.dataset.id);
    if (!c) continue;
    if (c.deleted_at) {
      const purge = new Date(new Date(c.deleted_at).getTime() + C.trash_days * 86400000).toISOString();
      li.append(el('div', { class: 'card-trash', text: 'Deleted ' + fmtDay(c.deleted_at) + ' · purged ' + fmtDay(purge) }));
    }
    li.append(el('button', {
      type: 'button', class: 'card-restore', text: 'Restore', title: 'Take it out of the trash',
      onclick: (ev) => { ev.stopPropagation(); restore(c.id); },
    }));
  }
}

// pendingMedia is what the composer sends with a reply: the ids of the
// uploaded files, or null (nothing goes) while one is still uploading.
export function pendingMedia(id) {
  const list = pend.get(id) || [];
  if (list.some((p) => !p.att)) {
    toast('Wait until the files finish uploading, then send.');
    return null;
  }
  return list.map((p) => p.att.id);
}

// sentMedia forgets a conversation's attachments once its reply went.
export function sentMedia(id) {
  pend.delete(id);
  renderChips();
}

export function initExtras() {
  build();
  return {
    name: 'extras',
    show() {},
    reset() {
      pend.clear();
      renderChips();
    },
  };
}
