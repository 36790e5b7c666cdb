// Parley desk: administration, for admins. Users (GET/POST/PUT
// /api/v1/admin/users...), the engine settings (GET/PUT
// /api/v1/admin/settings: the forms below read the document, and saving
// builds the same document back, keeping what they do not show), and the
// audit log. Every text from the server goes in as text, never as markup.

import { cannedRow, deptRow, fillSettings, holidayRow, loadSettings, markDirty, refreshDefaultDept, saveSettings, setDirty, templateRow } from './admin-settings.js';
import { api } from './api.js';
import { $, $$, el, fail, show, toast } from './dom.js';
import { fmtFull } from './format.js';
import { C, S } from './store.js';
import { applySettings } from './views.js';

export const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
export const TEXTS = [
  ['out_of_hours', 'Out of hours', 'Sent first when a customer writes outside business hours.'],
  ['no_agent', 'Nobody available', 'Sent first when no agent of the department can take the chat.'],
  ['leave_message', 'Leave a message?', 'The YES/NO question that follows either of the two above.'],
  ['collecting', 'After YES', 'Confirms that what the customer sends next goes to the team.'],
  ['declined', 'After NO', 'Sent when the customer does not want to leave a message.'],
  ['ended', 'After //end', 'Thanks the customer once their message is complete.'],
  ['queued', 'Waiting in the queue', 'To a chat waiting for an agent; {position} becomes its place in the queue.'],
];
export const TIMEOUTS = [
  ['queue_timeout', 'Queue', 'How long a chat waits for an agent before it becomes a ticket; 0 means it does not wait.'],
  ['agent_response_timeout', 'Agent response', 'How long the assigned agent has to answer before the chat goes to another agent.'],
  ['inactivity_timeout', 'Inactivity', 'A live chat with no message either way is closed after this, or becomes a ticket if the customer is unanswered.'],
  ['pending_timeout', 'Pending', 'A pending chat the customer does not answer is closed after this.'],
  ['ticket_session_timeout', 'Leave-a-message session', 'After YES, the session ends this long after the customer\'s last message.'],
  ['ticket_archive_after', 'Ticket archive', 'A ticket with no activity for this long is archived.'],
];
const ROLES = { agent: 'Agent', supervisor: 'Supervisor', admin: 'Admin' };
const ACTIONS = {
  'settings.update': 'Changed the settings', 'user.create': 'Added a user', 'user.update': 'Changed a user',
  'user.password': 'Set a password', 'user.disable': 'Disabled a user', 'user.enable': 'Enabled a user',
  'templates.sync': 'Synced templates from Twilio',
};
export const RANGE = /^\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}$/;
const AUDIT_PAGE = 100;

export const A = {
  pane: 'users', users: [], disabled: new Set(), doc: null, dirty: false, audit: [], auditDone: false,
  usersSeq: 0, auditSeq: 0,
};
export const extra = new WeakMap(); // department row -> fields the form keeps as they are

function setAdminPane(pane) {
  if (!['users', 'settings', 'audit'].includes(pane)) pane = 'users';
  A.pane = pane;
  try { sessionStorage.setItem('parley.admin', pane); } catch (e) { /* private mode */ }
  for (const b of $$('.subtab')) {
    const on = b.dataset.admin === pane;
    b.classList.toggle('active', on);
    b.setAttribute('aria-current', on ? 'page' : 'false');
  }
  show($('#admin-users'), pane === 'users');
  show($('#admin-settings'), pane === 'settings');
  show($('#admin-audit'), pane === 'audit');
  if (pane === 'users') loadUsers();
  if (pane === 'settings' && (!A.doc || !A.dirty)) loadSettings();
  if (pane === 'audit') loadAudit(false);
}

// ---------- users ----------
async function loadUsers() {
  const seq = ++A.usersSeq;
  try {
    const [r, settings] = await Promise.all([api('GET', '/admin/users'), api('GET', '/settings')]);
    if (seq !== A.usersSeq) return;
    applySettings(settings);
    A.users = (r.items || []).slice().sort((a, b) => a.id.localeCompare(b.id));
    renderUsers();
  } catch (e) {
    if (seq === A.usersSeq) fail(e);
  }
}

const deptName = (id) => (S.settings.departments.find((d) => d.id === id) || {}).name || id;

