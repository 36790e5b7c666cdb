// The supervisor's lists grouped by agent, the counts of every tab, the
// ticket queue's quick accept and keyboard moves in the list.

import { extra } from './admin.js';
import { api, convPath } from './api.js';
import { closeConversation, loadDetail, openConversation } from './conversation.js';
import { $, $$, el, fail, show, toast } from './dom.js';
import { refreshSoon } from './events.js';
import { agentName, avatar, channelName, fmtFull, fmtTime, fullAgentName, parseAddress, stateLabel } from './format.js';
import { followTab, keepFresher, listQuery, loadList, noticeArrivals, renderList } from './list.js';
import { load } from './reports.js';
import { ALL, C, isSup, PAGE, S, SUP_TAB_NAMES, tabsOf } from './store.js';
import { setAgents } from './views.js';

// loadSupList loads the tab's groups (conversations per agent) and the
// list: everyone's, or the picked agent's, filtered here by assignee.
export async function loadSupList(more) {
  const seq = ++S.listSeq;
  const tab = S.tab;
  const agent = S.groupAgent;
  try {
    const groupsP = api('GET', listQuery(0, 1, '/groups'));
    const agentsP = api('GET', '/agents').catch(() => null);
    // The summary's counts per tab: when the agent changes, else at most every 5 s.
    const stale = !S.agentTabs || S.agentTabs.agent !== agent || Date.now() - S.agentTabs.at > 5000;
    const tabsP = agent !== ALL && !S.openId && stale ? agentTabCounts(agent).catch(() => null) : Promise.resolve(null);
    let items;
    let total;
    let next;
    if (agent === ALL) {
      const offset = more ? S.next : 0;
      const limit = more ? PAGE : Math.min(100, Math.max(PAGE, S.items.length));
      const page = await api('GET', listQuery(offset, limit));
      items = more ? S.items.concat(keepFresher(page.items || [])) : keepFresher(page.items || []);
      total = page.total || 0;
      next = page.next || 0;
    } else {
      if (more) S.groupWant += PAGE;
      items = [];
      let offset = 0;
      for (let pages = 0; ; pages++) {
        const page = await api('GET', listQuery(offset, 100));
        if (seq !== S.listSeq) return;
        items.push(...keepFresher(page.items || []).filter((c) => (c.assignee || '') === agent));
        if (!page.next || items.length >= S.groupWant || pages >= 19) break;
        offset = page.next;
      }
    }
    const [groups, agents, tabs] = await Promise.all([groupsP, agentsP, tabsP]);
    if (seq !== S.listSeq || tab !== S.tab || agent !== S.groupAgent) return;
    S.groups = groups.items || [];
    if (agents) setAgents(agents.items || []);
    if (tabs) S.agentTabs = tabs;
    if (agent !== ALL) {
      const g = S.groups.find((x) => x.agent === agent);
      total = Math.max(g ? g.count : 0, items.length);
      items = items.slice(0, S.groupWant);
      next = items.length < total ? 1 : 0;
    }
    S.items = items;
    S.total = total;
    S.next = next;
    noticeArrivals(tab, items);
    followTab();
    renderGroups();
    renderList();
    renderSummary();
  } catch (e) {
    if (seq === S.listSeq) fail(e);
  }
}

// agentTabCounts counts one agent's conversations in every tab.
async function agentTabCounts(agent) {
  const counts = {};
  await Promise.all(C.tabs.supervisor.map(async (t) => {
    const r = await api('GET', '/groups?tab=' + t);
    const g = (r.items || []).find((x) => x.agent === agent);
    counts[t] = g ? g.count : 0;
  }));
  return { agent, counts, at: Date.now() };
}

function presenceOf(id) {
  const a = S.agents.get(id);
  if (!a) return { cls: 'off', text: 'Unknown' };
  if (a.presence === 'online') {
    return a.available ? { cls: 'on', text: 'Online, taking chats' }
      : a.load >= a.capacity ? { cls: 'busy', text: 'Online, at capacity' } : { cls: 'busy', text: 'Online, not taking chats' };
  }
  return a.presence === 'away' ? { cls: 'away', text: 'Away' } : { cls: 'off', text: 'Offline' };
}

export function groupLabel(agent) {
  if (agent === ALL) return 'Everyone';
  if (agent === '') return S.tab === 'bot' ? 'With a bot' : 'No agent yet'; // a bot's chat has no agent until it hands off
  const a = S.agents.get(agent);
  return a && a.name ? a.name : agent;
}

