// The messages of the open conversation with a returning customer's
// earlier conversations before them, each under a divider.

import { messageItem } from './conversation.js';
import { $, el } from './dom.js';

export function renderMessages(history, conv, scrollToEnd) {
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
