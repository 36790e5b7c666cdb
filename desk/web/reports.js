// Parley desk: the reports dashboard, for supervisors and admins. It reads
// GET /api/v1/reports for a period and draws its numbers: totals, chats and
// tickets per day, sentiments, tags, and per-agent and per-department
// tables. Charts are inline SVG built with the DOM; every text from the
// server goes in as text, never as markup.

import { api } from './api.js';
import { $, $$, debounce, el, fail, show, svg } from './dom.js';
import { API, S } from './store.js';

const DAY = 86400000;
const R = { report: null, agents: [], loaded: false, seq: 0 };

// ---------- formatting ----------
const isoDay = (t) => new Date(t).toISOString().slice(0, 10);
const today = () => isoDay(Date.now());

// fmtDuration writes seconds the way people say them: 45 s, 3 min 5 s,
// 2 h 10 min, 3 d 4 h. A zero average means there was nothing to
// average, shown as a dash.
function fmtDuration(sec) {
  const s = Math.round(Number(sec) || 0);
  if (s <= 0) return '—';
  if (s < 60) return s + ' s';
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const r = s % 60;
    return m + ' min' + (r ? ' ' + r + ' s' : '');
  }
  if (s < DAY / 1000) {
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    return h + ' h' + (m ? ' ' + m + ' min' : '');
  }
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  return d + ' d' + (h ? ' ' + h + ' h' : '');
}

const fmtNum = (n) => Number(n || 0).toLocaleString();
const fmtDay = (key) => {
  const d = new Date(key + 'T00:00:00Z');
  return isNaN(d) ? key : d.toLocaleDateString([], { day: 'numeric', month: 'short', timeZone: 'UTC' });
};
const pct = (n, total) => (total ? Math.round((100 * n) / total) + '%' : '');

// ---------- the period ----------
function params(format) {
  const p = new URLSearchParams({ from: $('#r-from').value, to: $('#r-to').value });
  if ($('#r-agent').value) p.set('agent', $('#r-agent').value);
  if ($('#r-dept').value) p.set('department', $('#r-dept').value);
  if (format) p.set('format', format);
  return p.toString();
}

function setPeriod(days) {
  const now = Date.now();
  $('#r-to').value = isoDay(now);
  $('#r-from').value = isoDay(now - (days - 1) * DAY);
}

function fillFilters() {
  const agentSel = $('#r-agent');
  const keepAgent = agentSel.value;
  agentSel.replaceChildren(el('option', { value: '', text: 'All agents' }),
    ...R.agents.map((a) => el('option', { value: a.id, text: (a.name || a.id) + (a.role && a.role !== 'agent' ? ' (' + a.role + ')' : '') })));
  agentSel.value = R.agents.some((a) => a.id === keepAgent) ? keepAgent : '';
  const deptSel = $('#r-dept');
  const keepDept = deptSel.value;
  deptSel.replaceChildren(el('option', { value: '', text: 'All departments' }),
    ...S.settings.departments.map((d) => el('option', { value: d.id, text: d.name || d.id })));
  deptSel.value = S.settings.departments.some((d) => d.id === keepDept) ? keepDept : '';
}

async function loadAgents() {
  try {
    const r = await api('GET', '/agents');
    R.agents = (r.items || []).slice().sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id));
  } catch (e) {
    fail(e);
  }
  fillFilters();
}

export async function load() {
  const err = $('#report-error');
  const from = $('#r-from').value;
  const to = $('#r-to').value;
  if (!from || !to) {
    err.textContent = 'Pick the first and the last day of the period.';
    show(err, true);
    return;
  }
  if (from > to) {
    err.textContent = 'The period starts after it ends: swap the dates.';
    show(err, true);
    return;
  }
  show(err, false);
  const seq = ++R.seq;
  const btn = $('#r-show');
  btn.disabled = true;
  $('#report-view-state').textContent = 'Loading…';
  try {
    const r = await api('GET', '/reports?' + params());
    if (seq !== R.seq) return;
    R.report = r;
    render();
  } catch (e) {
    if (seq !== R.seq) return;
    err.textContent = 'The report could not be made: ' + e.message + (e.code ? ' (' + e.code + ')' : '');
    show(err, true);
  } finally {
    if (seq === R.seq) {
      btn.disabled = false;
      $('#report-view-state').textContent = '';
    }
  }
}