export function renderGroups() {
  const ul = $('#group-list');
  if (!isSup()) return;
  const groups = S.groups.slice().sort((a, b) => (a.agent === '' ? -1 : b.agent === '' ? 1
    : groupLabel(a.agent).localeCompare(groupLabel(b.agent))));
  if (S.groupAgent !== ALL && !groups.some((g) => g.agent === S.groupAgent)) groups.push({ agent: S.groupAgent, count: 0 });
  const total = S.groups.reduce((n, g) => n + g.count, 0);
  const rows = [{ agent: ALL, count: total }, ...groups];
  ul.replaceChildren(...rows.map((g) => {
    const on = g.agent === S.groupAgent;
    let dot = null;
    let sub = '';
    if (g.agent === ALL) sub = 'all ' + SUP_TAB_NAMES[S.tab];
    else if (g.agent === '') sub = S.tab === 'unassigned' ? 'waiting for an agent to accept' : S.tab === 'bot' ? 'a bot answers' : 'waiting for an agent';
    else if (S.agents.get(g.agent) && S.agents.get(g.agent).role && S.agents.get(g.agent).role !== 'agent') {
      // A supervisor's or admin's own (reach-out chats): no presence to show.
      sub = S.agents.get(g.agent).role === 'admin' ? 'Admin' : 'Supervisor';
    } else {
      const p = presenceOf(g.agent);
      const a = S.agents.get(g.agent);
      dot = el('span', { class: 'presence-dot ' + p.cls, title: p.text });
      sub = p.text + (a && a.presence === 'online' ? ' · ' + a.load + ' of ' + a.capacity + ' live' : '');
    }
    return el('li', { class: 'group' + (on ? ' active' : ''), dataset: { agent: g.agent } },
      el('button', {
        type: 'button', class: 'group-btn', 'aria-pressed': on ? 'true' : 'false',
        title: g.agent === ALL ? 'Show everyone\'s ' + SUP_TAB_NAMES[S.tab] : 'Summary and list of ' + groupLabel(g.agent),
        onclick: () => pickGroup(g.agent),
      },
      dot || el('span', { class: 'presence-dot none', 'aria-hidden': 'true' }),
      el('span', { class: 'group-text' },
        el('span', { class: 'group-name', text: groupLabel(g.agent) }),
        el('span', { class: 'group-sub', text: sub })),
      el('span', { class: 'count group-count' + (g.count ? '' : ' zero'), text: String(g.count) })));
  }));
  $('#groups-note').textContent = S.groups.length ? '' : 'Nothing in this tab.';
}

// pickGroup shows one agent's conversations (or everyone's), and their
// summary in the middle.
function pickGroup(agent) {
  const same = agent === S.groupAgent;
  S.groupAgent = agent;
  if (!same) {
    S.groupWant = PAGE;
    S.items = [];
    S.agentTabs = null;
    $('#list').replaceChildren();
  }
  if (S.openId) closeConversation();
  renderGroups();
  renderSummary();
  loadList(false);
}

function fmtAgo(iso) {
  if (!iso) return '—';
  const s = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (!Number.isFinite(s)) return '—';
  if (s < 60) return 'just now';
  if (s < 3600) return Math.floor(s / 60) + ' min ago';
  if (s < 86400) return Math.floor(s / 3600) + ' h ago';
  return Math.floor(s / 86400) + ' d ago';
}

function stat(label, value, extra) {
  return el('div', { class: 'stat' }, el('div', { class: 'stat-label', text: label }),
    el('div', { class: 'stat-value', text: value }), extra ? el('div', { class: 'stat-extra', text: extra }) : null);
}