function renderUsers() {
  const head = ['User', 'Role', 'Departments', 'Capacity', 'Presence', ''];
  const rows = A.users.map((u) => {
    const disabled = A.disabled.has(u.id) || u.disabled; // from the server, or just now
    const self = S.me && u.id === S.me.id;
    const presence = u.presence === 'online' ? 'Online · ' + u.load + ' of ' + u.capacity + ' live' : u.presence === 'away' ? 'Away' : 'Offline';
    return el('tr', { dataset: { user: u.id }, class: disabled ? 'row-disabled' : null },
      el('td', {}, el('b', { text: u.name || u.id }), el('div', { class: 'muted small', text: u.id + (self ? ' · you' : '') })),
      el('td', {}, el('span', { class: 'role-chip role-' + (u.role || 'agent'), text: ROLES[u.role] || u.role || '—' }),
        disabled ? el('span', { class: 'chip wait', text: 'Disabled' }) : null),
      el('td', { text: (u.departments || []).map(deptName).join(', ') || '—' }),
      el('td', { class: 'num', text: String(u.capacity) }),
      el('td', { text: presence }),
      el('td', { class: 'row-actions' },
        el('button', { type: 'button', class: 'small', dataset: { act: 'edit' }, text: 'Edit', onclick: () => openUserDialog(u) }),
        el('button', { type: 'button', class: 'small', dataset: { act: 'password' }, text: 'Reset password', onclick: () => openPasswordDialog(u) }),
        disabled
          ? el('button', { type: 'button', class: 'small', dataset: { act: 'enable' }, text: 'Enable', onclick: () => enableUser(u) })
          : el('button', {
            type: 'button', class: 'small danger', dataset: { act: 'disable' }, text: 'Disable',
            disabled: self, title: self ? 'You cannot disable yourself' : null,
            onclick: () => confirmDisable(u),
          })));
  });
  $('#users-table').replaceChildren(
    el('thead', {}, el('tr', {}, head.map((h, i) => el('th', { class: i === 3 ? 'num' : null, text: h })))),
    el('tbody', {}, rows.length ? rows : [el('tr', {}, el('td', { colspan: '6', class: 'muted', text: 'No users yet.' }))]));
}

function openUserDialog(u) {
  const dlg = $('#user-dialog');
  const editing = !!u;
  dlg.dataset.id = editing ? u.id : '';
  $('#user-title').textContent = editing ? 'Change ' + (u.name || u.id) : 'Add user';
  $('#user-submit').textContent = editing ? 'Save' : 'Add user';
  $('#u-id').value = editing ? u.id : '';
  $('#u-id').disabled = editing;
  $('#u-name').value = editing ? u.name || '' : '';
  $('#u-role').value = editing ? u.role || 'agent' : 'agent';
  $('#u-capacity').value = String(editing ? u.capacity || 3 : 3);
  $('#u-password').value = '';
  show($('#u-password-row'), !editing);
  const have = new Set(editing ? u.departments || [] : []);
  const known = S.settings.departments.map((d) => d.id);
  const ids = known.concat([...have].filter((d) => !known.includes(d)));
  $('#u-depts').replaceChildren(...ids.map((id) => el('label', { class: 'check' },
    el('input', { type: 'checkbox', value: id, checked: have.has(id) || (!editing && ids.length === 1) }),
    ' ' + deptName(id) + (known.includes(id) ? '' : ' (no longer a department)'))));
  show($('#user-error'), false);
  dlg.showModal();
  (editing ? $('#u-name') : $('#u-id')).focus();
}

async function submitUser(ev) {
  ev.preventDefault();
  const dlg = $('#user-dialog');
  const editing = !!dlg.dataset.id;
  const id = editing ? dlg.dataset.id : $('#u-id').value.trim();
  const body = {
    name: $('#u-name').value.trim(),
    role: $('#u-role').value,
    departments: $$('#u-depts input:checked').map((i) => i.value),
    capacity: Number($('#u-capacity').value),
  };
  const err = $('#user-error');
  const problem = !new RegExp(C.user_id_pattern).test(id) ? 'The user id takes lower-case letters, digits, ".", "_" or "-" (up to 40), starting with a letter or digit.'
    : !Number.isInteger(body.capacity) || body.capacity < 1 || body.capacity > 100 ? 'Capacity is a whole number of live chats, from 1 to 100.'
      : !editing && ($('#u-password').value.length < 10 || $('#u-password').value.length > 72) ? 'The password needs 10 to 72 characters.'
        : '';
  if (problem) {
    err.textContent = problem;
    show(err, true);
    return;
  }
  const btn = $('#user-submit');
  btn.disabled = true;
  try {
    if (editing) {
      await api('PUT', '/admin/users/' + encodeURIComponent(id), body);
      toast('Saved ' + (body.name || id) + '.', 'ok');
    } else {
      await api('POST', '/admin/users', Object.assign({ id, password: $('#u-password').value }, body));
      A.disabled.delete(id);
      toast('Added ' + (body.name || id) + '. They can sign in now.', 'ok');
    }
    $('#u-password').value = '';
    dlg.close();
    loadUsers();
  } catch (e) {
    err.textContent = (e.code === 'exists' ? 'A user with this id exists already.' : e.message) + (e.code ? ' (' + e.code + ')' : '');
    show(err, true);
  } finally {
    btn.disabled = false;
  }
}