// ---------- rendering ----------
function render() {
  const r = R.report;
  if (!r) return;
  show($('#report-body'), true);
  const base = API + '/reports';
  $('#dl-figures').href = base + '?' + params('csv');
  $('#dl-conv-csv').href = base + '/conversations?' + params('csv');
  $('#dl-conv-json').href = base + '/conversations?' + params('json');
  const agent = $('#r-agent').selectedOptions[0];
  const dept = $('#r-dept').selectedOptions[0];
  $('#report-scope').textContent = [fmtDay($('#r-from').value) + ' to ' + fmtDay($('#r-to').value),
    $('#r-agent').value ? agent.textContent : '', $('#r-dept').value ? dept.textContent : ''].filter(Boolean).join(' · ');
  renderTotals(r.total || {});
  renderDays(r.days || []);
  renderBreakdown($('#chart-sentiment'), sentimentRows(r.total || {}), 'No chat in the period was closed with a sentiment.');
  renderBreakdown($('#chart-tags'), tagRows(r.total || {}), 'No chat in the period was closed with a tag.');
  renderTable($('#table-agents'), 'Agent', r.agents || [], (k) => (R.agents.find((a) => a.id === k) || {}).name || k);
  renderTable($('#table-depts'), 'Department', r.departments || [],
    (k) => (S.settings.departments.find((d) => d.id === k) || {}).name || k || '—');
}

function renderTotals(t) {
  const sent = t.sentiments || {};
  const cards = [
    ['Chats', fmtNum(t.chats), 'started in the period', 'chats'],
    ['Tickets', fmtNum(t.tickets), 'messages left for the team', 'tickets'],
    ['First response', fmtDuration(t.first_response_avg_s), 'average, start to first agent reply', 'first-response'],
    ['Waiting', fmtDuration(t.waiting_avg_s), 'average, start to an agent taking the chat', 'waiting'],
    ['Handling', fmtDuration(t.handling_avg_s), 'average, taken to closed', 'handling'],
    ['Closed by inactivity', fmtNum(t.closed_by_inactivity), 'chats Parley closed after silence', 'inactivity'],
    ['One-way SMS', fmtNum(t.one_way_sms), 'texts sent from the desk, in no other figure', 'one-way-sms'],
    ['Survey', t.survey_count ? (Number(t.survey_avg) || 0).toFixed(1) + ' / 5' : '—',
      fmtNum(t.survey_count) + (t.survey_count === 1 ? ' rating' : ' ratings'), 'survey'],
    ['Sentiment', String((sent.positive || 0) + (sent.neutral || 0) + (sent.negative || 0)),
      (sent.positive || 0) + ' positive · ' + (sent.neutral || 0) + ' neutral · ' + (sent.negative || 0) + ' negative', 'sentiment'],
  ];
  $('#report-totals').replaceChildren(...cards.map(([label, value, note, key]) => el('div', { class: 'stat big', dataset: { stat: key } },
    el('div', { class: 'stat-label', text: label }),
    el('div', { class: 'stat-value', text: value }),
    el('div', { class: 'stat-extra', text: note }))));
}