// renderSummary fills the middle pane of the supervisor desk when no
// conversation is open: the team, or the picked agent's chats and activity.
export function renderSummary() {
  const box = $('#summary');
  if (!isSup() || S.openId) return;
  if (S.groupAgent === ALL) {
    box.replaceChildren(...teamSummary());
    return;
  }
  const agent = S.groupAgent;
  const a = S.agents.get(agent);
  const tabName = SUP_TAB_NAMES[S.tab];
  const parts = [];
  if (agent === '') {
    parts.push(el('div', { class: 'sum-head' }, el('h2', { text: 'No agent yet' }),
      el('p', { class: 'muted', text: S.tab === 'unassigned' ? 'Tickets left while nobody could take a chat, waiting for an agent of their department to accept them.'
        : 'Conversations in ' + tabName + ' that no agent holds, such as chats waiting in a queue.' })));
  } else {
    const p = presenceOf(agent);
    parts.push(el('div', { class: 'sum-head' },
      el('h2', {}, el('span', { class: 'presence-dot ' + p.cls, 'aria-hidden': 'true' }), ' ', a && a.name ? a.name : agent),
      el('p', { class: 'muted' }, [agent, a && a.role ? a.role : '', a && a.departments && a.departments.length ? 'departments ' + a.departments.join(', ') : '']
        .filter(Boolean).join(' · '))));
    const load = a ? a.load : 0;
    const cap = a ? a.capacity : 0;
    const meter = el('div', { class: 'meter', title: load + ' of ' + cap + ' live chats' },
      el('span', { class: 'meter-fill' + (cap && load >= cap ? ' full' : '') }));
    meter.firstChild.style.width = (cap ? Math.min(100, Math.round((100 * load) / cap)) : 0) + '%';
    const loadStat = stat('Live chats now', load + ' of ' + cap, cap ? Math.max(0, cap - load) + ' free' : '');
    loadStat.append(meter);
    parts.push(el('div', { class: 'stat-row' }, stat('Presence', p.text), loadStat));
    const t = S.agentTabs && S.agentTabs.agent === agent ? S.agentTabs.counts : null;
    const n = (tab) => (t ? String(t[tab] || 0) : '…');
    parts.push(el('div', { class: 'stat-row' },
      stat('Live', n('live')), stat('Pending', n('pending')), stat('Closed chats', n('closed')),
      stat('Assigned tickets', n('assigned')), stat('Closed tickets', n('tickets_closed'))));
  }
  const items = S.items;
  const waiting = items.filter((c) => c.awaiting_agent && c.state !== 'closed').length;
  const flagged = items.filter((c) => c.flagged).length;
  const lastCustomer = items.map((c) => c.last_customer_at).filter(Boolean).sort().pop();
  const lastAgent = items.map((c) => c.last_agent_at).filter(Boolean).sort().pop();
  parts.push(el('h3', { class: 'sum-title', text: 'Activity in ' + tabName }));
  parts.push(el('div', { class: 'stat-row' },
    stat('Conversations', String(S.total)),
    stat('Waiting for a reply', String(waiting)),
    stat('Flagged', String(flagged)),
    stat('Customer last wrote', fmtAgo(lastCustomer), lastCustomer ? fmtTime(lastCustomer) : ''),
    stat('Agent last wrote', fmtAgo(lastAgent), lastAgent ? fmtTime(lastAgent) : '')));
  parts.push(el('h3', { class: 'sum-title', text: (agent === '' ? 'The list' : 'Their list') + ' · ' + tabName }));
  parts.push(summaryTable(items));
  box.replaceChildren(...parts);
}

function summaryTable(items) {
  if (!items.length) return el('p', { class: 'muted', text: 'Nothing here' + (S.filters.q || S.filters.channel || S.filters.tag || S.filters.from || S.filters.to ? ' with these filters.' : '.') });
  return el('div', { class: 'table-wrap' }, el('table', { class: 'table sum-table' },
    el('thead', {}, el('tr', {}, ['Customer', 'Channel', 'Status', 'Customer wrote', 'Last message'].map((h) => el('th', { text: h })))),
    el('tbody', {}, items.slice(0, 20).map((c) => {
      const addr = parseAddress(c.contact);
      const tr = el('tr', { class: 'clickable', tabindex: '0', dataset: { id: c.id }, onclick: () => openConversation(c.id) },
        el('td', {}, el('b', { text: c.contact_name || addr.number }), c.contact_name ? el('div', { class: 'muted small', text: addr.number }) : null),
        el('td', { text: channelName(c.channel || addr.channel) }),
        el('td', { text: stateLabel(c) + (c.awaiting_agent && c.state !== 'closed' ? ' · waiting' : '') + (c.flagged ? ' · flagged' : '') }),
        el('td', { text: fmtTime(c.last_customer_at) || '—', title: fmtFull(c.last_customer_at) }),
        el('td', { class: 'cell-preview', text: c.preview || '' }));
      tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') openConversation(c.id); });
      return tr;
    }))));
}

