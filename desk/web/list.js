// The tabs, the filters and the conversation list with its cards.

import { api } from './api.js';
import { closeConversation } from './conversation.js';
import { $, $$, fail, show } from './dom.js';
import { card, groupLabel, loadSupList, renderFreshMarkers, renderGroups, renderQuick, renderSummary } from './groups.js';
import { ALL, isSup, PAGE, S, SUP_TAB_NAMES, TAB_NAMES, tabsOf } from './store.js';

export function setTab(tab, force) {
  if (!tabsOf().includes(tab)) tab = 'live';
  if (tab === S.tab && !force) return;
  // The centre follows the tab: once its list is read, a conversation
  // not in it (one of the previous tab) closes.
  S.followTab = tab !== S.tab;
  S.tab = tab;
  try { sessionStorage.setItem('parley.tab', tab); } catch (e) { /* private mode */ }
  for (const b of $$('.tab')) {
    const on = b.dataset.tab === tab;
    b.classList.toggle('active', on);
    b.setAttribute('aria-selected', on ? 'true' : 'false');
  }
  show($('#sort-row'), tab === 'live');
  show($('#mine-row'), tab === 'tickets_closed');
  show($('#quick'), tab === 'unassigned' && !isSup());
  renderQuick();
  $('#list').replaceChildren();
  S.items = [];
  S.groupWant = PAGE;
  if (isSup()) {
    S.groups = [];
    renderGroups();
    renderSummary();
  }
  loadList(false);
}

export function readFilters() {
  S.filters = {
    q: $('#f-q').value.trim(),
    channel: $('#f-channel').value,
    tag: $('#f-tag').value,
    from: $('#f-from').value,
    to: $('#f-to').value,
    sort: $('#f-sort').value,
    mine: $('#f-mine').checked,
  };
  const f = S.filters;
  show($('#f-clear'), !!(f.q || f.channel || f.tag || f.from || f.to || f.mine));
  // The folded filters say how many of them are set.
  const on = [f.channel, f.tag, f.from, f.to, f.mine].filter(Boolean).length;
  $('#f-on').textContent = String(on);
  show($('#f-on'), on > 0);
  $('#f-toggle').title = on ? on + (on === 1 ? ' filter is' : ' filters are') + ' set' : 'Channel, tag and dates';
}

export function toggleFilters() {
  const open = $('#f-more').hidden;
  show($('#f-more'), open);
  $('#f-toggle').setAttribute('aria-expanded', open ? 'true' : 'false');
}

export function clearFilters() {
  $('#f-q').value = '';
  $('#f-channel').value = '';
  $('#f-tag').value = '';
  $('#f-from').value = '';
  $('#f-to').value = '';
  $('#f-mine').checked = false;
  readFilters();
  loadList(false);
}

export function listQuery(offset, limit, path) {
  const f = S.filters;
  const p = new URLSearchParams({ tab: S.tab, offset: String(offset), limit: String(limit) });
  if (f.q) p.set('q', f.q);
  if (f.channel) p.set('channel', f.channel);
  if (f.tag) p.set('tag', f.tag);
  if (f.from) p.set('from', f.from);
  if (f.to) p.set('to', f.to);
  if (S.tab === 'live') p.set('sort', f.sort);
  if (S.tab === 'tickets_closed' && f.mine) p.set('mine', 'true');
  return (path || '/conversations') + '?' + p.toString();
}

// loadList loads the first page again (keeping as many rows as shown), or
// with more=true appends the next page.
export async function loadList(more) {
  if (isSup()) return loadSupList(more);
  const seq = ++S.listSeq;
  const tab = S.tab;
  const offset = more ? S.next : 0;
  const limit = more ? PAGE : Math.min(100, Math.max(PAGE, S.items.length));
  try {
    const page = await api('GET', listQuery(offset, limit));
    if (seq !== S.listSeq || tab !== S.tab) return;
    const items = keepFresher(page.items || []);
    S.items = more ? S.items.concat(items) : items;
    sortByActivity();
    S.total = page.total || 0;
    S.next = page.next || 0;
    noticeArrivals(tab, items);
    followTab();
    renderList();
  } catch (e) {
    if (seq === S.listSeq) fail(e);
  }
}

