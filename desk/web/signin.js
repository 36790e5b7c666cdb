// Signing in and out, and entering the desk once the user is known.

import { api } from './api.js';
import { renderViewers } from './comments.js';
import { openConversation, renderEmptyConversation, setPane } from './conversation.js';
import { $, fail, show } from './dom.js';
import { connectEvents } from './events.js';
import { refreshCounts } from './groups.js';
import { renderList, setTab } from './list.js';
import { renderMe, restorePresence } from './presence.js';
import { dismissAllRouted } from './routed.js';
import { ALL, C, isAdmin, isSup, S } from './store.js';
import { applySettings, setAgents, setView } from './views.js';

export function showSignIn(message) {
  show($('#desk'), false);
  show($('#signin'), true);
  const err = $('#signin-error');
  err.textContent = message || '';
  show(err, !!message);
  document.title = 'Sign in · Parley desk';
  setTimeout(() => $('#signin-user').focus(), 0);
}

export async function signIn(ev) {
  ev.preventDefault();
  const user = $('#signin-user').value.trim();
  const password = $('#signin-password').value;
  const err = $('#signin-error');
  if (!user || !password) {
    err.textContent = 'Enter your user name and password.';
    show(err, true);
    return;
  }
  const btn = $('#signin-submit');
  btn.disabled = true;
  try {
    const me = await api('POST', '/session', { user, password });
    $('#signin-password').value = '';
    show(err, false);
    await enter(me);
  } catch (e) {
    err.textContent = e.code === 'bad_credentials' ? 'Wrong user name or password.'
      : e.code === 'too_many_attempts' ? 'Too many failed attempts. Wait a few minutes and try again.'
        : e.message;
    show(err, true);
  } finally {
    btn.disabled = false;
  }
}

export async function signOut() {
  try {
    await api('DELETE', '/session');
  } catch (e) {
    if (!e.silent) fail(e);
  }
  signedOut();
}

export function signedOut(message) {
  if (S.es) S.es.close();
  S.es = null;
  S.timers.forEach(clearInterval);
  S.timers = [];
  clearInterval(S.viewTimer);
  S.me = null;
  S.csrf = '';
  S.openId = null;
  S.detail = null;
  S.items = [];
  S.fresh.clear();
  S.alerted.clear();
  S.dots.clear();
  S.knownLive = null;
  S.knownUnassigned = null;
  S.countsLoaded = false;
  S.unread = 0;
  S.viewers.clear();
  S.drafts.clear();
  S.started.clear();
  S.reopening.clear();
  S.reaching.clear();
  S.groups = [];
  S.groupAgent = ALL;
  S.agentTabs = null;
  $('#list').replaceChildren();
  $('#group-list').replaceChildren();
  for (const m of S.modules) if (m.reset) m.reset();
  dismissAllRouted();
  setView('desk');
  renderEmptyConversation();
  setPane('list');
  document.body.dataset.live = 'off';
  history.replaceState(null, '', location.pathname);
  showSignIn(message);
}

export async function enter(me) {
  S.me = me;
  S.csrf = me.csrf_token || S.csrf;
  show($('#signin'), false);
  show($('#desk'), true);
  renderMe();
  applyRole();
  try {
    const [settings, agents, consts] = await Promise.all([api('GET', '/settings'), api('GET', '/agents'), api('GET', '/desk/constants')]);
    Object.assign(C, consts);
    applySettings(settings);
    setAgents(agents.items || []);
  } catch (e) {
    fail(e);
  }
  restorePresence();
  let tab = S.tab;
  let view = 'desk';
  try {
    tab = sessionStorage.getItem('parley.tab') || tab;
    view = sessionStorage.getItem('parley.view') || view;
  } catch (e) { /* private mode */ }
  setTab(tab, true);
  setView(view);
  refreshCounts();
  connectEvents();
  S.timers.push(setInterval(renderViewers, 2000));
  S.timers.push(setInterval(refreshCounts, 60000));
  S.timers.push(setInterval(() => { if (S.items.length) renderList(); }, 60000)); // relative times
  const m = location.hash.match(/^#c=([\w.:-]+)$/);
  if (m) openConversation(decodeURIComponent(m[1]));
}

// applyRole shows what the user's role has: supervisors and admins get
// the grouped lists, reports (and admins the administration), and no
// presence of their own, since they take no chats.
function applyRole() {
  const sup = isSup();
  document.body.dataset.role = S.me.role;
  show($('#views'), sup);
  show($('.view-tab[data-view="admin"]'), isAdmin());
  show($('#presence-box'), !sup);
  show($('.tab[data-tab="tagged"]'), !sup);
  show($('.tab[data-tab="bot"]'), sup);
  show($('#groups'), sup);
  show($('#sms-open'), sup);
  const role = $('#me-role');
  role.textContent = S.me.role === 'admin' ? 'Admin' : 'Supervisor';
  show(role, sup);
  if (!S.openId) renderEmptyConversation();
}