function teamSummary() {
  const counts = new Map(S.groups.map((g) => [g.agent, g.count]));
  const people = [...S.agents.values()].filter((a) => a.role === 'agent' || counts.has(a.id))
    .sort((a, b) => (a.name || a.id).localeCompare(b.name || b.id));
  const online = people.filter((a) => a.presence === 'online').length;
  const total = S.groups.reduce((n, g) => n + g.count, 0);
  const tabName = SUP_TAB_NAMES[S.tab];
  const rows = people.map((a) => {
    const p = presenceOf(a.id);
    return el('tr', { class: 'clickable', tabindex: '0', dataset: { agent: a.id }, onclick: () => pickGroup(a.id) },
      el('td', {}, el('span', { class: 'presence-dot ' + p.cls, 'aria-hidden': 'true' }), ' ', el('b', { text: a.name || a.id }),
        el('span', { class: 'muted small', text: ' ' + a.id })),
      el('td', { text: p.text }),
      el('td', { text: a.presence === 'online' ? a.load + ' of ' + a.capacity : '—' }),
      el('td', { text: (a.departments || []).join(', ') }),
      el('td', { class: 'num', text: String(counts.get(a.id) || 0) }));
  });
  if (counts.get('')) {
    rows.push(el('tr', { class: 'clickable', tabindex: '0', dataset: { agent: '' }, onclick: () => pickGroup('') },
      el('td', {}, el('b', { text: 'No agent yet' })), el('td', { text: '—' }), el('td', { text: '—' }), el('td', { text: '' }),
      el('td', { class: 'num', text: String(counts.get('')) })));
  }
  return [
    el('div', { class: 'sum-head' }, el('h2', { text: 'Team' }),
      el('p', { class: 'muted', text: total + ' ' + tabName + ' · ' + online + (online === 1 ? ' agent' : ' agents') + ' online. Pick an agent for their summary and list.' })),
    el('div', { class: 'table-wrap' }, el('table', { class: 'table sum-table' },
      el('thead', {}, el('tr', {}, ['Agent', 'Presence', 'Live chats now', 'Departments', 'In ' + tabName].map((h, i) => el('th', { class: i === 4 ? 'num' : null, text: h })))),
      el('tbody', {}, rows.length ? rows : [el('tr', {}, el('td', { colspan: '5', class: 'muted', text: 'No agents yet.' }))]))),
  ];
}

export function card(c) {
  const addr = parseAddress(c.contact);
  const fresh = S.fresh.has(c.id);
  const cls = ['card'];
  if (fresh) cls.push('fresh');
  if (S.arrived.has(c.id)) cls.push('arrived');
  if (c.id === S.openId) cls.push('active');
  const name = c.contact_name || addr.number;
  const when = S.tab === 'live' && S.filters.sort === 'activity' ? (c.last_customer_at || c.created_at)
    : S.tab === 'live' || S.tab === 'unassigned' ? c.created_at : c.updated_at;
  const chips = [el('span', { class: 'chip ch-' + (c.channel || addr.channel), text: channelName(c.channel || addr.channel) })];
  if (c.flagged) chips.push(el('span', { class: 'chip flag', text: '⚑ Flagged' }));
  if (c.awaiting_agent && c.state !== 'closed') chips.push(el('span', { class: 'chip wait', text: 'Waiting for reply' }));
  if (noMessageLeft(c)) chips.push(el('span', { class: 'chip', text: 'No message left', title: 'The customer declined to leave a message' }));
  if (c.kind === 'ticket' && c.session === 'collecting') chips.push(el('span', { class: 'chip', text: 'Still writing' }));
  if (c.closed && c.closed.tag) chips.push(el('span', { class: 'chip tag', text: c.closed.tag }));
  if (c.assignee && S.me && c.assignee !== S.me.id) chips.push(el('span', { class: 'chip', text: agentName(c.assignee) }));
  if (S.tab === 'tagged') chips.push(el('span', { class: 'chip', text: stateLabel(c) }));
  const li = el('li', {
    class: cls.join(' '), tabindex: '0', role: 'button', dataset: { id: c.id },
    'aria-label': name + (fresh ? ', new chat' : '') + (S.dots.has(c.id) ? ', new activity' : ''),
  },
  el('div', { class: 'card-top' },
    avatar(name),
    S.dots.has(c.id) ? el('span', { class: 'dot-new', title: 'New activity' }, el('span', { class: 'sr-only', text: 'New activity' })) : null,
    el('span', { class: 'card-name', text: name }),
    el('time', { class: 'card-time', datetime: when || '', title: fmtFull(when), text: fmtTime(when) })),
  c.contact_name ? el('div', { class: 'card-number muted small', text: addr.number }) : null,
  c.subject ? el('div', { class: 'card-subject', text: c.subject }) : null,
  el('div', { class: 'card-preview', text: c.preview || '' }),
  el('div', { class: 'card-chips' }, chips,
    c.last_responder ? el('span', { class: 'card-responder', title: 'Last reply to the customer by ' + fullAgentName(c.last_responder) },
      avatar(fullAgentName(c.last_responder), true), 'Last reply: ' + agentName(c.last_responder)) : null));
  if (c.kind === 'ticket' && c.state === 'unassigned') {
    li.append(el('button', {
      type: 'button', class: 'card-accept', text: 'Accept',
      onclick: (ev) => { ev.stopPropagation(); acceptTicket(c.id); },
    }));
  }
  li.addEventListener('click', () => openConversation(c.id));
  li.addEventListener('keydown', (ev) => {
    if ((ev.key === 'Enter' || ev.key === ' ') && ev.target === li) { ev.preventDefault(); openConversation(c.id); }
  });
  return li;
}