// niceMax rounds a chart's top up to 1, 2 or 5 times a power of ten.
function niceMax(v) {
  if (v <= 5) return 5;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function chartWidth(box, min) {
  return Math.max(min, Math.floor(box.clientWidth || box.parentElement.clientWidth || 640) - 2);
}

// renderDays draws grouped bars: chats and tickets for each day.
function renderDays(days) {
  const box = $('#chart-days');
  const W = chartWidth(box, 320);
  const H = 240;
  const m = { top: 14, right: 12, bottom: 42, left: 40 };
  const iw = W - m.left - m.right;
  const ih = H - m.top - m.bottom;
  const top = niceMax(Math.max(1, ...days.map((d) => Math.max(d.chats || 0, d.tickets || 0))));
  const y = (v) => m.top + ih - (ih * v) / top;
  const root = svg('svg', {
    class: 'chart-svg', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img',
    'aria-label': 'Chats and tickets per day',
  });
  root.append(svg('title', { text: 'Chats and tickets per day' }));
  const grid = svg('g', { class: 'grid' });
  const ticks = 5;
  for (let i = 0; i <= ticks; i++) {
    const v = (top * i) / ticks;
    const yy = y(v);
    grid.append(svg('line', { x1: m.left, x2: W - m.right, y1: yy, y2: yy }),
      svg('text', { x: m.left - 6, y: yy + 4, 'text-anchor': 'end', class: 'axis-label', text: Number.isInteger(v) ? String(v) : v.toFixed(1) }));
  }
  root.append(grid);
  const n = Math.max(1, days.length);
  const slot = iw / n;
  const bw = Math.max(1, Math.min(22, (slot - 4) / 2));
  const every = Math.max(1, Math.ceil(n / Math.max(1, Math.floor(iw / 56))));
  const bars = svg('g', { class: 'bars' });
  days.forEach((d, i) => {
    const cx = m.left + slot * i + slot / 2;
    for (const [k, dx, cls] of [['chats', -bw, 'bar bar-chats'], ['tickets', 0, 'bar bar-tickets']]) {
      const v = d[k] || 0;
      const h = Math.max(0, y(0) - y(v));
      bars.append(svg('rect', {
        class: cls, x: (cx + dx).toFixed(1), y: y(v).toFixed(1), width: bw.toFixed(1), height: h.toFixed(1), rx: Math.min(3, bw / 3).toFixed(1),
        'data-day': d.key, 'data-value': v,
      }, svg('title', { text: fmtDay(d.key) + ': ' + v + ' ' + (k === 'chats' ? (v === 1 ? 'chat' : 'chats') : (v === 1 ? 'ticket' : 'tickets')) })));
    }
    if (i % every === 0) {
      bars.append(svg('text', { x: cx, y: H - m.bottom + 16, 'text-anchor': 'middle', class: 'axis-label', text: fmtDay(d.key) }));
    }
  });
  root.append(bars, svg('line', { class: 'axis', x1: m.left, x2: W - m.right, y1: y(0), y2: y(0) }));
  const legend = svg('g', { class: 'legend', transform: 'translate(' + m.left + ',' + (H - 10) + ')' });
  legend.append(svg('rect', { class: 'swatch swatch-chats', x: 0, y: -9, width: 10, height: 10, rx: 2 }),
    svg('text', { x: 15, y: 0, class: 'axis-label', text: 'Chats' }),
    svg('rect', { class: 'swatch swatch-tickets', x: 70, y: -9, width: 10, height: 10, rx: 2 }),
    svg('text', { x: 85, y: 0, class: 'axis-label', text: 'Tickets' }));
  root.append(legend);
  box.replaceChildren(root);
}

function sentimentRows(t) {
  const s = t.sentiments || {};
  return ['positive', 'neutral', 'negative'].map((k) => ({ key: k, label: k.charAt(0).toUpperCase() + k.slice(1), value: s[k] || 0, cls: 's-' + k }));
}

function tagRows(t) {
  return Object.entries(t.tags || {}).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => ({ key: k, label: k, value: v, cls: 'tag' }));
}

