// The transfer dialog: hand a live chat to a department or an agent.

import { api, convPath } from './api.js';
import { loadDetail } from './conversation.js';
import { $, el, fail, show, toast } from './dom.js';
import { refreshSoon } from './events.js';
import { agentName } from './format.js';
import { isSup, S } from './store.js';
import { applySettings } from './views.js';

// The dialog offers a department (its best available agent, or one of
// its available agents) or any available agent. Who is available is read
// when it opens and on Refresh; the server has the last word.
const T = { agents: [], seq: 0 };

export async function openTransferDialog(c) {
  const dlg = $('#transfer-dialog');
  dlg.dataset.id = c.id;
  dlg.dataset.dept = c.department || '';
  const sup = isSup() && !(S.me && c.assignee === S.me.id);
  $('#transfer-title').textContent = sup ? 'Assign this chat' : 'Transfer chat';
  $('#transfer-submit').textContent = sup ? 'Assign' : 'Transfer';
  $('#transfer-to-dept').checked = true;
  show($('#transfer-error'), false);
  T.agents = [];
  renderTransferOptions(c.department);
  dlg.showModal();
  await loadTransferAgents(true);
}

function agentOption(a) {
  return el('option', { value: a.id, text: (a.name || a.id) + ' (' + a.id + ') · ' + a.load + ' of ' + a.capacity + ' chats' });
}

function renderTransferOptions(keepDept) {
  const depts = S.settings.departments;
  const avail = (d) => T.agents.filter((a) => (a.departments || []).includes(d)).length;
  $('#transfer-dept').replaceChildren(...depts.map((d) => {
    const n = avail(d.id);
    return el('option', {
      value: d.id, selected: d.id === keepDept,
      text: (d.name || d.id) + ' · ' + (n ? n + ' available' : 'nobody available'),
    });
  }));
  renderTransferDeptAgents();
  const items = T.agents;
  $('#transfer-agent').replaceChildren(...(items.length ? items.map(agentOption)
    : [el('option', { value: '', text: 'Nobody else is available right now' })]));
  $('#transfer-to-agent').disabled = items.length === 0;
  if (!items.length) $('#transfer-to-dept').checked = true;
}

export function renderTransferDeptAgents() {
  const dept = $('#transfer-dept').value;
  const inDept = T.agents.filter((a) => (a.departments || []).includes(dept));
  $('#transfer-dept-agent').replaceChildren(
    el('option', { value: '', text: inDept.length ? 'Whoever is best placed' : 'Nobody in it is available now' }),
    ...inDept.map(agentOption));
}

export async function loadTransferAgents(first) {
  const dlg = $('#transfer-dialog');
  const id = dlg.dataset.id;
  const seq = ++T.seq;
  const keepDept = first === true ? dlg.dataset.dept : $('#transfer-dept').value;
  const keepAgent = $('#transfer-agent').value;
  const keepDeptAgent = $('#transfer-dept-agent').value;
  const assignee = S.detail && S.detail.conversation.id === id ? S.detail.conversation.assignee : '';
  $('#transfer-status').textContent = 'Checking who is available…';
  $('#transfer-refresh').disabled = true;
  try {
    const [settings, r] = await Promise.all([api('GET', '/settings'), api('GET', '/agents?available=true')]);
    if (seq !== T.seq) return;
    applySettings(settings);
    T.agents = (r.items || []).filter((a) => a.id !== assignee);
    renderTransferOptions(keepDept);
    if (keepAgent && T.agents.some((a) => a.id === keepAgent)) $('#transfer-agent').value = keepAgent;
    if (keepDeptAgent && [...$('#transfer-dept-agent').options].some((o) => o.value === keepDeptAgent)) $('#transfer-dept-agent').value = keepDeptAgent;
    const n = T.agents.length;
    $('#transfer-status').textContent = (n ? n + (n === 1 ? ' agent is' : ' agents are') + ' available' : 'Nobody else is available')
      + ' as of ' + new Date().toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) + '.';
  } catch (e) {
    if (seq !== T.seq) return;
    $('#transfer-status').textContent = 'Could not check who is available.';
    fail(e);
  } finally {
    if (seq === T.seq) $('#transfer-refresh').disabled = false;
  }
}

export async function submitTransfer(ev) {
  ev.preventDefault();
  const dlg = $('#transfer-dialog');
  const id = dlg.dataset.id;
  const toAgent = $('#transfer-to-agent').checked;
  const body = {};
  if (toAgent) body.agent = $('#transfer-agent').value;
  else {
    body.department = $('#transfer-dept').value;
    if ($('#transfer-dept-agent').value) body.agent = $('#transfer-dept-agent').value;
  }
  const err = $('#transfer-error');
  if (!body.agent && !body.department) {
    err.textContent = 'Pick a department or an agent.';
    show(err, true);
    return;
  }
  const btn = $('#transfer-submit');
  btn.disabled = true;
  show(err, false);
  try {
    const conv = await api('POST', convPath(id, 'transfer'), body);
    dlg.close();
    const dept = (S.settings.departments.find((d) => d.id === (conv && conv.department)) || {}).name;
    toast('Chat transferred to ' + agentName(conv && conv.assignee) + (dept && !toAgent ? ' in ' + dept : '') + '.', 'ok');
    if (S.openId === id) await loadDetail(false, true);
    refreshSoon({ list: true, counts: true });
  } catch (e) {
    if (e.code === 'no_agent_available') {
      const where = body.agent ? agentName(body.agent)
        : (S.settings.departments.find((d) => d.id === body.department) || {}).name || body.department;
      err.textContent = 'Not transferred: ' + where + (body.agent ? ' cannot take this chat right now' : ' has nobody online and available right now')
        + ' (' + e.message + '). The chat stays where it is; pick someone else, or Refresh to see who is available.';
    } else {
      err.textContent = 'Not transferred: ' + e.message + (e.code ? ' (' + e.code + ')' : '');
    }
    show(err, true);
    loadTransferAgents();
  } finally {
    btn.disabled = false;
  }
}