// keepFresher keeps what a live event put on a card (its preview and
// times) when a list read that began before the event answers after it:
// the read would otherwise put the older card back, and no event would
// come to mend it.
const CARD_FIELDS = ['preview', 'updated_at', 'last_activity_at', 'last_customer_at'];
export function keepFresher(items) {
  const shown = new Map(S.items.map((c) => [c.id, c]));
  return items.map((c) => {
    const cur = shown.get(c.id);
    if (!cur || !(Date.parse(cur.updated_at) > Date.parse(c.updated_at))) return c;
    const kept = Object.assign({}, c);
    for (const f of CARD_FIELDS) if (cur[f] !== undefined) kept[f] = cur[f];
    return kept;
  });
}

// sortByActivity orders Live by the customer's last message, newest
// first, as the server does, after a card's times changed here.
export function sortByActivity() {
  if (S.tab !== 'live' || S.filters.sort !== 'activity') return;
  const key = (x) => Date.parse(x.last_customer_at || x.created_at) || 0;
  S.items.sort((a, b) => key(b) - key(a));
}

// followTab closes the open conversation when the tab just picked does
// not list it.
export function followTab() {
  if (!S.followTab) return;
  S.followTab = false;
  if (S.openId && !S.items.some((c) => c.id === S.openId)) closeConversation();
}

// noticeArrivals marks live chats and unassigned tickets that were not
// in the list before: new chats turn green, new tickets flash once.
export function noticeArrivals(tab, items) {
  const unfiltered = !S.filters.q && !S.filters.channel && !S.filters.tag && !S.filters.from && !S.filters.to;
  if (tab === 'live' && !isSup()) {
    if (S.knownLive && unfiltered) {
      for (const c of items) {
        if (!S.knownLive.has(c.id) && c.id !== S.openId && c.awaiting_agent) S.fresh.add(c.id);
      }
    }
    S.knownLive = S.knownLive || new Set();
    items.forEach((c) => S.knownLive.add(c.id));
  }
  if (tab === 'unassigned') {
    if (S.knownUnassigned && unfiltered) {
      for (const c of items) if (!S.knownUnassigned.has(c.id)) S.arrived.add(c.id);
    }
    S.knownUnassigned = S.knownUnassigned || new Set();
    items.forEach((c) => S.knownUnassigned.add(c.id));
  }
}

export function renderList() {
  const ul = $('#list');
  const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest('#list .card');
  const keep = focused && focused === document.activeElement ? focused.dataset.id : null;
  ul.replaceChildren(...S.items.map(card));
  if (keep) {
    const again = ul.querySelector('.card[data-id="' + CSS.escape(keep) + '"]');
    if (again) again.focus();
  }
  S.arrived.clear();
  const f = S.filters;
  const filtered = f.q || f.channel || f.tag || f.from || f.to || f.mine;
  const names = isSup() ? SUP_TAB_NAMES : TAB_NAMES;
  const whose = isSup() && S.groupAgent !== ALL ? (S.groupAgent ? ' of ' + groupLabel(S.groupAgent) : ' without an agent') : '';
  let meta = S.total === 0 ? (filtered ? 'Nothing matches these filters' + whose + '.' : 'No ' + names[S.tab] + whose + '.')
    : S.total + (S.total === 1 ? ' conversation' : ' conversations') + whose + (filtered ? ' match' : '');
  if (S.items.length < S.total) meta += ' · showing ' + S.items.length;
  $('#list-meta').textContent = meta;
  show($('#more'), S.next > 0);
  renderFreshMarkers();
}