// renderBreakdown draws horizontal bars with their counts and shares.
function renderBreakdown(box, rows, empty) {
  const total = rows.reduce((n, r) => n + r.value, 0);
  if (!total) {
    box.replaceChildren(el('p', { class: 'muted small', text: empty }));
    return;
  }
  const W = chartWidth(box, 260);
  const rowH = 28;
  const labelW = Math.min(140, Math.floor(W * 0.38));
  const numW = 70;
  const H = rows.length * rowH + 6;
  const max = Math.max(...rows.map((r) => r.value));
  const barMax = W - labelW - numW - 8;
  const root = svg('svg', { class: 'chart-svg', viewBox: '0 0 ' + W + ' ' + H, width: W, height: H, role: 'img', 'aria-label': 'Breakdown' });
  rows.forEach((r, i) => {
    const yy = 4 + i * rowH;
    const w = max ? (barMax * r.value) / max : 0;
    const label = r.label.length > 22 ? r.label.slice(0, 21) + '…' : r.label;
    root.append(svg('g', { class: 'hbar', 'data-key': r.key },
      svg('title', { text: r.label + ': ' + r.value + ' (' + pct(r.value, total) + ')' }),
      svg('text', { x: 0, y: yy + 15, class: 'axis-label strong', text: label }),
      svg('rect', { class: 'hbar-track', x: labelW, y: yy + 3, width: barMax, height: 16, rx: 3 }),
      svg('rect', { class: 'hbar-fill ' + r.cls, x: labelW, y: yy + 3, width: Math.max(r.value ? 2 : 0, w).toFixed(1), height: 16, rx: 3 }),
      svg('text', { x: labelW + barMax + 6, y: yy + 15, class: 'axis-label', text: r.value + ' · ' + pct(r.value, total) })));
  });
  box.replaceChildren(root);
}

function renderTable(box, keyLabel, rows, name) {
  if (!rows.length) {
    box.replaceChildren(el('p', { class: 'muted small', text: 'Nothing in the period.' }));
    return;
  }
  const head = [keyLabel, 'Chats', 'Tickets', 'First response', 'Waiting', 'Handling', 'Closed by inactivity',
    'Positive', 'Neutral', 'Negative', 'Survey'];
  box.replaceChildren(el('table', { class: 'table report-table' },
    el('thead', {}, el('tr', {}, head.map((h, i) => el('th', { class: i ? 'num' : null, text: h })))),
    el('tbody', {}, rows.map((r) => {
      const s = r.sentiments || {};
      return el('tr', { dataset: { key: r.key } },
        el('td', {}, el('b', { text: name(r.key) }), r.key && name(r.key) !== r.key ? el('span', { class: 'muted small', text: ' ' + r.key }) : null),
        ...[fmtNum(r.chats), fmtNum(r.tickets), fmtDuration(r.first_response_avg_s), fmtDuration(r.waiting_avg_s),
          fmtDuration(r.handling_avg_s), fmtNum(r.closed_by_inactivity), fmtNum(s.positive), fmtNum(s.neutral), fmtNum(s.negative),
          r.survey_count ? (Number(r.survey_avg) || 0).toFixed(1) + ' (' + r.survey_count + ')' : '—']
          .map((v) => el('td', { class: 'num', text: v })));
    }))));
}

export function initReports() {
  // ---------- wiring ----------
  $('#report-form').addEventListener('submit', (ev) => { ev.preventDefault(); load(); });
  for (const b of $$('#report-form .presets button')) {
    b.addEventListener('click', () => { setPeriod(Number(b.dataset.days)); load(); });
  }
  for (const id of ['#r-agent', '#r-dept']) $(id).addEventListener('change', () => { if (R.report) load(); });
  // A status line beside the button, made here to keep the page's markup short.
  $('#r-show').after(el('span', { id: 'report-view-state', class: 'muted small', 'aria-live': 'polite' }));
  window.addEventListener('resize', debounce(() => { if (S.view === 'reports' && R.report) render(); }, 200));

  return {
    name: 'reports',
    show(entering) {
      if (!$('#r-from').value || !$('#r-to').value) setPeriod(7);
      if (entering || !R.loaded) {
        R.loaded = true;
        loadAgents().then(load);
      }
    },
    reset() {
      R.report = null;
      R.loaded = false;
      R.agents = [];
      $('#r-from').value = '';
      $('#r-to').value = '';
      show($('#report-body'), false);
      show($('#report-error'), false);
    },
  };
}
