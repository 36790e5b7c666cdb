// The user's own presence (online, away, offline; accepting chats),
// remembered in this browser across sign-ins.

import { renderAlerts } from './alerts.js';
import { api } from './api.js';
import { $, fail, show, toast } from './dom.js';
import { isSup, S } from './store.js';

export function renderMe() {
  const me = S.me;
  if (!me) return;
  $('#me-name').textContent = me.name || me.id;
  $('#me-name').title = me.id + ' · ' + me.role + (me.departments && me.departments.length ? ' · ' + me.departments.join(', ') : '');
  $('#presence').value = me.presence || 'offline';
  // Paused: routing stopped giving chats to the user, who let one time
  // out; they are not accepting until they resume.
  const paused = !!me.paused && me.presence === 'online' && !isSup();
  const acc = $('#accepting');
  acc.checked = !!me.accepting && me.presence === 'online' && !paused;
  acc.disabled = me.presence !== 'online';
  $('#presence-dot').className = 'presence-dot ' + (me.presence === 'online' ? (me.accepting && !paused ? 'on' : 'busy') : me.presence === 'away' ? 'away' : 'off');
  show($('#paused-note'), paused);
  $('#load').textContent = me.presence === 'online' ? me.load + ' of ' + me.capacity + ' chats' : '';
  renderAlerts();
}

// Presence is remembered per user in this browser, so an agent who
// signs in again (after the server set them offline) comes back as they
// left, instead of offline each time.
const presenceKey = () => 'parley.presence.' + S.me.id;

function rememberPresence(presence, accepting) {
  try { localStorage.setItem(presenceKey(), JSON.stringify({ presence, accepting: !!accepting })); } catch (e) { /* private mode */ }
}

export function restorePresence() {
  if (isSup() || S.me.presence !== 'offline') return;
  let want = null;
  try { want = JSON.parse(localStorage.getItem(presenceKey()) || 'null'); } catch (e) { /* nothing kept */ }
  if (want && (want.presence === 'online' || want.presence === 'away')) setPresence(want.presence, want.accepting);
}

export async function setPresence(presence, accepting) {
  try {
    const me = await api('PUT', '/me/presence', { presence, accepting });
    S.me = Object.assign({}, S.me, me);
    rememberPresence(presence, accepting);
    renderMe();
    toast(presence === 'online' ? (accepting ? 'You are online and accepting chats.' : 'You are online, not accepting new chats.')
      : presence === 'away' ? 'You are away: no new chats.' : 'You are offline: no new chats.', 'ok');
  } catch (e) {
    fail(e);
    renderMe();
  }
}

export async function refreshMe() {
  try {
    const me = await api('GET', '/me');
    S.me = me;
    S.csrf = me.csrf_token || S.csrf;
    renderMe();
  } catch (e) {
    fail(e);
  }
}
