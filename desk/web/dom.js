// Small DOM helpers: el and svg build elements (strings become text
// nodes, never markup), toasts tell the user what happened.

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

// el builds an element. Children that are strings become text nodes.
export function el(tag, props, ...kids) {
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
export function svg(tag, attrs, ...kids) {
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

export function show(node, on) { node.hidden = !on; }

// ---------- messages to the user ----------
export function toast(text, kind = 'error') {
  const box = $('#toasts');
  const t = el('div', { class: 'toast toast-' + kind, role: kind === 'error' ? 'alert' : 'status' },
    el('span', { class: 'toast-text', text }),
    el('button', { type: 'button', class: 'toast-x', 'aria-label': 'Dismiss', text: '×' }));
  t.querySelector('.toast-x').addEventListener('click', () => t.remove());
  box.append(t);
  while (box.children.length > 4) box.firstElementChild.remove();
  setTimeout(() => t.remove(), kind === 'error' ? 9000 : 4000);
}

export function fail(err) {
  if (err && err.silent) return;
  const code = err && err.code ? ' (' + err.code + ')' : '';
  toast(((err && err.message) || 'Something went wrong') + code, 'error');
}

// ---------- wiring ----------
export function debounce(fn, ms) {
  let t = null;
  return (...a) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...a), ms);
  };
}
