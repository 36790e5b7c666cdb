// ---------- how a conversation ended, as the history and the profile show it ----------
// One block per earlier engagement: who closed it and why, sentiment, tag,
// notes, references (a link opens in a new tab, never broken across
// lines), the survey rating and the agent. Built with the DOM only.

import { el } from './dom.js';
import { fmtFull, linkify } from './format.js';

const SENTIMENT = { positive: 'Positive', neutral: 'Neutral', negative: 'Negative' };

function closedBy(cl, e) {
  if (!cl) return '';
  if (cl.by === 'customer') return 'Ended by the customer';
  if (cl.by === 'system') return 'Closed by Parley (' + cl.reason + ')';
  const who = e.agent_name || cl.by;
  return cl.reason === 'one-way SMS' ? 'One-way SMS sent by ' + who : 'Closed by ' + who;
}

// reference shows one external reference: a link when it is one.
function reference(ref) {
  return el('li', { class: 'ref' }, linkify(ref));
}

// closeInfo is the block of facts of one engagement (an Engagement of the API).
export function closeInfo(e) {
  const cl = e.closed;
  const rows = [];
  const row = (label, value) => {
    if (value === '' || value === null || value === undefined) return;
    rows.push(el('dt', { text: label }), el('dd', {}, value));
  };
  row('Closed', cl ? closedBy(cl, e) + (cl.at ? ' · ' + fmtFull(cl.at) : '') : '');
  row('Agent', e.agent_name || e.assignee || '');
  row('Sentiment', cl && cl.sentiment ? SENTIMENT[cl.sentiment] || cl.sentiment : '');
  row('Tag', cl && cl.tag ? el('span', { class: 'chip', text: cl.tag }) : '');
  row('Notes', cl && cl.notes ? el('span', { class: 'eng-notes', text: cl.notes }) : '');
  if (cl && cl.refs && cl.refs.length) row('References', el('ul', { class: 'refs' }, cl.refs.map(reference)));
  row('Rating', e.rating ? e.rating.score + ' of 5' + (e.rating.comment ? ': ' + e.rating.comment : '') : '');
  if (e.subject) row('Subject', e.subject);
  if (!rows.length) rows.push(el('dt', { text: 'State' }), el('dd', { text: e.state }));
  return el('dl', { class: 'facts eng-facts' }, rows);
}

// engagementItem is the history's line after an earlier conversation's
// messages: a summary of how it ended.
export function engagementItem(e) {
  const kind = e.kind === 'ticket' ? 'Ticket' : 'Chat';
  return el('li', { class: 'engagement', dataset: { engagement: e.id } },
    el('div', { class: 'eng-title', text: kind + ' of ' + fmtFull(e.created_at) }),
    closeInfo(e));
}