// noMessageLeft: a ticket whose customer declined (NO, or //end before
// answering) has nothing waiting, unlike one with a message left.
function noMessageLeft(c) {
  return c.kind === 'ticket' && c.state === 'unassigned' && c.session === 'ended' && !c.awaiting_agent && !c.agent_replied;
}

// moveInList moves focus between the list's cards with the arrow keys,
// Home and End; Enter or Space opens the focused card.
export function moveInList(ev) {
  const cards = $$('#list .card');
  const i = cards.indexOf(document.activeElement);
  if (i < 0 || ev.altKey || ev.ctrlKey || ev.metaKey) return;
  const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: cards.length - 1 }[ev.key];
  if (to === undefined) return;
  ev.preventDefault();
  cards[Math.max(0, Math.min(cards.length - 1, to))].focus();
}

export function renderCounts() {
  for (const t of tabsOf()) {
    const n = S.counts[t] || 0;
    const span = $('.count[data-count="' + t + '"]');
    if (span) {
      span.textContent = String(n);
      span.classList.toggle('zero', n === 0);
    }
  }
  const b = $('#bell-count');
  b.textContent = String(S.unread);
  show(b, S.unread > 0);
  $('#bell').title = S.unread ? S.unread + ' unread mention' + (S.unread === 1 ? '' : 's') : 'Mentions';
  renderQuick();
  renderFreshMarkers();
}

export function renderFreshMarkers() {
  const liveTab = $('.tab[data-tab="live"]');
  liveTab.classList.toggle('has-fresh', S.fresh.size > 0);
  const n = S.fresh.size + S.unread;
  document.title = (n ? '(' + n + ') ' : '') + 'Parley desk';
}

export async function refreshCounts() {
  if (!S.me) return;
  try {
    const c = await api('GET', '/counts');
    S.counts = c.tabs || {};
    const unread = c.unread_notifications || 0;
    if (S.countsLoaded && unread > S.unread) {
      toast((S.mentionFrom ? agentName(S.mentionFrom) + ' mentioned you' : 'You were mentioned') + ' in a comment. See the bell.', 'ok');
    }
    S.mentionFrom = '';
    S.unread = unread;
    S.countsLoaded = true;
    renderCounts();
  } catch (e) {
    if (!e.silent && e.status !== 0) fail(e);
  }
}

export function renderQuick() {
  const n = S.counts.unassigned || 0;
  for (const b of $$('.quick-n')) {
    const want = Number(b.dataset.n);
    b.disabled = n < want;
    b.title = n < want ? 'Fewer than ' + want + ' tickets are waiting' : 'Accept the ' + want + ' oldest tickets';
  }
  $('#quick-go').disabled = n === 0;
  $('#quick-custom').max = String(Math.max(1, Math.min(100, n)));
}

export async function quickAccept(n) {
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    toast('Quick accept takes a whole number from 1 to 100.');
    return;
  }
  try {
    const r = await api('POST', '/tickets/quick-accept', { n });
    const got = (r && r.accepted) || [];
    toast(got.length ? 'Accepted ' + got.length + (got.length === 1 ? ' ticket' : ' tickets') + ', oldest first. They are in Assigned.'
      : 'No unassigned tickets were left to accept.', got.length ? 'ok' : 'error');
    $('#quick-custom').value = '';
  } catch (e) {
    fail(e);
  }
  refreshSoon({ list: true, counts: true });
}

export async function acceptTicket(id) {
  try {
    await api('POST', convPath(id, 'accept'));
    toast('Ticket accepted. It is in Assigned.', 'ok');
    if (id === S.openId) await loadDetail();
  } catch (e) {
    fail(e);
  }
  refreshSoon({ list: true, counts: true });
}
