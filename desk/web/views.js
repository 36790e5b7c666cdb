// The three views (conversations, reports, administration), the
// settings and the agents the page keeps.

import { initAdmin } from './admin.js';
import { initExtras } from './agent-extras.js';
import { $, $$, el, show } from './dom.js';
import { refreshSoon } from './events.js';
import { initReports } from './reports.js';
import { isAdmin, isSup, S } from './store.js';

export function setView(view) {
  if (!isSup() || !['desk', 'reports', 'admin'].includes(view)) view = 'desk';
  if (view === 'admin' && !isAdmin()) view = 'desk';
  const was = S.view;
  S.view = view;
  try { sessionStorage.setItem('parley.view', view); } catch (e) { /* private mode */ }
  for (const b of $$('.view-tab')) {
    const on = b.dataset.view === view;
    b.classList.toggle('active', on);
    b.setAttribute('aria-current', on ? 'page' : 'false');
  }
  show($('.panes'), view === 'desk');
  show($('#reports-view'), view === 'reports');
  show($('#admin-view'), view === 'admin');
  for (const m of S.modules) {
    if (m.name === view && S.me) m.show(was !== view);
    else if (m.hide) m.hide();
  }
  if (view === 'desk' && was !== 'desk' && S.me) refreshSoon({ list: true, counts: true, detail: true });
}

// The reports, the administration and the agents' extras build their
// parts of the page once; each gives back the view it drives.
export function initModules() {
  for (const init of [initReports, initAdmin, initExtras]) {
    try {
      S.modules.push(init());
    } catch (e) {
      console.error(e); // eslint-disable-line no-console
    }
  }
}

export function applySettings(s) {
  S.settings = {
    tags: (s.tags || []).slice().sort((a, b) => a.localeCompare(b)),
    sentiments: s.sentiments && s.sentiments.length ? s.sentiments : S.settings.sentiments,
    departments: s.departments || [],
    templates: s.templates || [],
    canned_replies: s.canned_replies || [],
    agent_response_timeout: Number(s.agent_response_timeout_seconds) || 0, // seconds
  };
  const tag = $('#f-tag');
  tag.replaceChildren(el('option', { value: '', text: 'Any tag' }), ...S.settings.tags.map((t) => el('option', { value: t, text: t })));
  const canned = $('#canned');
  canned.replaceChildren(el('option', { value: '', text: 'Canned replies…' }),
    ...S.settings.canned_replies.map((c, i) => el('option', { value: String(i), text: c.shortcut + ' · ' + c.text })));
  canned.hidden = S.settings.canned_replies.length === 0;
}

export function setAgents(items) {
  S.agents = new Map(items.map((a) => [a.id, a]));
  const others = items.filter((a) => !S.me || a.id !== S.me.id).map((a) => '@' + a.id);
  $('#comment-hint').textContent = others.length ? 'Mention: ' + others.slice(0, 6).join(' ') + (others.length > 6 ? ' …' : '') : '';
}
