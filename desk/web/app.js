// Parley desk. Plain JavaScript, no build step: everything it shows comes
// from the JSON API under /api/v1 and the live event stream. Agents get
// their own lists; supervisors and admins (the role from GET /me) get every
// list grouped by agent, and reports.js and admin.js add the reports and the
// administration, sharing this file's core.
//
// Safety rule for this file: text that comes from customers, agents or the
// server is only ever put on the page as text (textContent, text nodes,
// attribute values through the DOM). No innerHTML anywhere.
(() => {
  'use strict';

  const API = '/api/v1';
  const TABS = ['live', 'pending', 'tagged', 'closed', 'unassigned', 'assigned', 'tickets_closed', 'trash'];
  // Supervisors and admins see everyone's lists, grouped by agent; the
  // Tagged tab (mentions) is an agent's tool.
  const SUP_TABS = ['live', 'pending', 'closed', 'unassigned', 'assigned', 'tickets_closed', 'trash'];
  const CHAT_TABS = ['live', 'pending', 'tagged', 'closed'];
  const TAB_NAMES = {
    live: 'live chats', pending: 'pending chats', tagged: 'chats you were mentioned in', closed: 'closed chats',
    unassigned: 'unassigned tickets', assigned: 'tickets assigned to you', tickets_closed: 'closed tickets',
    trash: 'conversations in your trash', // the Trash tab: agent-extras.js
  };
  const SUP_TAB_NAMES = {
    live: 'live chats', pending: 'pending chats', closed: 'closed chats', unassigned: 'unassigned tickets',
    assigned: 'assigned tickets', tickets_closed: 'closed tickets', trash: 'conversations in the trash',
  };
  const ALL = '*'; // the "everyone" entry of the agent groups
  const EVENT_TYPES = ['message.in', 'message.out', 'message.status', 'message.note', 'conversation.changed',
    'conversation.assigned', 'conversation.closed', 'agent.changed', 'comment', 'viewing'];
  const VIEWING_EVERY = 10000; // ms between "I am viewing" pings
  const VIEWER_TTL = 20000; // how long one ping lasts on the server
  const PAGE = 50;

  // ---------- state ----------
  const S = {
    me: null,
    csrf: '',
    settings: { tags: [], sentiments: ['positive', 'neutral', 'negative'], departments: [], templates: [], canned_replies: [] },
    agents: new Map(), // id -> agent
    tab: 'live',
    filters: { q: '', channel: '', tag: '', from: '', to: '', sort: 'activity', mine: false },
    items: [],
    total: 0,
    next: 0,
    counts: {},
    unread: 0,
    openId: null,
    detail: null,
    fresh: new Set(), // new live chats not opened yet (green)
    dots: new Set(), // conversations with activity while another was open (blue dot)
    knownLive: null, // live chat ids seen so far
    knownUnassigned: null,
    arrived: new Set(), // list items to flash once
    viewers: new Map(), // agent id -> {typing, until}
    drafts: new Map(), // conversation id -> unsent reply
    started: new Set(), // tickets whose "Start chat" was clicked
    reopening: new Set(), // closed chats whose "Reopen" was clicked
    es: null,
    esDropped: false,
    listSeq: 0,
    detailSeq: 0,
    timers: [],
    viewTimer: null,
    lastTyping: false,
    viewingWarned: false,
    tplKey: '',
    audio: null,
    countsLoaded: false,
    mentionFrom: '',
    mode: null,
    followTab: false, // the tab changed: close the open conversation unless the new list has it
    view: 'desk', // desk, reports or admin (supervisors and admins)
    groups: [], // [{agent, count}] of the tab, for supervisors
    groupAgent: ALL, // the agent picked in the groups ('' = unassigned)
    groupWant: PAGE, // how many of the picked agent's conversations to show
    groupSeq: 0,
    agentTabs: null, // {agent, counts: {tab: n}} for the summary
    reaching: new Set(), // closed conversations whose "Reach out" was clicked
    modules: [], // reports and administration
  };

  // isSup says whether the signed-in user has the supervisor desk.
  const isSup = () => !!S.me && (S.me.role === 'supervisor' || S.me.role === 'admin');
  const isAdmin = () => !!S.me && S.me.role === 'admin';

  // ---------- small DOM helpers ----------
  const $ = (sel, root = document) => root.querySelector(sel);
  const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

  // el builds an element. Children that are strings become text nodes.
  function el(tag, props, ...kids) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') n.className = v;
      else if (k === 'text') n.textContent = v;
      else if (k === 'dataset') Object.assign(n.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? '' : String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      n.append(kid instanceof Node ? kid : String(kid));
    }
    return n;
  }

  // svg builds an SVG element the same way (attributes only; text as text).
  const SVG_NS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...kids) {
    const n = document.createElementNS(SVG_NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') n.textContent = v;
      else if (k === 'class') n.setAttribute('class', v);
      else n.setAttribute(k, String(v));
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      n.append(kid instanceof Node ? kid : String(kid));
    }
    return n;
  }

  function show(node, on) { node.hidden = !on; }

  // ---------- messages to the user ----------
  function toast(text, kind = 'error') {
    const box = $('#toasts');
    const t = el('div', { class: 'toast toast-' + kind, role: kind === 'error' ? 'alert' : 'status' },
      el('span', { class: 'toast-text', text }),
      el('button', { type: 'button', class: 'toast-x', 'aria-label': 'Dismiss', text: '×' }));
    t.querySelector('.toast-x').addEventListener('click', () => t.remove());
    box.append(t);
    while (box.children.length > 4) box.firstElementChild.remove();
    setTimeout(() => t.remove(), kind === 'error' ? 9000 : 4000);
  }

  function fail(err) {
    if (err && err.silent) return;
    const code = err && err.code ? ' (' + err.code + ')' : '';
    toast(((err && err.message) || 'Something went wrong') + code, 'error');
  }

  // ---------- API ----------
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body, retried) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') headers['X-CSRF-Token'] = S.csrf;
    const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(API + path, init);
    } catch (e) {
      throw new ApiError(0, 'network', 'Cannot reach Parley; check your connection');
    }
    if (res.status === 204) return null;
    let data = null;
    try { data = await res.json(); } catch (e) { /* not JSON */ }
    if (res.ok) return data;
    const err = new ApiError(res.status, (data && data.code) || 'http_' + res.status,
      (data && data.error) || res.statusText || 'Request failed');
    if (res.status === 401 && err.code === 'unauthenticated' && S.me) {
      err.silent = true;
      signedOut('Your session ended. Sign in again.');
    } else if (err.code === 'csrf' && !retried && S.me) {
      // The token changed (signed in again in another tab): fetch it and retry once.
      const me = await api('GET', '/me');
      S.csrf = me.csrf_token;
      return api(method, path, body, true);
    }
    throw err;
  }

  const convPath = (id, action) => '/conversations/' + encodeURIComponent(id) + (action ? '/' + action : '');

  // ---------- formatting ----------
  // parseAddress splits a contact address such as "whatsapp:+27820000001"
  // or "sms:+27820000001".
  function parseAddress(addr) {
    const s = String(addr || '');
    const i = s.indexOf(':');
    if (i > 0 && /^[a-z]+$/.test(s.slice(0, i))) return { channel: s.slice(0, i), number: s.slice(i + 1) };
    return { channel: 'sms', number: s };
  }
  const channelName = (ch) => (ch === 'whatsapp' ? 'WhatsApp' : ch === 'sms' ? 'SMS' : ch || '');

  function fmtTime(iso) {
    if (!iso) return '';
    const d = new Date(iso);
    if (isNaN(d)) return '';
    const now = new Date();
    const time = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    if (d.toDateString() === now.toDateString()) return time;
    const sameYear = d.getFullYear() === now.getFullYear();
    return d.toLocaleDateString([], { day: 'numeric', month: 'short', year: sameYear ? undefined : 'numeric' }) + ' ' + time;
  }
  const fmtFull = (iso) => (iso ? new Date(iso).toLocaleString() : '');

  function agentName(id) {
    if (!id) return '';
    if (S.me && id === S.me.id) return 'you';
    const a = S.agents.get(id);
    return a && a.name ? a.name : id;
  }

  // initials are an avatar's letters: the first letters of the first two
  // words of a name, or the last two digits of a number.
  function initials(name) {
    const words = String(name || '').trim().split(/\s+/).filter((w) => /\p{L}/u.test(w));
    if (words.length) return words.slice(0, 2).map((w) => w.match(/\p{L}/u)[0].toUpperCase()).join('');
    const digits = String(name || '').replace(/\D/g, '');
    return digits.slice(-2) || '?';
  }

  function avatar(name, agent) {
    return el('span', { class: 'avatar' + (agent ? ' agent' : ''), 'aria-hidden': 'true', title: name, text: initials(name) });
  }

  // fullAgentName is an agent's name even for the user themself.
  function fullAgentName(id) {
    const a = S.agents.get(id);
    return (a && a.name) || (S.me && id === S.me.id && S.me.name) || id;
  }

  function stateLabel(c) {
    const map = {
      queued: 'Waiting for an agent', live: 'Live', pending: 'Pending', closed: 'Closed',
      unassigned: 'Unassigned', assigned: 'Assigned', archived: 'Archived',
    };
    return (c.kind === 'ticket' ? 'Ticket · ' : 'Chat · ') + (map[c.state] || c.state);
  }

  // linkify turns text into text nodes and links built with the DOM:
  // http(s) addresses, and those starting with www. (opened as https).
  const URL_RE = /\b(?:https?:\/\/|www\.)[^\s<>"']+/gi;
  function linkify(text) {
    const frag = document.createDocumentFragment();
    let last = 0;
    for (const m of text.matchAll(URL_RE)) {
      let raw = m[0];
      // Leave trailing punctuation to the sentence.
      const trail = raw.match(/[.,;:!?)\]}]+$/);
      if (trail) raw = raw.slice(0, raw.length - trail[0].length);
      const start = m.index;
      let href = null;
      try {
        const u = new URL(/^www\./i.test(raw) ? 'https://' + raw : raw);
        if (u.protocol === 'http:' || u.protocol === 'https:') href = u.href;
      } catch (e) { /* not a URL */ }
      if (!href) continue;
      if (start > last) frag.append(document.createTextNode(text.slice(last, start)));
      frag.append(el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: raw }));
      last = start + raw.length;
    }
    if (last < text.length) frag.append(document.createTextNode(text.slice(last)));
    return frag;
  }

  function safeHref(u) {
    try {
      const url = new URL(u, location.href);
      return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  // fillTemplate renders a template preview with its variables, as DOM.
  function fillTemplate(preview, vars, mark) {
    const frag = document.createDocumentFragment();
    let last = 0;
    for (const m of String(preview || '').matchAll(/\{\{\s*([\w.-]+)\s*\}\}/g)) {
      if (m.index > last) frag.append(document.createTextNode(preview.slice(last, m.index)));
      const v = vars && vars[m[1]];
      if (mark) frag.append(el('mark', { class: v ? 'var-filled' : 'var-empty', text: v || '{{' + m[1] + '}}' }));
      else frag.append(document.createTextNode(v || '{{' + m[1] + '}}'));
      last = m.index + m[0].length;
    }
    if (last < String(preview || '').length) frag.append(document.createTextNode(preview.slice(last)));
    return frag;
  }

  const templateBySid = (sid) => S.settings.templates.find((t) => t.content_sid === sid);

  // ---------- sign-in ----------
  function showSignIn(message) {
    show($('#desk'), false);
    show($('#signin'), true);
    const err = $('#signin-error');
    err.textContent = message || '';
    show(err, !!message);
    document.title = 'Sign in · Parley desk';
    setTimeout(() => $('#signin-user').focus(), 0);
  }

  async function signIn(ev) {
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

  async function signOut() {
    try {
      await api('DELETE', '/session');
    } catch (e) {
      if (!e.silent) fail(e);
    }
    signedOut();
  }

  function signedOut(message) {
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
    setView('desk');
    renderEmptyConversation();
    setPane('list');
    document.body.dataset.live = 'off';
    history.replaceState(null, '', location.pathname);
    showSignIn(message);
  }

  async function enter(me) {
    S.me = me;
    S.csrf = me.csrf_token || S.csrf;
    show($('#signin'), false);
    show($('#desk'), true);
    renderMe();
    applyRole();
    try {
      const [settings, agents] = await Promise.all([api('GET', '/settings'), api('GET', '/agents')]);
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
    show($('#groups'), sup);
    const role = $('#me-role');
    role.textContent = S.me.role === 'admin' ? 'Admin' : 'Supervisor';
    show(role, sup);
    if (!S.openId) renderEmptyConversation();
  }

  // ---------- views: conversations, reports, administration ----------
  function setView(view) {
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

  // The reports and administration scripts register themselves in
  // window.ParleyModules before this one runs; each gets the shared core.
  function initModules() {
    const core = {
      S, api, el, svg, $, $$, show, toast, fail, fmtFull, fmtTime, agentName, fillTemplate, debounce,
      isSup, isAdmin, applySettings, setAgents, openConversation: (id) => { setView('desk'); openConversation(id); },
      refreshSoon, loadDetail, // for agent-extras.js
    };
    for (const make of window.ParleyModules || []) {
      try {
        S.modules.push(make(core));
      } catch (e) {
        console.error(e); // eslint-disable-line no-console
      }
    }
  }

  function applySettings(s) {
    S.settings = {
      tags: (s.tags || []).slice().sort((a, b) => a.localeCompare(b)),
      sentiments: s.sentiments && s.sentiments.length ? s.sentiments : S.settings.sentiments,
      departments: s.departments || [],
      templates: s.templates || [],
      canned_replies: s.canned_replies || [],
    };
    const tag = $('#f-tag');
    tag.replaceChildren(el('option', { value: '', text: 'Any tag' }), ...S.settings.tags.map((t) => el('option', { value: t, text: t })));
    const canned = $('#canned');
    canned.replaceChildren(el('option', { value: '', text: 'Canned replies…' }),
      ...S.settings.canned_replies.map((c, i) => el('option', { value: String(i), text: c.shortcut + ' · ' + c.text })));
    canned.hidden = S.settings.canned_replies.length === 0;
  }

  function setAgents(items) {
    S.agents = new Map(items.map((a) => [a.id, a]));
    const others = items.filter((a) => !S.me || a.id !== S.me.id).map((a) => '@' + a.id);
    $('#comment-hint').textContent = others.length ? 'Mention: ' + others.slice(0, 6).join(' ') + (others.length > 6 ? ' …' : '') : '';
  }

  // ---------- me and presence ----------
  function renderMe() {
    const me = S.me;
    if (!me) return;
    $('#me-name').textContent = me.name || me.id;
    $('#me-name').title = me.id + ' · ' + me.role + (me.departments && me.departments.length ? ' · ' + me.departments.join(', ') : '');
    $('#presence').value = me.presence || 'offline';
    const acc = $('#accepting');
    acc.checked = !!me.accepting && me.presence === 'online';
    acc.disabled = me.presence !== 'online';
    $('#presence-dot').className = 'presence-dot ' + (me.presence === 'online' ? (me.accepting ? 'on' : 'busy') : me.presence === 'away' ? 'away' : 'off');
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

  function restorePresence() {
    if (isSup() || S.me.presence !== 'offline') return;
    let want = null;
    try { want = JSON.parse(localStorage.getItem(presenceKey()) || 'null'); } catch (e) { /* nothing kept */ }
    if (want && (want.presence === 'online' || want.presence === 'away')) setPresence(want.presence, want.accepting);
  }

  async function setPresence(presence, accepting) {
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

  async function refreshMe() {
    try {
      const me = await api('GET', '/me');
      S.me = me;
      S.csrf = me.csrf_token || S.csrf;
      renderMe();
    } catch (e) {
      fail(e);
    }
  }

  // ---------- alerts ----------
  // Sound alerts are on unless the user turned them off with the bell
  // beside Live; a browser notification goes too while the tab is hidden,
  // if the browser allows it.
  function alertsOn() {
    try { return localStorage.getItem('parley.alerts') !== '0'; } catch (e) { return true; }
  }

  function renderAlerts() {
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
  function unlockAudio() {
    try {
      S.audio = S.audio || new (window.AudioContext || window.webkitAudioContext)();
      if (S.audio.state === 'suspended') S.audio.resume().catch(() => {});
    } catch (e) { /* no sound on this browser */ }
  }

  async function toggleAlerts() {
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

  function alertNewChat(id, c) {
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

  // ---------- tabs, filters, lists ----------
  function setTab(tab, force) {
    if (!(isSup() ? SUP_TABS : TABS).includes(tab)) tab = 'live';
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

  function readFilters() {
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

  function toggleFilters() {
    const open = $('#f-more').hidden;
    show($('#f-more'), open);
    $('#f-toggle').setAttribute('aria-expanded', open ? 'true' : 'false');
  }

  function clearFilters() {
    $('#f-q').value = '';
    $('#f-channel').value = '';
    $('#f-tag').value = '';
    $('#f-from').value = '';
    $('#f-to').value = '';
    $('#f-mine').checked = false;
    readFilters();
    loadList(false);
  }

  function listQuery(offset, limit, path) {
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
  async function loadList(more) {
    if (isSup()) return loadSupList(more);
    const seq = ++S.listSeq;
    const tab = S.tab;
    const offset = more ? S.next : 0;
    const limit = more ? PAGE : Math.min(100, Math.max(PAGE, S.items.length));
    try {
      const page = await api('GET', listQuery(offset, limit));
      if (seq !== S.listSeq || tab !== S.tab) return;
      const items = page.items || [];
      S.items = more ? S.items.concat(items) : items;
      S.total = page.total || 0;
      S.next = page.next || 0;
      noticeArrivals(tab, items);
      followTab();
      renderList();
    } catch (e) {
      if (seq === S.listSeq) fail(e);
    }
  }

  // followTab closes the open conversation when the tab just picked does
  // not list it.
  function followTab() {
    if (!S.followTab) return;
    S.followTab = false;
    if (S.openId && !S.items.some((c) => c.id === S.openId)) closeConversation();
  }

  // noticeArrivals marks live chats and unassigned tickets that were not
  // in the list before: new chats turn green, new tickets flash once.
  function noticeArrivals(tab, items) {
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

  function renderList() {
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

  // ---------- supervisor desk: lists grouped by agent ----------
  // loadSupList loads the tab's groups (conversations per agent) and the
  // list: everyone's, or the picked agent's, filtered here by assignee.
  async function loadSupList(more) {
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
        items = more ? S.items.concat(page.items || []) : (page.items || []);
        total = page.total || 0;
        next = page.next || 0;
      } else {
        if (more) S.groupWant += PAGE;
        items = [];
        let offset = 0;
        for (let pages = 0; ; pages++) {
          const page = await api('GET', listQuery(offset, 100));
          if (seq !== S.listSeq) return;
          items.push(...(page.items || []).filter((c) => (c.assignee || '') === agent));
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
    await Promise.all(SUP_TABS.map(async (t) => {
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

  function groupLabel(agent) {
    if (agent === ALL) return 'Everyone';
    if (agent === '') return 'No agent yet';
    const a = S.agents.get(agent);
    return a && a.name ? a.name : agent;
  }

  function renderGroups() {
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
      else if (g.agent === '') sub = S.tab === 'unassigned' ? 'waiting for an agent to accept' : 'waiting for an agent';
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
  function renderSummary() {
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

  function card(c) {
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
  function moveInList(ev) {
    const cards = $$('#list .card');
    const i = cards.indexOf(document.activeElement);
    if (i < 0 || ev.altKey || ev.ctrlKey || ev.metaKey) return;
    const to = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: cards.length - 1 }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    cards[Math.max(0, Math.min(cards.length - 1, to))].focus();
  }

  function renderCounts() {
    for (const t of TABS) {
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

  function renderFreshMarkers() {
    const liveTab = $('.tab[data-tab="live"]');
    liveTab.classList.toggle('has-fresh', S.fresh.size > 0);
    const n = S.fresh.size + S.unread;
    document.title = (n ? '(' + n + ') ' : '') + 'Parley desk';
  }

  async function refreshCounts() {
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

  function renderQuick() {
    const n = S.counts.unassigned || 0;
    for (const b of $$('.quick-n')) {
      const want = Number(b.dataset.n);
      b.disabled = n < want;
      b.title = n < want ? 'Fewer than ' + want + ' tickets are waiting' : 'Accept the ' + want + ' oldest tickets';
    }
    $('#quick-go').disabled = n === 0;
    $('#quick-custom').max = String(Math.max(1, Math.min(100, n)));
  }

  async function quickAccept(n) {
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

  async function acceptTicket(id) {
    try {
      await api('POST', convPath(id, 'accept'));
      toast('Ticket accepted. It is in Assigned.', 'ok');
      if (id === S.openId) await loadDetail();
    } catch (e) {
      fail(e);
    }
    refreshSoon({ list: true, counts: true });
  }

  // ---------- refreshes ----------
  const pending = { list: false, counts: false, detail: false };
  let refreshTimer = null;
  function refreshSoon(what) {
    pending.list = pending.list || !!what.list;
    pending.counts = pending.counts || !!what.counts;
    pending.detail = pending.detail || !!what.detail;
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => {
      refreshTimer = null;
      const w = Object.assign({}, pending);
      pending.list = pending.counts = pending.detail = false;
      if (!S.me) return;
      if (w.list) loadList(false);
      if (w.counts) refreshCounts();
      if (w.detail && S.openId) loadDetail();
    }, 150);
  }

  function refreshAll() {
    refreshMe();
    refreshSoon({ list: true, counts: true, detail: true });
  }

  // ---------- live events ----------
  let connTimer = null;
  function setConnected(ok) {
    clearTimeout(connTimer);
    if (ok) {
      show($('#conn'), false);
      document.body.dataset.live = 'connected';
    } else {
      document.body.dataset.live = 'reconnecting';
      // A short gap is normal (the stream is renewed); say so only if it lasts.
      connTimer = setTimeout(() => show($('#conn'), true), 4000);
    }
  }

  function connectEvents() {
    if (S.es) S.es.close();
    const es = new EventSource(API + '/events');
    S.es = es;
    es.onopen = () => {
      if (S.es !== es) return;
      setConnected(true);
      if (S.esDropped) {
        S.esDropped = false;
        refreshAll(); // events may have been missed while away
      }
    };
    es.onerror = () => {
      if (S.es !== es) return;
      S.esDropped = true;
      setConnected(false);
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (an error answer): check the session, then retry.
        setTimeout(async () => {
          if (S.es !== es || !S.me) return;
          try {
            await api('GET', '/me');
            connectEvents();
          } catch (e) { /* signed out, or the next try will tell */ }
        }, 3000);
      }
    };
    for (const type of EVENT_TYPES) {
      es.addEventListener(type, (ev) => {
        let e;
        try { e = JSON.parse(ev.data); } catch (err) { return; }
        onEvent(type, e);
      });
    }
  }

  // newChat confirms a chat given to me (the event names it; the API must
  // show it) before it turns green and the alert sounds.
  async function newChat(id) {
    try {
      const d = await api('GET', convPath(id));
      const c = d.conversation;
      if (!S.me || c.assignee !== S.me.id || c.state !== 'live' || id === S.openId || S.fresh.has(id)) return;
      S.fresh.add(id);
      if (S.knownLive) S.knownLive.add(id);
      alertNewChat(id, c);
      renderFreshMarkers();
      if (S.tab === 'live') {
        const li = $('#list .card[data-id="' + CSS.escape(id) + '"]');
        if (li) li.classList.add('fresh');
      }
    } catch (e) { /* not visible to me: nothing to announce */ }
  }

  function onEvent(type, e) {
    if (!S.me) return;
    const id = e.conversation_id;
    const isOpen = id && id === S.openId;
    switch (type) {
      case 'viewing':
        if (isOpen && e.agent && e.agent !== S.me.id) {
          S.viewers.set(e.agent, { typing: !!e.typing, until: Date.now() + VIEWER_TTL });
          renderViewers();
        }
        return;
      case 'agent.changed':
        if (e.agent === S.me.id) refreshMe();
        if (isSup()) refreshSoon({ list: true });
        return;
      case 'message.status':
        // The event carries the new status: the line changes in place.
        if (isOpen && !applyStatus(e)) refreshSoon({ detail: true });
        return;
      case 'message.in':
      case 'message.out':
      case 'message.note':
        if (type === 'message.in' && id && !isOpen && e.assignee === S.me.id) S.dots.add(id);
        // A message changes no tab's count. The open conversation is read
        // again and its card updated from it; another's card needs the list.
        if (isOpen) refreshSoon({ detail: true });
        else refreshSoon({ list: true });
        return;
      case 'conversation.assigned':
        if (e.assignee === S.me.id && e.kind === 'chat' && e.state === 'live' && !isOpen && !S.fresh.has(id)) {
          newChat(id);
        } else if (isSup() && e.kind === 'chat' && e.state === 'live' && !e.was) {
          alertNewChat(id, { assignee: e.assignee }); // supervisors hear new chats too
        }
        break;
      case 'conversation.closed':
        S.fresh.delete(id);
        break;
      case 'comment':
        if ((e.mentions || []).includes(S.me.id) && e.agent !== S.me.id) S.mentionFrom = e.agent;
        break;
      default:
        break;
    }
    refreshSoon({ list: true, counts: true, detail: isOpen });
  }

  // applyStatus shows a delivery status an event carries on the open
  // conversation's message; false when the message is not shown, or the
  // status needs its error code (read with the conversation).
  function applyStatus(e) {
    const m = S.detail && (S.detail.history || []).find((x) => x.id === e.message_id);
    const li = m && $('#messages .msg[data-id="' + CSS.escape(e.message_id) + '"]');
    if (!li || !e.status || e.status === 'failed' || e.status === 'undelivered') return false;
    m.status = e.status;
    const old = li.querySelector('.msg-status');
    if (old) old.replaceWith(statusLine(m));
    return true;
  }

  // syncCard puts what the open conversation now says on its card (the
  // preview, the times, the chips) without reading the list again.
  function syncCard(c) {
    const i = S.items.findIndex((x) => x.id === c.id);
    if (i < 0) return;
    S.items[i] = Object.assign({}, S.items[i], c);
    if (S.tab === 'live' && S.filters.sort === 'activity') {
      const key = (x) => x.last_customer_at || x.created_at || '';
      S.items.sort((a, b) => (key(a) < key(b) ? 1 : key(a) > key(b) ? -1 : 0));
    }
    renderList();
  }

  // ---------- panes at phone width ----------
  // At phone width one pane shows at a time: list, conv or details (the
  // CSS reads body[data-pane]); on a wide screen all three show.
  function setPane(pane) { document.body.dataset.pane = pane; }

  // ---------- conversation ----------
  function renderEmptyConversation() {
    show($('#conv'), false);
    const sup = isSup();
    show($('#empty'), !sup);
    show($('#summary'), sup);
    if (sup) renderSummary();
    show($('#details'), false);
    show($('#details-empty'), true);
    S.viewers.clear();
  }

  async function openConversation(id) {
    if (!id) return;
    S.followTab = false; // opened on purpose: it stays, whatever the tab lists
    if (S.view !== 'desk') setView('desk');
    if (S.openId !== id) {
      if (S.openId) {
        const draft = $('#reply').value;
        if (draft.trim()) S.drafts.set(S.openId, draft);
        else S.drafts.delete(S.openId);
      }
      S.viewers.clear();
      S.tplKey = '';
      $('#reply').value = S.drafts.get(id) || '';
      $('#comment').value = '';
      $('#messages').replaceChildren();
      S.detail = null;
    }
    S.openId = id;
    S.fresh.delete(id);
    S.dots.delete(id);
    for (const li of $$('#list .card')) {
      const on = li.dataset.id === id;
      li.classList.toggle('active', on);
      if (on) {
        li.classList.remove('fresh');
        const d = li.querySelector('.dot-new');
        if (d) d.remove();
      }
    }
    renderFreshMarkers();
    show($('#summary'), false);
    setPane('conv');
    history.replaceState(null, '', '#c=' + encodeURIComponent(id));
    await loadDetail(true);
    startViewing();
  }

  function closeConversation() {
    S.openId = null;
    S.detail = null;
    clearInterval(S.viewTimer);
    history.replaceState(null, '', location.pathname);
    renderEmptyConversation();
    setPane('list');
    for (const li of $$('#list .card.active')) li.classList.remove('active');
  }

  // loadDetail reads the open conversation again; quiet leaves a 404 (one
  // the user just handed on) without an error message.
  async function loadDetail(first, quiet) {
    const seq = ++S.detailSeq;
    const id = S.openId;
    if (!id) return;
    try {
      const d = await api('GET', convPath(id));
      if (seq !== S.detailSeq || id !== S.openId) return;
      const prevId = S.detail && S.detail.conversation.id;
      S.detail = d;
      const until = Date.now() + VIEWER_TTL;
      for (const v of d.viewers || []) {
        if (v.agent !== S.me.id) S.viewers.set(v.agent, { typing: !!v.typing, until });
      }
      renderDetail(first || prevId !== id);
      syncCard(d.conversation);
    } catch (e) {
      if (seq !== S.detailSeq) return;
      if (e.status === 404) {
        closeConversation();
        if (!quiet) toast('That conversation is not available to you any more.');
      } else {
        fail(e);
      }
    }
  }

  function renderDetail(scrollToEnd) {
    const d = S.detail;
    const c = d.conversation;
    const addr = parseAddress(c.contact);
    show($('#empty'), false);
    show($('#summary'), false);
    show($('#conv'), true);
    show($('#details-empty'), false);
    show($('#details'), true);
    const name = c.contact_name || (d.contact && d.contact.name) || addr.number;
    $('#conv-name').textContent = name;
    $('#conv-avatar').textContent = initials(name);
    $('#conv-subject').textContent = c.subject ? 'Subject: ' + c.subject : '';
    show($('#conv-subject'), !!c.subject);
    $('#conv-sub').textContent = [channelName(c.channel), addr.number, stateLabel(c),
      c.assignee ? 'with ' + agentName(c.assignee) : '', c.rating ? 'rated ' + c.rating.score + ' of 5' : '',
      c.last_responder ? 'last reply by ' + agentName(c.last_responder) : ''].filter(Boolean).join(' · ');
    renderMessages(d.history || [], c, scrollToEnd);
    renderComposer();
    renderFacts();
    renderActions();
    renderViewers();
  }

  function renderMessages(history, conv, scrollToEnd) {
    const ol = $('#messages');
    const atEnd = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 60;
    const multi = new Set(history.map((m) => m.conversation_id)).size > 1;
    const out = [];
    let lastConv = null;
    for (const m of history) {
      if (multi && m.conversation_id !== lastConv) {
        out.push(el('li', { class: 'divider' }, el('span', {
          text: m.conversation_id === conv.id ? 'This conversation' : 'Earlier conversation',
        })));
      }
      lastConv = m.conversation_id;
      out.push(messageItem(m));
    }
    if (!history.length) out.push(el('li', { class: 'divider' }, el('span', { text: 'No messages yet' })));
    ol.replaceChildren(...out);
    if (scrollToEnd || atEnd) ol.scrollTop = ol.scrollHeight;
  }

  function messageItem(m) {
    const dir = ['in', 'out', 'system', 'note'].includes(m.direction) ? m.direction : 'system';
    const li = el('li', { class: 'msg msg-' + dir, dataset: { id: m.id || '' } });
    if (dir === 'system') {
      li.append(el('span', { class: 'msg-sys', text: m.body || '' }),
        el('time', { class: 'msg-time', datetime: m.at || '', title: fmtFull(m.at), text: fmtTime(m.at) }));
      return li;
    }
    let who;
    if (dir === 'in') who = (S.detail && (S.detail.conversation.contact_name || (S.detail.contact && S.detail.contact.name))) || 'Customer';
    else if (dir === 'note') who = 'Internal note · ' + agentName(m.author);
    else if ((m.author || '').startsWith('bot:')) {
      who = 'Bot ' + m.author.slice(4) + ' (automatic)'; // the bot's part, before a person took over
      li.classList.add('msg-bot');
    } else who = m.author === 'parley' ? 'Parley (automatic)' : agentName(m.author) || 'Agent';
    const body = el('div', { class: 'msg-body' });
    if (m.body) body.append(el('div', { class: 'msg-text' }, linkify(m.body)));
    if (m.template) body.append(templateBlock(m.template));
    if (m.button) body.append(el('div', { class: 'msg-extra', text: 'Tapped button: ' + (m.button.text || m.button.payload || '') }));
    for (const md of m.media || []) body.append(mediaBlock(md));
    if (m.location) body.append(locationBlock(m.location));
    li.append(el('div', { class: 'msg-head' },
      el('span', { class: 'msg-who', text: who }),
      el('time', { class: 'msg-time', datetime: m.at || '', title: fmtFull(m.at), text: fmtTime(m.at) })), body);
    if (dir === 'out') li.append(statusLine(m));
    return li;
  }

  function templateBlock(t) {
    const known = templateBySid(t.content_sid);
    return el('div', { class: 'msg-template' },
      el('div', { class: 'small muted', text: 'Template ' + (known ? known.name : t.content_sid) }),
      known ? el('div', {}, fillTemplate(known.preview, t.variables || {}, false))
        : el('div', { text: Object.entries(t.variables || {}).map(([k, v]) => '{{' + k + '}} = ' + v).join(', ') }));
  }

  function mediaBlock(md) {
    const href = safeHref(md.url);
    const label = 'Attachment' + (md.content_type ? ' (' + md.content_type + ')' : '');
    if (!href) return el('div', { class: 'msg-extra', text: label + ': ' + (md.url || '') });
    return el('div', { class: 'msg-extra' }, el('span', { class: 'extra-kind', text: 'File' }),
      el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: label }));
  }

  function locationBlock(loc) {
    const lat = Number(loc.latitude);
    const lon = Number(loc.longitude);
    const name = [loc.label, loc.address].filter(Boolean).join(', ') || 'Shared location';
    if (!Number.isFinite(lat) || !Number.isFinite(lon)) return el('div', { class: 'msg-extra', text: 'Location: ' + name });
    const href = 'https://www.openstreetmap.org/?mlat=' + lat + '&mlon=' + lon + '#map=16/' + lat + '/' + lon;
    return el('div', { class: 'msg-extra' }, el('span', { class: 'extra-kind', text: 'Map' }),
      el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: name }),
      el('span', { class: 'muted small', text: ' ' + lat.toFixed(5) + ', ' + lon.toFixed(5) }));
  }

  function statusLine(m) {
    const s = m.status || 'queued';
    const labels = {
      queued: '◷ Queued', sending: '◷ Sending', sent: '✓ Sent', delivered: '✓✓ Delivered', read: '✓✓ Read',
      undelivered: '⚠ Not delivered', failed: '⚠ Failed',
    };
    let text = labels[s] || s;
    if ((s === 'failed' || s === 'undelivered') && (m.error_code || m.error)) {
      // The reason in words first; the code stays for whoever looks it up.
      text += ' · ' + (m.error_reason || m.error || '') + (m.error_code ? ' (' + m.error_code + ')' : '');
    }
    return el('div', { class: 'msg-status st-' + s, title: m.sid ? 'Twilio ' + m.sid : '', text });
  }

  // ---------- composer ----------
  // composerMode says what the middle pane offers below the history.
  function composerMode() {
    const d = S.detail;
    const c = d.conversation;
    const mine = S.me && c.assignee === S.me.id;
    const template = c.channel === 'whatsapp' && d.window_open === false;
    if (c.kind === 'chat' && (c.state === 'live' || c.state === 'pending')) {
      if (mine) return { kind: template ? 'template' : 'text', action: 'reply' };
      if (isSup()) {
        return {
          kind: 'readonly', sup: true,
          text: 'You are following this chat with ' + agentName(c.assignee) + ' as it happens. Supervisors comment instead of writing to the customer: '
            + 'add a comment on the right, and write @' + c.assignee + ' to notify ' + agentName(c.assignee) + '.',
        };
      }
      return { kind: 'readonly', text: 'This chat is with ' + agentName(c.assignee) + '. Only the assigned agent writes to the customer; add a comment instead.' };
    }
    if (canReachOut(c)) {
      if (!S.reaching.has(c.id)) {
        const via = channelName(c.channel);
        return {
          kind: 'start', action: 'reach-out-start', button: 'Reach out',
          text: 'This ' + (c.kind === 'ticket' ? 'ticket' : 'chat') + ' is closed. Reach out to the customer on ' + via
            + ': your message starts a new closed chat, and their answer makes it live.'
            + (template ? ' They last wrote more than 24 hours ago, so only an approved template can go.' : ''),
        };
      }
      return { kind: template ? 'template' : 'text', action: 'reach-out' };
    }
    if (c.kind === 'ticket' && c.state === 'assigned') {
      if (!mine) return { kind: 'readonly', text: 'This ticket is assigned to ' + agentName(c.assignee) + '.' };
      if (!c.agent_replied && !S.started.has(c.id)) {
        const text = c.subject ? 'This ticket was made from a closed chat, about "' + c.subject + '". Write to the customer to start a chat on it.'
          : 'The customer left this message for the team. Answer them to start a chat on this ticket.';
        return { kind: 'start', action: 'start', text, button: 'Start chat' };
      }
      return { kind: template ? 'template' : 'text', action: 'reply' };
    }
    if (c.kind === 'ticket' && c.state === 'unassigned') {
      return { kind: 'readonly', text: 'Accept this ticket to answer the customer.' };
    }
    if (c.kind === 'chat' && c.state === 'closed' && !c.merged_into) {
      // Only the chat's last agent reopens it (the server says the same).
      if (!mine) return { kind: 'readonly', text: 'This chat was with ' + agentName(c.assignee) + ': only they can reopen it.' };
      if (!S.reopening.has(c.id)) {
        return { kind: 'start', action: 'reopen-start', text: 'This chat is closed. Reopen it with a first message to the customer.', button: 'Reopen chat' };
      }
      return { kind: template ? 'template' : 'text', action: 'reopen' };
    }
    if (c.state === 'queued') return { kind: 'readonly', text: 'This chat is waiting in the queue for an agent.' };
    if (c.merged_into) return { kind: 'readonly', text: 'This chat continues in another conversation (' + c.merged_into + ').' };
    return { kind: 'readonly', text: c.kind === 'ticket' ? 'This ticket is ' + c.state + '.' : 'This chat is ' + c.state + '.' };
  }

  // canReachOut says whether the user may write to the contact of a closed
  // conversation again: a supervisor always, an agent from a closed ticket
  // they held (closed chats of their own are reopened instead).
  function canReachOut(c) {
    if ((c.state !== 'closed' && c.state !== 'archived') || c.merged_into || c.deleted_at) return false;
    if (isSup()) return true;
    return c.kind === 'ticket' && !!S.me && c.assignee === S.me.id;
  }

  function renderComposer() {
    const mode = composerMode();
    S.mode = mode;
    $('#c-readonly').classList.toggle('sup-notice', !!mode.sup);
    show($('#c-start'), mode.kind === 'start');
    show($('#c-text'), mode.kind === 'text');
    show($('#c-template'), mode.kind === 'template');
    show($('#c-readonly'), mode.kind === 'readonly');
    if (mode.kind === 'start') {
      $('#c-start-text').textContent = mode.text;
      $('#c-start-btn').textContent = mode.button;
    }
    if (mode.kind === 'readonly') $('#c-readonly').textContent = mode.text;
    if (mode.kind === 'text') {
      const reopen = mode.action === 'reopen';
      const reach = mode.action === 'reach-out';
      $('#c-mode').textContent = reopen ? 'First message: sending it reopens the chat with you.'
        : reach ? 'Reach out: this message starts a new closed chat; the customer\'s answer makes it live.'
          : S.detail.conversation.kind === 'ticket' ? 'Reply on this ticket' : '';
      show($('#c-mode'), !!$('#c-mode').textContent);
      $('#send').textContent = reopen ? 'Reopen and send' : reach ? 'Reach out' : 'Send';
      show($('#c-cancel'), reopen || reach);
    }
    if (mode.kind === 'template') {
      renderTemplatePicker();
      $('#tpl-send').textContent = mode.action === 'reopen' ? 'Reopen with template' : 'Send template';
      show($('#tpl-cancel'), mode.action === 'reopen' || mode.action === 'reach-out');
    }
    updateCannedHint();
  }

  function startClicked() {
    const c = S.detail && S.detail.conversation;
    if (!c) return;
    if (S.mode.action === 'start') S.started.add(c.id);
    if (S.mode.action === 'reopen-start') S.reopening.add(c.id);
    if (S.mode.action === 'reach-out-start') S.reaching.add(c.id);
    renderComposer();
    renderActions();
    const focus = S.mode.kind === 'template' ? $('#tpl') : $('#reply');
    focus.focus();
  }

  function cancelReopen() {
    const c = S.detail && S.detail.conversation;
    if (c) {
      S.reopening.delete(c.id);
      S.reaching.delete(c.id);
    }
    renderComposer();
    renderActions();
  }

  let sending = false;
  async function sendText() {
    const box = $('#reply');
    const text = box.value.trim();
    const media = S.pendingMedia ? S.pendingMedia(S.openId) : []; // attachment ids (agent-extras.js); null: still uploading
    if (!media || (!text && !media.length) || sending || !S.openId || !S.mode) return;
    const reply = media.length ? { body: text, media } : { body: text };
    const id = S.openId;
    const reopen = S.mode.action === 'reopen';
    sending = true;
    $('#send').disabled = true;
    try {
      if (S.mode.action === 'reach-out') {
        const conv = await api('POST', convPath(id, 'reach-out'), reply);
        if (S.openId === id) box.value = '';
        S.drafts.delete(id);
        document.dispatchEvent(new CustomEvent('parley:sent', { detail: { id } }));
        reachedOut(id, conv);
        return;
      }
      if (reopen) {
        await api('POST', convPath(id, 'reopen'), reply);
        S.reopening.delete(id);
        toast('Chat reopened. It is in your Live list.', 'ok');
      } else {
        await api('POST', convPath(id, 'messages'), reply);
      }
      if (S.openId === id) box.value = '';
      S.drafts.delete(id);
      document.dispatchEvent(new CustomEvent('parley:sent', { detail: { id } }));
      noteTyping();
      await loadDetail(true);
      refreshSoon({ list: true, counts: true });
    } catch (e) {
      fail(e);
      if (e.code === 'template_required' || e.code === 'wrong_state') loadDetail();
    } finally {
      sending = false;
      $('#send').disabled = false;
    }
  }

  // reachedOut opens the new closed chat a reach-out started.
  function reachedOut(fromId, conv) {
    S.reaching.delete(fromId);
    toast('Sent. A new closed chat holds it, in Closed; the customer\'s answer makes it live.', 'ok');
    refreshSoon({ list: true, counts: true });
    if (conv && conv.id) openConversation(conv.id);
  }

  function cannedToken() {
    const box = $('#reply');
    const upto = box.value.slice(0, box.selectionStart);
    const m = upto.match(/(^|\s)(\/[\w.-]*)$/);
    return m ? { token: m[2], start: upto.length - m[2].length, end: box.selectionStart } : null;
  }

  function cannedMatches(token) {
    const t = token.toLowerCase();
    return S.settings.canned_replies.filter((c) => c.shortcut.toLowerCase().startsWith(t));
  }

  function insertAt(start, end, text) {
    const box = $('#reply');
    box.value = box.value.slice(0, start) + text + box.value.slice(end);
    const caret = start + text.length;
    box.setSelectionRange(caret, caret);
    box.dispatchEvent(new Event('input'));
  }

  // expandCanned replaces a /shortcut before the caret with its text.
  function expandCanned() {
    const tok = cannedToken();
    if (!tok || tok.token.length < 2) return false;
    const exact = S.settings.canned_replies.find((c) => c.shortcut.toLowerCase() === tok.token.toLowerCase());
    const all = cannedMatches(tok.token);
    const pick = exact || (all.length === 1 ? all[0] : null);
    if (!pick) return false;
    insertAt(tok.start, tok.end, pick.text);
    return true;
  }

  function updateCannedHint() {
    const hint = $('#canned-hint');
    const tok = $('#c-text').hidden ? null : cannedToken();
    const list = tok && tok.token.length >= 1 ? cannedMatches(tok.token) : [];
    if (!list.length) {
      show(hint, false);
      return;
    }
    hint.replaceChildren(el('span', { class: 'muted', text: 'Tab inserts ' }),
      ...list.slice(0, 4).map((c) => el('button', {
        type: 'button', class: 'canned-pick', title: c.text,
        onmousedown: (ev) => ev.preventDefault(),
        onclick: () => {
          const t = cannedToken();
          if (t) insertAt(t.start, t.end, c.text);
          $('#reply').focus();
        },
      }, el('b', { text: c.shortcut }), ' ' + (c.text.length > 48 ? c.text.slice(0, 47) + '…' : c.text))));
    show(hint, true);
  }

  function pickCanned(ev) {
    const i = ev.target.value;
    ev.target.value = '';
    const c = S.settings.canned_replies[Number(i)];
    if (!c) return;
    const box = $('#reply');
    insertAt(box.selectionStart, box.selectionEnd, c.text);
    box.focus();
  }

  // ---------- template picker ----------
  function renderTemplatePicker() {
    const sel = $('#tpl');
    const tpls = S.settings.templates.filter((t) => t.sendable !== false); // pending or rejected in WhatsApp: not offered
    const key = S.openId + '|' + tpls.map((t) => t.content_sid).join(',');
    if (S.tplKey === key) return; // keep what the agent typed
    S.tplKey = key;
    sel.replaceChildren(...tpls.map((t) => el('option', { value: t.content_sid, text: t.name })));
    $('#tpl-send').disabled = tpls.length === 0;
    if (!tpls.length) {
      $('#tpl-vars').replaceChildren(el('p', { class: 'muted', text: 'No approved templates are configured. Ask an administrator to add one.' }));
      $('#tpl-preview').replaceChildren();
      return;
    }
    renderTemplateVars();
  }

  function currentTemplate() { return templateBySid($('#tpl').value); }

  function renderTemplateVars() {
    const t = currentTemplate();
    const box = $('#tpl-vars');
    box.replaceChildren();
    if (!t) return;
    for (const v of t.variables || []) {
      const input = el('input', { type: 'text', class: 'tpl-var', dataset: { var: v }, 'aria-label': 'Value for {{' + v + '}}' });
      input.addEventListener('input', renderTemplatePreview);
      input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); sendTemplate(); }
      });
      box.append(el('label', { class: 'tpl-var-label' }, el('span', { text: '{{' + v + '}}' }), input));
    }
    renderTemplatePreview();
  }

  function templateValues() {
    const vars = {};
    for (const input of $$('#tpl-vars .tpl-var')) vars[input.dataset.var] = input.value.trim();
    return vars;
  }

  function renderTemplatePreview() {
    const t = currentTemplate();
    $('#tpl-preview').replaceChildren(t ? fillTemplate(t.preview, templateValues(), true) : '');
  }

  async function sendTemplate() {
    const t = currentTemplate();
    if (!t || sending || !S.openId || !S.mode) return;
    const vars = templateValues();
    const missing = Object.entries(vars).filter(([, v]) => !v).map(([k]) => '{{' + k + '}}');
    if (missing.length) {
      toast('Fill in ' + missing.join(', ') + ' before sending the template.');
      return;
    }
    const id = S.openId;
    const reopen = S.mode.action === 'reopen';
    const body = { template: { content_sid: t.content_sid, variables: vars } };
    sending = true;
    $('#tpl-send').disabled = true;
    try {
      if (S.mode.action === 'reach-out') {
        const conv = await api('POST', convPath(id, 'reach-out'), body);
        S.tplKey = '';
        reachedOut(id, conv);
        return;
      }
      if (reopen) {
        await api('POST', convPath(id, 'reopen'), body);
        S.reopening.delete(id);
        toast('Chat reopened with a template.', 'ok');
      } else {
        await api('POST', convPath(id, 'messages'), body);
        toast('Template sent.', 'ok');
      }
      S.tplKey = '';
      await loadDetail(true);
      refreshSoon({ list: true, counts: true });
    } catch (e) {
      fail(e);
    } finally {
      sending = false;
      $('#tpl-send').disabled = false;
    }
  }

  // ---------- details and actions ----------
  function renderFacts() {
    const d = S.detail;
    const c = d.conversation;
    const addr = parseAddress(c.contact);
    const rows = [
      ['Customer', c.contact_name || (d.contact && d.contact.name) || '—'],
      ['Number', addr.number],
      ['Channel', channelName(c.channel)],
      ['Status', stateLabel(c) + (c.flagged ? ' · flagged' : '')],
      ['Department', (S.settings.departments.find((x) => x.id === c.department) || {}).name || c.department],
      ['Agent', c.assignee ? agentName(c.assignee) : '—'],
      ['Started', fmtFull(c.created_at)],
      ['Customer wrote', fmtFull(c.last_customer_at) || '—'],
    ];
    if (c.channel === 'whatsapp') rows.push(['24-hour window', d.window_open ? 'Open: free text allowed' : 'Closed: templates only']);
    if (d.contact && d.contact.opted_out) rows.push(['Opted out', 'Yes: nothing can be sent']);
    if (c.session) rows.push(['Message session', { asking: 'Asked YES/NO', collecting: 'Collecting messages', ended: 'Ended' }[c.session] || c.session]);
    if (c.mentions && c.mentions.length) rows.push(['Mentioned', c.mentions.map(agentName).join(', ')]);
    if (c.subject) rows.push(['Subject', c.subject]);
    if (c.rating) {
      const n = Math.max(0, Math.min(5, Number(c.rating.score) || 0));
      rows.push(['Survey rating', '★'.repeat(n) + '☆'.repeat(5 - n) + ' ' + n + ' of 5' + (c.rating.comment ? ': ' + c.rating.comment : '')]);
    }
    $('#facts').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: v })]));

    const cl = c.closed;
    show($('#closure-box'), !!cl);
    if (cl) {
      const crow = [
        ['By', cl.by === 'customer' ? 'the customer' : cl.by === 'system' ? 'Parley' : agentName(cl.by)],
        ['Reason', cl.reason],
        ['When', fmtFull(cl.at)],
      ];
      if (cl.sentiment) crow.push(['Sentiment', cl.sentiment]);
      if (cl.tag) crow.push(['Tag', cl.tag]);
      if (cl.notes) crow.push(['Notes', cl.notes]);
      if (cl.refs && cl.refs.length) crow.push(['References', cl.refs.join('\n')]);
      $('#closure').replaceChildren(...crow.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { class: 'pre', text: v || '—' })]));
    }
  }

  function actionButton(label, cls, onclick, title) {
    return el('button', { type: 'button', class: cls || '', title: title || null, dataset: { action: label }, onclick, text: label });
  }

  function renderActions() {
    const c = S.detail.conversation;
    const mine = S.me && c.assignee === S.me.id;
    const sup = S.me && (S.me.role === 'supervisor' || S.me.role === 'admin');
    const acts = [];
    if (c.kind === 'ticket' && c.state === 'unassigned' && !sup) {
      acts.push(actionButton('Accept ticket', 'primary', () => acceptTicket(c.id)));
    }
    if (c.kind === 'ticket' && c.state === 'assigned' && mine && !c.agent_replied && !S.started.has(c.id)) {
      acts.push(actionButton('Start chat', 'primary', startClicked, 'Answer the customer from this ticket'));
    }
    if (c.kind === 'chat' && (c.state === 'live' || c.state === 'pending') && mine) {
      acts.push(actionButton(c.flagged ? 'Unflag' : 'Flag', '', () => act('flag', { flagged: !c.flagged },
        c.flagged ? 'Flag removed.' : 'Flagged: this chat will not time out or move to another agent.'),
      c.flagged ? 'Let timers run on this chat again' : 'Keep this chat with you: no inactivity close, no re-routing'));
      if (c.state === 'live') {
        acts.push(actionButton('Mark pending', '', () => act('pending', undefined, 'Marked pending: it waits for the customer.'),
          'Waiting on the customer: frees a slot for a new chat'));
      }
      acts.push(actionButton('Close chat', 'danger', () => openCloseDialog(c)));
    }
    if (c.kind === 'ticket' && c.state === 'assigned' && mine) {
      acts.push(actionButton('Close ticket', 'danger', () => openCloseDialog(c),
        c.agent_replied ? 'Close this ticket' : 'Reply to the customer first'));
      if (!c.agent_replied) acts[acts.length - 1].disabled = true;
    }
    if (c.kind === 'chat' && (c.state === 'live' || c.state === 'queued') && (mine || sup)) {
      acts.push(actionButton('Transfer', sup && !mine ? 'primary' : '', () => openTransferDialog(c),
        sup ? 'Assign this chat to a department or an agent who is available now' : 'Hand this chat to a department or an agent'));
    }
    if (c.kind === 'chat' && c.state === 'closed' && !c.merged_into && !S.reopening.has(c.id) && !sup) {
      acts.push(actionButton('Reopen chat', 'primary', startClicked, 'Start the chat again with a first message'));
    }
    if (canReachOut(c) && !S.reaching.has(c.id)) {
      acts.push(actionButton('Reach out', sup ? 'primary' : '', startClicked,
        'Write to the customer again: a text, or a template outside WhatsApp\'s 24-hour window'));
    }
    const box = $('#actions');
    if (!acts.length) acts.push(el('p', { class: 'muted small', text: 'Nothing to do here for you.' }));
    const tr = API + convPath(c.id, 'transcript');
    box.replaceChildren(...acts, el('div', { class: 'downloads small' }, 'Transcript: ',
      el('a', { href: tr + '?format=text', download: '' , text: 'text' }), ' · ',
      el('a', { href: tr + '?format=json', download: '', text: 'JSON' })));
    document.dispatchEvent(new CustomEvent('parley:actions', { detail: { conversation: c, box } })); // agent-extras.js adds its actions
  }

  async function act(action, body, okText) {
    const id = S.openId;
    if (!id) return;
    try {
      await api('POST', convPath(id, action), body);
      if (okText) toast(okText, 'ok');
    } catch (e) {
      fail(e);
    }
    if (S.openId === id) await loadDetail();
    refreshSoon({ list: true, counts: true });
  }

  // ---------- close dialog ----------
  function openCloseDialog(c) {
    const dlg = $('#close-dialog');
    const ticket = c.kind === 'ticket';
    $('#close-title').textContent = ticket ? 'Close ticket' : 'Close chat';
    $('#close-submit').textContent = ticket ? 'Close ticket' : 'Close chat';
    $('#close-sentiments').replaceChildren(...S.settings.sentiments.map((s) => el('label', { class: 'radio s-' + s },
      el('input', { type: 'radio', name: 'sentiment', value: s, checked: ticket && s === 'neutral' }),
      ' ' + s.charAt(0).toUpperCase() + s.slice(1))));
    $('#close-tag').replaceChildren(el('option', { value: '', text: 'No tag' }),
      ...S.settings.tags.map((t) => el('option', { value: t, text: t })));
    $('#close-notes').value = '';
    $('#close-refs').value = '';
    show($('#close-error'), false);
    dlg.dataset.id = c.id;
    dlg.showModal();
  }

  async function submitClose(ev) {
    ev.preventDefault();
    const dlg = $('#close-dialog');
    const id = dlg.dataset.id;
    const picked = $('#close-form input[name="sentiment"]:checked');
    const err = $('#close-error');
    if (!picked) {
      err.textContent = 'Pick how it went: positive, neutral or negative.';
      show(err, true);
      return;
    }
    const body = {
      sentiment: picked.value,
      tag: $('#close-tag').value,
      notes: $('#close-notes').value.trim(),
      refs: $('#close-refs').value.split('\n').map((s) => s.trim()).filter(Boolean),
    };
    const btn = $('#close-submit');
    btn.disabled = true;
    try {
      await api('POST', convPath(id, 'close'), body);
      dlg.close();
      toast(S.detail && S.detail.conversation.kind === 'ticket' ? 'Ticket closed.' : 'Chat closed.', 'ok');
      if (S.openId === id) await loadDetail();
      refreshSoon({ list: true, counts: true });
    } catch (e) {
      err.textContent = e.message + (e.code ? ' (' + e.code + ')' : '');
      show(err, true);
      fail(e);
    } finally {
      btn.disabled = false;
    }
  }

  // ---------- transfer dialog ----------
  // The dialog offers a department (its best available agent, or one of
  // its available agents) or any available agent. Who is available is read
  // when it opens and on Refresh; the server has the last word.
  const T = { agents: [], seq: 0 };

  async function openTransferDialog(c) {
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

  function renderTransferDeptAgents() {
    const dept = $('#transfer-dept').value;
    const inDept = T.agents.filter((a) => (a.departments || []).includes(dept));
    $('#transfer-dept-agent').replaceChildren(
      el('option', { value: '', text: inDept.length ? 'Whoever is best placed' : 'Nobody in it is available now' }),
      ...inDept.map(agentOption));
  }

  async function loadTransferAgents(first) {
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

  async function submitTransfer(ev) {
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

  // ---------- comments and mentions ----------
  async function submitComment(ev) {
    ev.preventDefault();
    const box = $('#comment');
    const body = box.value.trim();
    if (!body || !S.openId) return;
    const id = S.openId;
    const btn = $('#comment-send');
    btn.disabled = true;
    try {
      await api('POST', convPath(id, 'comments'), { body });
      if (S.openId === id) box.value = '';
      await loadDetail(true);
    } catch (e) {
      fail(e);
    } finally {
      btn.disabled = false;
    }
  }

  async function toggleBell(ev) {
    ev.stopPropagation();
    const menu = $('#bell-menu');
    const open = menu.hidden;
    show(menu, open);
    $('#bell').setAttribute('aria-expanded', open ? 'true' : 'false');
    if (!open) return;
    const list = $('#bell-list');
    list.replaceChildren(el('li', { class: 'muted small pad', text: 'Loading…' }));
    try {
      const r = await api('GET', '/notifications');
      const items = r.items || [];
      const unread = r.unread || 0;
      list.replaceChildren(...(items.length ? items.map((n, i) => el('li', {},
        el('button', {
          type: 'button', class: 'bell-item' + (i < unread ? ' unread' : ''),
          onclick: () => { show(menu, false); $('#bell').setAttribute('aria-expanded', 'false'); openConversation(n.conversation_id); },
        },
        el('span', { class: 'bell-who', text: agentName(n.by) + ' mentioned you' }),
        el('time', { class: 'muted small', datetime: n.at || '', text: fmtTime(n.at) }),
        el('span', { class: 'bell-text', text: n.text || '' }))))
        : [el('li', { class: 'muted small pad', text: 'No mentions yet. Colleagues reach you with @' + S.me.id + ' in a comment.' })]));
      if (unread > 0) {
        await api('POST', '/notifications/read');
        S.unread = 0;
        renderCounts();
      }
    } catch (e) {
      list.replaceChildren(el('li', { class: 'muted small pad', text: 'Could not load mentions.' }));
      fail(e);
    }
  }

  // ---------- collision detection ----------
  function isTyping() {
    const box = $('#reply');
    return document.activeElement === box && !$('#c-text').hidden && box.value.trim() !== '';
  }

  function startViewing() {
    clearInterval(S.viewTimer);
    S.viewingWarned = false;
    postViewing();
    S.viewTimer = setInterval(postViewing, VIEWING_EVERY);
  }

  async function postViewing() {
    const id = S.openId;
    if (!id || !S.me) return;
    const typing = isTyping();
    S.lastTyping = typing;
    try {
      await api('POST', convPath(id, 'viewing'), { typing });
    } catch (e) {
      if (!S.viewingWarned && e.status !== 404 && !e.silent) {
        S.viewingWarned = true;
        fail(e);
      }
    }
  }

  let typingTimer = null;
  function noteTyping() {
    if (isTyping() === S.lastTyping) return;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(postViewing, 300);
  }

  function renderViewers() {
    const box = $('#viewers');
    const now = Date.now();
    for (const [id, v] of S.viewers) if (v.until <= now) S.viewers.delete(id);
    const list = [...S.viewers].filter(([id]) => S.me && id !== S.me.id);
    const old = $('#collision-note');
    if (old) old.remove();
    if (!list.length || !S.openId) {
      show(box, false);
      return;
    }
    box.replaceChildren(el('span', { class: 'muted', text: 'Also here: ' }),
      ...list.map(([id, v], i) => el('span', { class: 'viewer' + (v.typing ? ' typing' : ''), dataset: { agent: id }, title: id },
        (i ? ', ' : ''), avatar(fullAgentName(id), true), fullAgentName(id), v.typing ? ' (typing…)' : '')));
    show(box, true);
    // The same, as a note at the end of the thread, where the agent writes.
    const typing = list.filter(([, v]) => v.typing).map(([id]) => fullAgentName(id));
    const viewing = list.filter(([, v]) => !v.typing).map(([id]) => fullAgentName(id));
    const parts = [];
    if (typing.length) parts.push(typing.join(', ') + (typing.length === 1 ? ' is' : ' are') + ' typing a reply');
    if (viewing.length) parts.push(viewing.join(', ') + (viewing.length === 1 ? ' is' : ' are') + ' viewing this conversation');
    $('#messages').append(el('li', { id: 'collision-note', class: 'msg-collision', role: 'status', text: parts.join('; ') + '.' }));
  }

  // ---------- wiring ----------
  function debounce(fn, ms) {
    let t = null;
    return (...a) => {
      clearTimeout(t);
      t = setTimeout(() => fn(...a), ms);
    };
  }

  function bind() {
    $('#signin-form').addEventListener('submit', signIn);
    $('#signout').addEventListener('click', signOut);
    $('#presence').addEventListener('change', (ev) => {
      const p = ev.target.value;
      setPresence(p, p === 'online');
    });
    $('#accepting').addEventListener('change', (ev) => setPresence('online', ev.target.checked));
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
})();
