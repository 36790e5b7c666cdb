// Parley desk: administration, for admins. Users (GET/POST/PUT
// /api/v1/admin/users...), the engine settings (GET/PUT
// /api/v1/admin/settings: the forms below read the document, and saving
// builds the same document back, keeping what they do not show), and the
// audit log. Every text from the server goes in as text, never as markup.
(() => {
  'use strict';

  const DAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
  const TEXTS = [
    ['out_of_hours', 'Out of hours', 'Sent first when a customer writes outside business hours.'],
    ['no_agent', 'Nobody available', 'Sent first when no agent of the department can take the chat.'],
    ['leave_message', 'Leave a message?', 'The YES/NO question that follows either of the two above.'],
    ['collecting', 'After YES', 'Confirms that what the customer sends next goes to the team.'],
    ['declined', 'After NO', 'Sent when the customer does not want to leave a message.'],
    ['ended', 'After //end', 'Thanks the customer once their message is complete.'],
    ['queued', 'Waiting in the queue', 'To a chat waiting for an agent; {position} becomes its place in the queue.'],
  ];
  const TIMEOUTS = [
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
  // WhatsApp approval statuses in words; a synced template goes outside the
  // 24-hour window only once approved.
  const APPROVAL = {
    approved: 'Approved', pending: 'Pending approval', received: 'Pending approval', rejected: 'Rejected',
    paused: 'Paused', disabled: 'Disabled', unsubmitted: 'Not submitted',
  };
  const USER_ID = /^[a-z0-9][a-z0-9._-]{0,39}$/;
  const RANGE = /^\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}$/;
  const AUDIT_PAGE = 100;

  // parseDuration reads a Go duration ("1h30m", "90s", "2160h0m0s") into
  // seconds; NaN when it is not one.
  function parseDuration(str) {
    const v = String(str || '').trim();
    if (v === '0') return 0;
    if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) return NaN;
    const unit = { ns: 1e-9, us: 1e-6, 'µs': 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
    let total = 0;
    for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * unit[m[2]];
    return total;
  }

  // shortDuration drops the zero tails Go writes: "24h0m0s" is "24h".
  const shortDuration = (v) => String(v || '').replace(/(\d)h0m0s$/, '$1h').replace(/(\d)m0s$/, '$1m');

  function spellDuration(sec) {
    if (!Number.isFinite(sec)) return 'not a duration: write it like 90s, 5m, 1h30m or 24h';
    if (sec === 0) return 'none';
    const parts = [];
    let s = Math.round(sec);
    const add = (n, one, many) => { if (n) parts.push(n + ' ' + (n === 1 ? one : many)); };
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    add(d, 'day', 'days'); add(h, 'hour', 'hours'); add(m, 'minute', 'minutes'); add(s, 'second', 'seconds');
    if (!parts.length) return 'less than a second';
    return parts.join(' ');
  }

  const clone = (v) => JSON.parse(JSON.stringify(v === undefined ? null : v));
  const splitList = (v) => String(v || '').split(/[\s,]+/).map((x) => x.trim()).filter(Boolean);

  (window.ParleyModules = window.ParleyModules || []).push((core) => {
    const { S, api, el, $, $$, show, toast, fail, fmtFull, fillTemplate } = core;
    const A = {
      pane: 'users', users: [], disabled: new Set(), doc: null, dirty: false, audit: [], auditDone: false,
      usersSeq: 0, auditSeq: 0,
    };
    const extra = new WeakMap(); // department row -> fields the form keeps as they are

    function setPane(pane) {
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
        core.applySettings(settings);
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
      const problem = !USER_ID.test(id) ? 'The user id takes lower-case letters, digits, ".", "_" or "-" (up to 40), starting with a letter or digit.'
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

    // ---------- settings ----------
    async function loadSettings() {
      try {
        const doc = await api('GET', '/admin/settings');
        A.doc = doc;
        fillSettings(doc);
      } catch (e) {
        fail(e);
      }
    }

    function removeButton(label) {
      return el('button', {
        type: 'button', class: 'ghost small remove', 'aria-label': label, title: label, text: '×',
        onclick: (ev) => { ev.currentTarget.closest('.row-item').remove(); markDirty(); refreshDefaultDept(); },
      });
    }

    function holidayRow(date) {
      return el('li', { class: 'row-item' }, el('input', { type: 'date', class: 'h-date', value: date || '', 'aria-label': 'Holiday' }),
        removeButton('Remove this holiday'));
    }

    function deptRow(d) {
      const row = el('div', { class: 'row-item dept-row' },
        el('label', { class: 'mini' }, 'Id', el('input', { class: 'd-id', value: d.id || '', spellcheck: 'false', autocomplete: 'off' })),
        el('label', { class: 'mini' }, 'Name', el('input', { class: 'd-name', value: d.name || '', autocomplete: 'off' })),
        el('label', { class: 'mini grow' }, 'Numbers', el('input', { class: 'd-numbers', value: (d.numbers || []).join(', '), spellcheck: 'false', autocomplete: 'off' })),
        removeButton('Remove this department'));
      if (d.business_hours) {
        row.append(el('span', { class: 'hint full', text: 'Has business hours of its own, kept as they are.' }));
      }
      extra.set(row, clone(d));
      row.querySelector('.d-id').addEventListener('input', refreshDefaultDept);
      return row;
    }

    function cannedRow(c) {
      return el('div', { class: 'row-item canned-row' },
        el('label', { class: 'mini' }, 'Shortcut', el('input', { class: 'c-short', value: c.shortcut || '', placeholder: '/hello', spellcheck: 'false' })),
        el('label', { class: 'mini grow' }, 'Text', el('input', { class: 'c-text', value: c.text || '' })),
        removeButton('Remove this canned reply'));
    }

    // syncedRow shows a template read from Twilio: its approval, category,
    // language and types, and the preview with Twilio's sample values. It is
    // not edited here (the next sync would undo it) and is saved as it is.
    function syncedRow(t) {
      const status = t.status || 'unsubmitted';
      const vars = {};
      for (const v of t.variables || []) vars[v] = (t.samples && t.samples[v]) || '{{' + v + '}}';
      const row = el('div', { class: 'row-item template-row synced-row', dataset: { sid: t.content_sid, status } },
        el('div', { class: 'synced-head full' },
          el('b', { class: 't-name', text: t.name }),
          el('span', { class: 'approval approval-' + (status === 'approved' ? 'ok' : status === 'rejected' ? 'bad' : 'wait'), text: APPROVAL[status] || status }),
          el('span', { class: 'muted small', text: [t.category, t.language, (t.types || []).join(', ')].filter(Boolean).join(' · ') })),
        el('code', { class: 'small full', text: t.content_sid }),
        el('div', { class: 'tpl-preview t-rendered full' }, fillTemplate(t.preview || '', vars, true)));
      if (t.rejection_reason) row.append(el('span', { class: 'hint full', text: 'WhatsApp: ' + t.rejection_reason }));
      if (status !== 'approved') {
        row.append(el('span', { class: 'hint full', text: 'Not offered to agents outside the 24-hour window until WhatsApp approves it.' }));
      }
      extra.set(row, clone(t));
      return row;
    }

    function templateRow(t) {
      if (t.source === 'twilio') return syncedRow(t);
      const preview = el('div', { class: 'tpl-preview t-rendered' });
      const row = el('div', { class: 'row-item template-row' },
        el('label', { class: 'mini' }, 'Name', el('input', { class: 't-name', value: t.name || '', spellcheck: 'false' })),
        el('label', { class: 'mini sid' }, 'Content SID', el('input', { class: 't-sid', value: t.content_sid || '', placeholder: 'HX…', spellcheck: 'false' })),
        el('label', { class: 'mini narrow' }, 'Variables', el('input', { class: 't-vars', value: (t.variables || []).join(', '), placeholder: '1, 2' })),
        removeButton('Remove this template'),
        el('label', { class: 'mini full' }, 'Preview text', el('textarea', { class: 't-preview', rows: '2' })),
        el('div', { class: 'full' }, el('span', { class: 'hint', text: 'As the desk shows it:' }), preview));
      row.querySelector('.t-preview').value = t.preview || '';
      const update = () => {
        const vars = {};
        // Declared variables show as placeholders; one the preview uses
        // without declaring it stays marked as missing.
        for (const v of splitList(row.querySelector('.t-vars').value)) vars[v] = '{{' + v + '}}';
        preview.replaceChildren(fillTemplate(row.querySelector('.t-preview').value, vars, true));
      };
      row.addEventListener('input', update);
      update();
      return row;
    }

    function refreshDefaultDept() {
      const sel = $('#s-default-dept');
      const keep = sel.value || (A.doc && A.doc.default_department) || '';
      const ids = $$('#s-depts .d-id').map((i) => i.value.trim()).filter(Boolean);
      const opts = ids.length ? ids : [keep || 'general'];
      sel.replaceChildren(...opts.map((id) => el('option', { value: id, text: id })));
      sel.value = opts.includes(keep) ? keep : opts[0];
    }

    function timeoutHint(input) {
      const hint = input.parentElement.querySelector('.dur-hint');
      const sec = parseDuration(input.value);
      hint.textContent = '= ' + spellDuration(sec);
      hint.classList.toggle('bad', !Number.isFinite(sec));
    }

    function fillSettings(doc) {
      const bh = doc.business_hours || {};
      $('#s-tz').value = bh.timezone || 'UTC';
      const weekly = {};
      for (const [k, v] of Object.entries(bh.weekly || {})) weekly[k.toLowerCase()] = v || [];
      $('#s-weekly').replaceChildren(...DAYS.map((day) => el('label', { class: 'day-row' },
        el('span', { class: 'day-name', text: day.charAt(0).toUpperCase() + day.slice(1) }),
        el('input', { id: 's-day-' + day, class: 'day-ranges', value: (weekly[day] || []).join(', '), placeholder: 'Closed', spellcheck: 'false' }))));
      $('#s-holidays').replaceChildren(...(bh.holidays || []).map(holidayRow));
      $('#s-depts').replaceChildren(...(doc.departments || []).map(deptRow));
      const sel = $('#s-default-dept');
      sel.value = '';
      sel.replaceChildren(el('option', { value: doc.default_department || '', text: doc.default_department || '' }));
      sel.value = doc.default_department || '';
      refreshDefaultDept();
      $('#s-tags').value = (doc.tags || []).join('\n');
      $('#s-canned').replaceChildren(...(doc.canned_replies || []).map(cannedRow));
      $('#s-templates').replaceChildren(...(doc.templates || []).map(templateRow));
      const texts = doc.texts || {};
      $('#s-texts').replaceChildren(...TEXTS.map(([key, label, hint]) => {
        const ta = el('textarea', { id: 's-text-' + key, rows: '2' });
        ta.value = texts[key] || '';
        return el('label', { class: 'field' }, el('span', { class: 'field-label', text: label }), el('span', { class: 'hint', text: hint }), ta);
      }));
      const t = doc.timeouts || {};
      $('#s-timeouts').replaceChildren(...TIMEOUTS.map(([key, label, hint]) => {
        const input = el('input', { id: 's-timeout-' + key, class: 'dur', value: shortDuration(t[key]), spellcheck: 'false', autocomplete: 'off' });
        const field = el('label', { class: 'field' }, el('span', { class: 'field-label', text: label }), el('span', { class: 'hint', text: hint }),
          el('span', { class: 'dur-row' }, input, el('span', { class: 'dur-hint muted small' })));
        input.addEventListener('input', () => timeoutHint(input));
        setTimeout(() => timeoutHint(input), 0);
        return field;
      }));
      $('#s-pause').checked = !!doc.pause_ignoring_agent;
      const sv = doc.survey || {};
      $('#s-survey-on').checked = !!sv.enabled;
      $('#s-survey-q').value = sv.question || '';
      $('#s-survey-thanks').value = sv.thanks || '';
      const bots = doc.bots || [];
      $('#s-bots').textContent = bots.length ? 'Bots: ' + bots.map((b) => b.id).join(', ') + '. They are kept as they are when you save.' : '';
      show($('#s-bots'), bots.length > 0);
      show($('#settings-error'), false);
      setDirty(false);
    }

    // buildDoc makes the settings document from the forms, on top of the
    // one loaded (so what the forms do not show is kept), with the problems
    // that can be told before asking the server.
    function buildDoc() {
      const doc = clone(A.doc || {});
      const problems = [];
      const weekly = {};
      for (const day of DAYS) {
        const ranges = $('#s-day-' + day).value.split(',').map((r) => r.trim()).filter(Boolean);
        for (const r of ranges) {
          if (!RANGE.test(r)) problems.push('Business hours, ' + day + ': "' + r + '" is not a range like 08:00-17:00.');
        }
        if (ranges.length) weekly[day] = ranges.map((r) => r.replace(/\s+/g, ''));
      }
      const holidays = [...new Set($$('#s-holidays .h-date').map((i) => i.value).filter(Boolean))].sort();
      doc.business_hours = Object.assign({}, doc.business_hours || {}, { timezone: $('#s-tz').value.trim() || 'UTC', weekly, holidays });

      const ids = new Set();
      doc.departments = $$('#s-depts .dept-row').map((row, i) => {
        const d = extra.get(row) || {};
        const id = row.querySelector('.d-id').value.trim();
        if (!id) problems.push('Department ' + (i + 1) + ' needs an id.');
        else if (ids.has(id)) problems.push('Two departments have the id "' + id + '".');
        ids.add(id);
        return Object.assign({}, d, {
          id, name: row.querySelector('.d-name').value.trim(), numbers: splitList(row.querySelector('.d-numbers').value),
          business_hours: d.business_hours || null,
        });
      });
      doc.default_department = $('#s-default-dept').value;
      doc.tags = [...new Set($('#s-tags').value.split('\n').map((t) => t.trim()).filter(Boolean))];

      doc.canned_replies = [];
      $$('#s-canned .canned-row').forEach((row, i) => {
        const shortcut = row.querySelector('.c-short').value.trim();
        const text = row.querySelector('.c-text').value.trim();
        if (!shortcut && !text) return;
        if (!/^\/[\w.-]+$/.test(shortcut)) problems.push('Canned reply ' + (i + 1) + ': the shortcut is a / and a word, such as /hello.');
        if (!text) problems.push('Canned reply ' + (i + 1) + ' has no text.');
        doc.canned_replies.push({ shortcut, text });
      });

      doc.templates = [];
      $$('#s-templates .template-row').forEach((row) => {
        if (row.classList.contains('synced-row')) {
          doc.templates.push(extra.get(row));
          return;
        }
        const t = {
          name: row.querySelector('.t-name').value.trim(), content_sid: row.querySelector('.t-sid').value.trim(),
          variables: splitList(row.querySelector('.t-vars').value), preview: row.querySelector('.t-preview').value.trim(),
        };
        if (!t.name && !t.content_sid && !t.preview && !t.variables.length) return;
        const label = 'Template ' + (t.name || doc.templates.length + 1);
        const undeclared = [...new Set([...t.preview.matchAll(/\{\{\s*([\w.-]+)\s*\}\}/g)].map((m) => m[1]))]
          .filter((v) => !t.variables.includes(v));
        if (undeclared.length) {
          problems.push(label + ': the preview uses ' + undeclared.map((v) => '{{' + v + '}}').join(', ')
            + ', which ' + (undeclared.length === 1 ? 'is not one of its variables' : 'are not among its variables') + '.');
        }
        doc.templates.push(t);
      });

      doc.texts = Object.assign({}, doc.texts || {});
      for (const [key] of TEXTS) doc.texts[key] = $('#s-text-' + key).value.trim();
      doc.timeouts = Object.assign({}, doc.timeouts || {});
      for (const [key, label] of TIMEOUTS) {
        const v = $('#s-timeout-' + key).value.trim();
        if (!Number.isFinite(parseDuration(v))) problems.push('Timeouts, ' + label + ': "' + v + '" is not a duration like 90s, 5m or 1h30m.');
        doc.timeouts[key] = v;
      }
      doc.pause_ignoring_agent = $('#s-pause').checked;
      doc.survey = Object.assign({}, doc.survey || {}, {
        enabled: $('#s-survey-on').checked, question: $('#s-survey-q').value.trim(), thanks: $('#s-survey-thanks').value.trim(),
      });
      return { doc, problems };
    }

    function setDirty(on) {
      A.dirty = on;
      $('#settings-state').textContent = on ? 'Unsaved changes' : A.doc ? 'Saved settings shown' : '';
      $('#settings-state').classList.toggle('dirty', on);
      $('#settings-discard').disabled = !on;
    }
    function markDirty() { if (!A.dirty) setDirty(true); }

    async function saveSettings(ev) {
      ev.preventDefault();
      const err = $('#settings-error');
      const { doc, problems } = buildDoc();
      if (problems.length) {
        err.replaceChildren(el('b', { text: 'Not saved; fix these first:' }), el('ul', {}, problems.map((p) => el('li', { text: p }))));
        show(err, true);
        return;
      }
      const btn = $('#settings-save');
      btn.disabled = true;
      show(err, false);
      try {
        const now = await api('PUT', '/admin/settings', doc);
        A.doc = now;
        fillSettings(now);
        toast('Settings saved. They are in force now.', 'ok');
        try { core.applySettings(await api('GET', '/settings')); } catch (e) { /* the desk reloads them later */ }
      } catch (e) {
        err.replaceChildren(el('b', { text: 'Not saved; nothing was changed. ' }),
          el('span', { text: 'Parley said: ' + e.message + (e.code ? ' (' + e.code + ')' : '') }));
        show(err, true);
        err.scrollIntoView({ block: 'nearest' });
      } finally {
        btn.disabled = false;
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

    // ---------- wiring ----------
    for (const b of $$('.subtab')) b.addEventListener('click', () => setPane(b.dataset.admin));
    $('#user-add').addEventListener('click', () => openUserDialog(null));
    $('#users-refresh').addEventListener('click', loadUsers);
    $('#user-form').addEventListener('submit', submitUser);
    $('#user-cancel').addEventListener('click', () => $('#user-dialog').close());
    $('#password-form').addEventListener('submit', submitPassword);
    $('#password-cancel').addEventListener('click', () => $('#password-dialog').close());
    $('#confirm-form').addEventListener('submit', submitConfirm);
    $('#confirm-cancel').addEventListener('click', () => $('#confirm-dialog').close());

    const form = $('#admin-settings');
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
        try { core.applySettings(await api('GET', '/settings')); } catch (e) { /* the desk reloads them later */ }
        toast('Templates synced from Twilio.', 'ok');
      } catch (e) {
        syncState.textContent = 'Not synced: ' + e.message + (e.code ? ' (' + e.code + ')' : '');
      } finally {
        syncBtn.disabled = false;
      }
    });
    let zones = [];
    try { zones = Intl.supportedValuesOf('timeZone'); } catch (e) { /* older browser: free text */ }
    $('#tz-list').replaceChildren(...['UTC', ...zones.filter((z) => z !== 'UTC')].map((z) => el('option', { value: z })));
    $('#audit-refresh').addEventListener('click', () => loadAudit(false));
    $('#audit-more').addEventListener('click', () => loadAudit(true));

    return {
      name: 'admin',
      show() {
        let pane = A.pane;
        try { pane = sessionStorage.getItem('parley.admin') || pane; } catch (e) { /* private mode */ }
        setPane(pane);
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
  });
})();
