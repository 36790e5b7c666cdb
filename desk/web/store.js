// The desk's one state store: what the page knows (the user, the open
// conversation, the list, the counts, what is fresh), and the constants
// the modules share. Every module reads and writes this one object.

export const API = '/api/v1';
// C holds the constants the server gives the page (GET /desk/constants):
// the tabs of each role, the user-id pattern, the attachment limits, the
// trash's keep and the units of a duration. Read once at sign-in.
export const C = {
  tabs: { agent: [], supervisor: [] }, chat_tabs: [], user_id_pattern: '', max_attachment_bytes: 0,
  max_attachments_per_reply: 0, trash_days: 0, duration_units: {},
};

// tabsOf lists the signed-in user's tabs: supervisors and admins see
// everyone's lists, grouped by agent (and the bots' chats); agents their own.
export const tabsOf = () => (isSup() ? C.tabs.supervisor : C.tabs.agent);
export const TAB_NAMES = {
  live: 'live chats', pending: 'pending chats', tagged: 'chats you were mentioned in', closed: 'closed chats',
  unassigned: 'unassigned tickets', assigned: 'tickets assigned to you', tickets_closed: 'closed tickets',
  trash: 'conversations in your trash', // the Trash tab: agent-extras.js
};
export const SUP_TAB_NAMES = {
  live: 'live chats', pending: 'pending chats', closed: 'closed chats', unassigned: 'unassigned tickets',
  assigned: 'assigned tickets', tickets_closed: 'closed tickets', trash: 'conversations in the trash',
  bot: 'chats bots hold',
};
export const ALL = '*'; // the "everyone" entry of the agent groups
export const EVENT_TYPES = ['message.in', 'message.out', 'message.status', 'message.note', 'conversation.changed',
  'conversation.assigned', 'conversation.closed', 'agent.changed', 'comment', 'viewing', 'message.media'];
export const VIEWING_EVERY = 10000; // ms between "I am viewing" pings
export const VIEWER_TTL = 20000; // how long one ping lasts on the server
export const PAGE = 50;

// ---------- state ----------
export const S = {
  me: null,
  csrf: '',
  settings: { tags: [], sentiments: ['positive', 'neutral', 'negative'], departments: [], templates: [], canned_replies: [], agent_response_timeout: 0 },
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
  alerted: new Set(), // chats routed to me whose alert went
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
export const isSup = () => !!S.me && (S.me.role === 'supervisor' || S.me.role === 'admin');
export const isAdmin = () => !!S.me && S.me.role === 'admin';
