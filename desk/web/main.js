// Parley desk. Native ES modules, no build step: everything the page
// shows comes from the JSON API under /api/v1 and the live event stream.
// This module wires the page's controls to the modules and starts it.
//
// Safety rule for every module: text that comes from customers, agents
// or the server is only ever put on the page as text (textContent, text
// nodes, attribute values through the DOM). No innerHTML anywhere.

import { toggleAlerts, unlockAudio } from './alerts.js';
import { api } from './api.js';
import { noteTyping, submitComment, toggleBell } from './comments.js';
import { cancelReopen, expandCanned, pickCanned, sendText, startClicked, updateCannedHint } from './composer.js';
import { closeConversation, openConversation, setPane } from './conversation.js';
import { submitClose } from './details.js';
import { $, $$, debounce, show } from './dom.js';
import { refreshSoon } from './events.js';
import { moveInList, quickAccept } from './groups.js';
import { clearFilters, loadList, readFilters, setTab, toggleFilters } from './list.js';
import { initMentions } from './mentions.js';
import { setPresence } from './presence.js';
import { openProfile } from './profile.js';
import { enter, showSignIn, signIn, signOut } from './signin.js';
import { S } from './store.js';
import { openSms } from './sms.js';
import { renderTemplateVars, sendTemplate } from './templates.js';
import { loadTransferAgents, renderTransferDeptAgents, submitTransfer } from './transfer.js';
import { initModules, setView } from './views.js';

function bind() {
  $('#signin-form').addEventListener('submit', signIn);
  $('#signout').addEventListener('click', signOut);
  $('#presence').addEventListener('change', (ev) => {
    const p = ev.target.value;
    setPresence(p, p === 'online');
  });
  $('#accepting').addEventListener('change', (ev) => setPresence('online', ev.target.checked));
  $('#resume').addEventListener('click', () => setPresence('online', true)); // going online clears a pause
  $('#alerts').addEventListener('click', toggleAlerts);
  document.addEventListener('pointerdown', unlockAudio, { once: true });
  document.addEventListener('keydown', unlockAudio, { once: true });
  $('#f-toggle').addEventListener('click', toggleFilters);
  $('#list').addEventListener('keydown', moveInList);
  $('#back-list').addEventListener('click', closeConversation);
  $('#to-details').addEventListener('click', () => setPane('details'));
  $('#back-conv').addEventListener('click', () => setPane('conv'));
  for (const b of $$('.tab')) b.addEventListener('click', () => setTab(b.dataset.tab));
  const reload = () => { readFilters(); loadList(false); };
  $('#f-q').addEventListener('input', debounce(reload, 300));
  for (const id of ['#f-channel', '#f-tag', '#f-from', '#f-to', '#f-sort', '#f-mine']) $(id).addEventListener('change', reload);
  $('#filters').addEventListener('submit', (ev) => { ev.preventDefault(); reload(); });
  $('#f-clear').addEventListener('click', clearFilters);
  $('#more').addEventListener('click', () => loadList(true));
  for (const b of $$('.quick-n')) b.addEventListener('click', () => quickAccept(Number(b.dataset.n)));
  $('#quick-go').addEventListener('click', () => quickAccept(Number($('#quick-custom').value)));
  $('#quick-custom').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') { ev.preventDefault(); quickAccept(Number(ev.target.value)); }
  });

  const reply = $('#reply');
  reply.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && !ev.altKey) {
      ev.preventDefault();
      sendText();
    } else if (ev.key === 'Tab' && !ev.shiftKey && !ev.ctrlKey && !ev.altKey) {
      if (expandCanned()) ev.preventDefault();
    }
  });
  reply.addEventListener('input', () => { updateCannedHint(); noteTyping(); });
  reply.addEventListener('focus', noteTyping);
  reply.addEventListener('blur', () => { noteTyping(); setTimeout(() => show($('#canned-hint'), false), 150); });
  reply.addEventListener('click', updateCannedHint);
  $('#send').addEventListener('click', sendText);
  $('#canned').addEventListener('change', pickCanned);
  $('#c-start-btn').addEventListener('click', startClicked);
  $('#c-cancel').addEventListener('click', cancelReopen);
  $('#tpl-cancel').addEventListener('click', cancelReopen);
  $('#tpl').addEventListener('change', renderTemplateVars);
  $('#tpl-send').addEventListener('click', sendTemplate);

  $('#comment-form').addEventListener('submit', submitComment);
  $('#comment').addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submitComment(ev); }
  });
  $('#bell').addEventListener('click', toggleBell);
  $('#open-profile').addEventListener('click', () => { if (S.detail) openProfile(S.detail.conversation.contact); });
  $('#sms-open').addEventListener('click', openSms);
  document.addEventListener('click', (ev) => {
    const menu = $('#bell-menu');
    if (!menu.hidden && !menu.contains(ev.target)) {
      show(menu, false);
      $('#bell').setAttribute('aria-expanded', 'false');
    }
  });

  $('#close-form').addEventListener('submit', submitClose);
  $('#close-cancel').addEventListener('click', () => $('#close-dialog').close());
  $('#transfer-form').addEventListener('submit', submitTransfer);
  $('#transfer-cancel').addEventListener('click', () => $('#transfer-dialog').close());
  $('#transfer-refresh').addEventListener('click', loadTransferAgents);
  $('#transfer-agent').addEventListener('change', () => { $('#transfer-to-agent').checked = true; });
  $('#transfer-dept').addEventListener('change', () => { $('#transfer-to-dept').checked = true; renderTransferDeptAgents(); });
  $('#transfer-dept-agent').addEventListener('change', () => { $('#transfer-to-dept').checked = true; });
  for (const b of $$('.view-tab')) b.addEventListener('click', () => setView(b.dataset.view));

  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && S.me) refreshSoon({ list: true, counts: true, detail: true });
  });
  window.addEventListener('hashchange', () => {
    const m = location.hash.match(/^#c=([\w.:-]+)$/);
    if (m && S.me && decodeURIComponent(m[1]) !== S.openId) openConversation(decodeURIComponent(m[1]));
  });
}

async function boot() {
  initModules();
  initMentions();
  bind();
  document.body.dataset.live = 'off';
  try {
    const me = await api('GET', '/me');
    await enter(me);
  } catch (e) {
    showSignIn(e.status === 401 ? '' : 'Parley did not answer: ' + e.message);
  }
}

boot();
