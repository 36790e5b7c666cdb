// The messages of the open conversation with a returning customer's
// earlier conversations before them, each under a divider and followed by
// how it ended (its close notes, tag, sentiment, references and rating:
// the detail's engagements, engagement.js).

import { messageItem } from './conversation.js';
import { $, el } from './dom.js';
import { engagementItem } from './engagement.js';
import { fmtFull } from './format.js';
import { S } from './store.js';

export function renderMessages(history, conv, scrollToEnd) {
  const ol = $('#messages');
  const atEnd = ol.scrollHeight - ol.scrollTop - ol.clientHeight < 60;
  const multi = new Set(history.map((m) => m.conversation_id)).size > 1;
  const engagements = new Map(((S.detail && S.detail.engagements) || []).map((e) => [e.id, e]));
  const out = [];
  let lastConv = null;
  const endOf = (id) => {
    if (id && id !== conv.id && engagements.has(id)) out.push(engagementItem(engagements.get(id)));
  };
  for (const m of history) {
    if (multi && m.conversation_id !== lastConv) {
      endOf(lastConv);
      const earlier = engagements.get(m.conversation_id);
      out.push(el('li', { class: 'divider' }, el('span', {
        text: m.conversation_id === conv.id ? 'This conversation'
          : 'Earlier conversation' + (earlier ? ', ' + fmtFull(earlier.created_at) : ''),
      })));
    }
    lastConv = m.conversation_id;
    out.push(messageItem(m));
  }
  endOf(lastConv);
  if (!history.length) out.push(el('li', { class: 'divider' }, el('span', { text: 'No messages yet' })));
  ol.replaceChildren(...out);
  if (scrollToEnd || atEnd) ol.scrollTop = ol.scrollHeight;
}
