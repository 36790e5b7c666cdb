// Administration, the engine settings form: reads the settings
// document into the form and builds the same document back, keeping
// what the form does not show.

import { A, DAYS, extra, RANGE, TEXTS, TIMEOUTS } from './admin.js';
import { api } from './api.js';
import { $, $$, el, fail, show, toast } from './dom.js';
import { fillTemplate } from './format.js';
import { update } from './mentions.js';
import { C } from './store.js';
import { applySettings } from './views.js';

// parseDuration reads a Go duration ("1h30m", "90s", "2160h0m0s") into
// seconds; NaN when it is not one.
// The units are the server's (C.duration_units), longest first so "ms"
// is not read as "m" and "s".
function parseDuration(str) {
  const v = String(str || '').trim();
  if (v === '0') return 0;
  const units = Object.keys(C.duration_units).sort((a, b) => b.length - a.length).join('|');
  if (!units || !new RegExp('^(\\d+(\\.\\d+)?(' + units + '))+$').test(v)) return NaN;
  let total = 0;
  for (const m of v.matchAll(new RegExp('(\\d+(?:\\.\\d+)?)(' + units + ')', 'g'))) total += Number(m[1]) * C.duration_units[m[2]];
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
// ---------- settings ----------
export async function loadSettings() {
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

export function holidayRow(date) {
  return el('li', { class: 'row-item' }, el('input', { type: 'date', class: 'h-date', value: date || '', 'aria-label': 'Holiday' }),
    removeButton('Remove this holiday'));
}

export function deptRow(d) {
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

export function cannedRow(c) {
  return el('div', { class: 'row-item canned-row' },
    el('label', { class: 'mini' }, 'Shortcut', el('input', { class: 'c-short', value: c.shortcut || '', placeholder: '/hello', spellcheck: 'false' })),
    el('label', { class: 'mini grow' }, 'Text', el('input', { class: 'c-text', value: c.text || '' })),
    removeButton('Remove this canned reply'));
}

// WhatsApp approval statuses in words; a synced template goes outside the
// 24-hour window only once approved.
const APPROVAL = {
  approved: 'Approved', pending: 'Pending approval', received: 'Pending approval', rejected: 'Rejected',
  paused: 'Paused', disabled: 'Disabled', unsubmitted: 'Not submitted',
};

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

export function templateRow(t) {
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

export function refreshDefaultDept() {
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

export function fillSettings(doc) {
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
  const tr = doc.transcript || {};
  $('#s-tr-offer').value = tr.offer || '';
  $('#s-tr-link').value = tr.link || '';
  for (const [key, value] of [['window', tr.window], ['valid', tr.valid]]) {
    const input = $('#s-tr-' + key);
    input.value = shortDuration(value);
    input.oninput = () => timeoutHint(input); // said in words, like the timeouts
    timeoutHint(input);
  }
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
  const transcript = { offer: $('#s-tr-offer').value.trim(), link: $('#s-tr-link').value.trim() };
  for (const [key, label] of [['window', 'time to answer'], ['valid', 'the link works for']]) {
    const v = $('#s-tr-' + key).value.trim();
    if (!Number.isFinite(parseDuration(v))) problems.push('Transcript, ' + label + ': "' + v + '" is not a duration like 10m or 24h.');
    transcript[key] = v;
  }
  if (transcript.offer && !transcript.link.includes('{link}')) problems.push('Transcript: the link text needs {link}, where the address goes.');
  doc.transcript = Object.assign({}, doc.transcript || {}, transcript);
  return { doc, problems };
}

export function setDirty(on) {
  A.dirty = on;
  $('#settings-state').textContent = on ? 'Unsaved changes' : A.doc ? 'Saved settings shown' : '';
  $('#settings-state').classList.toggle('dirty', on);
  $('#settings-discard').disabled = !on;
}
export function markDirty() { if (!A.dirty) setDirty(true); }

export async function saveSettings(ev) {
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
    try { applySettings(await api('GET', '/settings')); } catch (e) { /* the desk reloads them later */ }
  } catch (e) {
    err.replaceChildren(el('b', { text: 'Not saved; nothing was changed. ' }),
      el('span', { text: 'Parley said: ' + e.message + (e.code ? ' (' + e.code + ')' : '') }));
    show(err, true);
    err.scrollIntoView({ block: 'nearest' });
  } finally {
    btn.disabled = false;
  }
}