function openPasswordDialog(u) {
  const dlg = $('#password-dialog');
  dlg.dataset.id = u.id;
  $('#password-title').textContent = 'New password for ' + (u.name || u.id);
  $('#p-password').value = '';
  show($('#password-error'), false);
  dlg.showModal();
  $('#p-password').focus();
}

async function submitPassword(ev) {
  ev.preventDefault();
  const dlg = $('#password-dialog');
  const id = dlg.dataset.id;
  const password = $('#p-password').value;
  const err = $('#password-error');
  if (password.length < 10 || password.length > 72) {
    err.textContent = 'The password needs 10 to 72 characters.';
    show(err, true);
    return;
  }
  const btn = $('#password-submit');
  btn.disabled = true;
  try {
    await api('POST', '/admin/users/' + encodeURIComponent(id) + '/password', { password });
    $('#p-password').value = '';
    dlg.close();
    // A new password signs the user out everywhere; it does not enable
    // a disabled account (Enable does).
    const u = A.users.find((x) => x.id === id);
    const off = A.disabled.has(id) || (u && u.disabled);
    toast('Password set. ' + id + ' is signed out everywhere' + (off ? ' and stays disabled until enabled.' : ' and signs in with the new one.'), 'ok');
    renderUsers();
  } catch (e) {
    err.textContent = e.message + (e.code ? ' (' + e.code + ')' : '');
    show(err, true);
  } finally {
    btn.disabled = false;
  }
}

function confirmDisable(u) {
  const dlg = $('#confirm-dialog');
  dlg.dataset.id = u.id;
  $('#confirm-title').textContent = 'Disable ' + (u.name || u.id) + '?';
  $('#confirm-text').textContent = 'They are signed out everywhere at once, set offline, and cannot sign in until an admin enables them again. Their conversations stay as they are.';
  $('#confirm-submit').textContent = 'Disable';
  show($('#confirm-error'), false);
  dlg.showModal();
}

async function submitConfirm(ev) {
  ev.preventDefault();
  const dlg = $('#confirm-dialog');
  const id = dlg.dataset.id;
  const btn = $('#confirm-submit');
  btn.disabled = true;
  try {
    await api('POST', '/admin/users/' + encodeURIComponent(id) + '/disable');
    A.disabled.add(id);
    dlg.close();
    toast(id + ' is disabled.', 'ok');
    loadUsers();
  } catch (e) {
    $('#confirm-error').textContent = e.message + (e.code ? ' (' + e.code + ')' : '');
    show($('#confirm-error'), true);
  } finally {
    btn.disabled = false;
  }
}

async function enableUser(u) {
  try {
    await api('POST', '/admin/users/' + encodeURIComponent(u.id) + '/enable');
    A.disabled.delete(u.id);
    toast((u.name || u.id) + ' is enabled and can sign in with their password.', 'ok');
    loadUsers();
  } catch (e) {
    fail(e);
  }
}

// ---------- audit log ----------
async function loadAudit(more) {
  const seq = ++A.auditSeq;
  const offset = more ? A.audit.length : 0;
  try {
    const r = await api('GET', '/admin/audit?offset=' + offset + '&limit=' + AUDIT_PAGE);
    if (seq !== A.auditSeq) return;
    const items = r.items || [];
    A.audit = more ? A.audit.concat(items) : items;
    A.auditDone = items.length < AUDIT_PAGE;
    renderAudit();
  } catch (e) {
    if (seq === A.auditSeq) fail(e);
  }
}

