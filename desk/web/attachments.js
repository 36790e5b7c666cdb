// How a message's attachments show in the thread: photos as thumbnails
// (a click opens the full size), voice notes and other audio as a player,
// videos as a player, documents as a link with name and size, a location
// as coordinates with a map link, and "media could not be fetched" for
// what Parley gave up on. Every URL comes from the API (Parley's own,
// signed) and is used only if it is http(s); every text is set as text.

import { el } from './dom.js';
import { safeHref } from './format.js';

// attachmentBlocks renders everything a message carries besides its text.
export function attachmentBlocks(m) {
  if (m.attachments) return m.attachments.map(attachmentBlock);
  // An answer from before attachments were described: plain links.
  return (m.media || []).map((md) => attachmentBlock({ kind: 'document', state: 'ready', url: md.url, content_type: md.content_type }));
}

const KIND_LABEL = { image: 'Photo', audio: 'Audio', video: 'Video', document: 'Document', location: 'Location' };

function isVoice(a) {
  return a.kind === 'audio' && /^audio\/(ogg|opus)\b/i.test(a.content_type || '');
}

// label names an attachment for people: its file name, else what it is.
export function attachmentLabel(a) {
  if (a.name) return a.name;
  if (isVoice(a)) return 'Voice message';
  return KIND_LABEL[a.kind] || 'Attachment';
}

export function fmtBytes(n) {
  if (!Number.isFinite(n) || n <= 0) return '';
  if (n < 1024) return n + ' B';
  if (n < 1024 * 1024) return Math.round(n / 1024) + ' KB';
  return (n / (1024 * 1024)).toFixed(1) + ' MB';
}

function attachmentBlock(a) {
  if (a.kind === 'location') return locationBlock(a);
  const label = attachmentLabel(a);
  const box = el('div', { class: 'msg-att att-' + (KIND_LABEL[a.kind] ? a.kind : 'document'), dataset: { state: a.state || '' } });
  if (a.state === 'fetching') {
    box.append(el('span', { class: 'extra-kind', text: KIND_LABEL[a.kind] || 'File' }),
      el('span', { class: 'muted', text: label + ': fetching from the customer…' }));
    return box;
  }
  if (a.state === 'failed' || a.state === 'expired') {
    box.classList.add('att-missing');
    box.append(el('span', { class: 'extra-kind', text: KIND_LABEL[a.kind] || 'File' }),
      el('span', { text: a.state === 'failed' ? (a.error || 'media could not be fetched') : label + ': no longer kept' }));
    return box;
  }
  const href = safeHref(a.url);
  if (!href) {
    box.append(el('span', { class: 'muted', text: label + ' (no address)' }));
    return box;
  }
  // A document's link and a voice note's heading carry the name already.
  const named = a.name && (a.kind === 'image' || a.kind === 'video');
  const meta = [named ? a.name : '', a.content_type, fmtBytes(a.size)].filter(Boolean).join(' · ');
  switch (a.kind) {
    case 'image':
      box.append(el('a', { href, target: '_blank', rel: 'noopener noreferrer', title: 'Open full size', class: 'att-thumb' },
        el('img', { src: href, alt: label, loading: 'lazy' })));
      break;
    case 'audio':
      box.append(el('span', { class: 'att-name', text: label }),
        el('audio', { src: href, controls: true, preload: 'metadata', 'aria-label': label }));
      break;
    case 'video':
      box.append(el('video', { src: href, controls: true, preload: 'metadata', 'aria-label': label }));
      break;
    default:
      box.append(el('span', { class: 'extra-kind', text: 'File' }),
        el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: label }));
  }
  if (meta) box.append(el('span', { class: 'att-meta muted small', text: meta }));
  return box;
}

function locationBlock(a) {
  const lat = Number(a.latitude);
  const lon = Number(a.longitude);
  const name = [a.label, a.address].filter(Boolean).join(', ') || 'Shared location';
  const box = el('div', { class: 'msg-att att-location' }, el('span', { class: 'extra-kind', text: 'Map' }));
  if (!Number.isFinite(lat) || !Number.isFinite(lon)) {
    box.append(el('span', { text: 'Location: ' + name }));
    return box;
  }
  const href = safeHref(a.map_url) || 'https://www.openstreetmap.org/?mlat=' + lat + '&mlon=' + lon + '#map=16/' + lat + '/' + lon;
  box.append(el('a', { href, target: '_blank', rel: 'noopener noreferrer', text: name }),
    el('span', { class: 'att-coords muted small', text: lat.toFixed(5) + ', ' + lon.toFixed(5) }));
  return box;
}
