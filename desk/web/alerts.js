// Alerts for new chats: a sound (on by default, the bell beside Live)
// and a browser notification while the tab is hidden.

import { openConversation } from './conversation.js';
import { $ } from './dom.js';
import { fullAgentName, parseAddress } from './format.js';
import { isSup, S } from './store.js';

// Sound alerts are on unless the user turned them off with the bell
// beside Live; a browser notification goes too while the tab is hidden,
// if the browser allows it.
function alertsOn() {
  try { return localStorage.getItem('parley.alerts') !== '0'; } catch (e) { return true; }
}

export function renderAlerts() {
  const on = alertsOn();
  const blocked = on && 'Notification' in window && Notification.permission === 'denied';
  const b = $('#alerts');
  b.setAttribute('aria-pressed', on ? 'true' : 'false');
  b.classList.toggle('blocked', blocked);
  b.title = (on ? 'Sound alerts for new chats are on. Click to turn them off.' : 'Sound alerts for new chats are off. Click to turn them on.')
    + (blocked ? ' This browser blocks Parley\'s notifications; allow them in the site settings to be told while the tab is hidden.' : '');
  $('#alerts-text').textContent = on ? 'Sound alerts on' : 'Sound alerts off';
}

// unlockAudio readies the sound on a user's gesture (browsers keep audio
// silent until one).
export function unlockAudio() {
  try {
    S.audio = S.audio || new (window.AudioContext || window.webkitAudioContext)();
    if (S.audio.state === 'suspended') S.audio.resume().catch(() => {});
  } catch (e) { /* no sound on this browser */ }
}

export async function toggleAlerts() {
  const on = !alertsOn();
  try { localStorage.setItem('parley.alerts', on ? '1' : '0'); } catch (e) { /* private mode */ }
  renderAlerts();
  if (!on) return;
  unlockAudio();
  if ('Notification' in window && Notification.permission === 'default') {
    try { await Notification.requestPermission(); } catch (e) { /* ignored */ }
    renderAlerts();
  }
  beep();
}

function beep() {
  try {
    const ctx = S.audio || (S.audio = new (window.AudioContext || window.webkitAudioContext)());
    const t = ctx.currentTime;
    const o = ctx.createOscillator();
    const g = ctx.createGain();
    o.type = 'sine';
    o.frequency.setValueAtTime(880, t);
    o.frequency.setValueAtTime(1175, t + 0.12);
    g.gain.setValueAtTime(0.0001, t);
    g.gain.exponentialRampToValueAtTime(0.15, t + 0.02);
    g.gain.exponentialRampToValueAtTime(0.0001, t + 0.3);
    o.connect(g).connect(ctx.destination);
    o.start(t);
    o.stop(t + 0.32);
  } catch (e) { /* no sound */ }
}

export function alertNewChat(id, c) {
  if (!alertsOn()) return;
  beep();
  if ('Notification' in window && Notification.permission === 'granted' && document.hidden) {
    try {
      const who = (c && (c.contact_name || parseAddress(c.contact).number)) || 'A customer';
      const where = isSup() ? ' started a live chat' + (c && c.assignee ? ' with ' + fullAgentName(c.assignee) : '') + '.' : ' is waiting in Live.';
      const n = new Notification('New chat on Parley', { body: who + where, tag: 'parley-' + id });
      n.onclick = () => { window.focus(); openConversation(id); n.close(); };
    } catch (e) { /* notifications unavailable */ }
  }
}
