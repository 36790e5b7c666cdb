// How a message's attachments show in the thread.

import { el } from './dom.js';
import { safeHref } from './format.js';

export function mediaBlock(md) {
  const href = safeHref(md.url);
  const label = 'Attachment' + (md.content_type ? ' (' + md.content_type + ')' : '');
  if (!href) return el('div', { class: 'msg-extra', text: label + ': ' + (md.url || '') });
  return el('div', { class: 'msg-extra' }, el('span', { class: 'extra-kind', text: 'File' }),
    el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: label }));
}