function renderAudit() {
  const rows = A.audit.map((e) => el('tr', { dataset: { action: e.action } },
    el('td', { text: fmtFull(e.at), title: e.at }),
    el('td', { text: e.actor }),
    el('td', {}, el('span', { text: ACTIONS[e.action] || e.action }), el('div', { class: 'muted small', text: e.action })),
    el('td', { text: e.target || '' }),
    el('td', { class: 'small', text: e.detail || '' })));
  $('#audit-table').replaceChildren(
    el('thead', {}, el('tr', {}, ['When', 'Who', 'What', 'Target', 'Detail'].map((h) => el('th', { text: h })))),
    el('tbody', {}, rows.length ? rows : [el('tr', {}, el('td', { colspan: '5', class: 'muted', text: 'Nothing has been changed yet.' }))]));
  show($('#audit-more'), !A.auditDone);
}

export const form = $('#admin-settings');
let zones = [];
export function initAdmin() {
  // ---------- wiring ----------
  for (const b of $$('.subtab')) b.addEventListener('click', () => setAdminPane(b.dataset.admin));
  $('#user-add').addEventListener('click', () => openUserDialog(null));
  $('#users-refresh').addEventListener('click', loadUsers);
  $('#user-form').addEventListener('submit', submitUser);
  $('#user-cancel').addEventListener('click', () => $('#user-dialog').close());
  $('#password-form').addEventListener('submit', submitPassword);
  $('#password-cancel').addEventListener('click', () => $('#password-dialog').close());
  $('#confirm-form').addEventListener('submit', submitConfirm);
  $('#confirm-cancel').addEventListener('click', () => $('#confirm-dialog').close());

  form.addEventListener('submit', saveSettings);
  form.addEventListener('input', markDirty);
  form.addEventListener('change', markDirty);
  $('#settings-discard').addEventListener('click', () => { if (A.doc) fillSettings(A.doc); loadSettings(); });
  $('#s-holiday-add').addEventListener('click', () => {
    const row = holidayRow('');
    $('#s-holidays').append(row);
    row.querySelector('input').focus();
    markDirty();
  });
  $('#s-dept-add').addEventListener('click', () => { $('#s-depts').append(deptRow({})); refreshDefaultDept(); markDirty(); });
  $('#s-canned-add').addEventListener('click', () => { $('#s-canned').append(cannedRow({})); markDirty(); });
  $('#s-template-add').addEventListener('click', () => { $('#s-templates').append(templateRow({ variables: ['1'] })); markDirty(); });

  // Sync from Twilio: reads the account's templates and approvals now
  // (POST /api/v1/admin/templates/sync), then shows the stored settings.
  const syncBtn = el('button', { type: 'button', id: 's-template-sync', class: 'small', text: 'Sync from Twilio' });
  const syncState = el('span', { id: 's-template-sync-state', class: 'muted small', role: 'status' });
  $('#s-template-add').after(' ', syncBtn, ' ', syncState);
  syncBtn.addEventListener('click', async () => {
    if (A.dirty) {
      toast('Save or discard your changes to the settings first: the sync reloads them.');
      return;
    }
    syncBtn.disabled = true;
    syncState.textContent = 'Reading templates from Twilio…';
    try {
      const r = await api('POST', '/admin/templates/sync');
      syncState.textContent = 'Synced ' + r.total + ' from Twilio (' + r.approved + ' approved): ' + r.added + ' added, '
        + r.updated + ' updated, ' + r.removed + ' removed.';
      await loadSettings();
      try { applySettings(await api('GET', '/settings')); } catch (e) { /* the desk reloads them later */ }
      toast('Templates synced from Twilio.', 'ok');
    } catch (e) {
      syncState.textContent = 'Not synced: ' + e.message + (e.code ? ' (' + e.code + ')' : '');
    } finally {
      syncBtn.disabled = false;
    }
  });
  try { zones = Intl.supportedValuesOf('timeZone'); } catch (e) { /* older browser: free text */ }
  $('#tz-list').replaceChildren(...['UTC', ...zones.filter((z) => z !== 'UTC')].map((z) => el('option', { value: z })));
  $('#audit-refresh').addEventListener('click', () => loadAudit(false));
  $('#audit-more').addEventListener('click', () => loadAudit(true));

  return {
    name: 'admin',
    show() {
      let pane = A.pane;
      try { pane = sessionStorage.getItem('parley.admin') || pane; } catch (e) { /* private mode */ }
      setAdminPane(pane);
    },
    reset() {
      A.users = [];
      A.doc = null;
      A.audit = [];
      A.disabled.clear();
      setDirty(false);
      $('#users-table').replaceChildren();
      $('#audit-table').replaceChildren();
    },
  };
}
