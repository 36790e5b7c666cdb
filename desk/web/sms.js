// ---------- one-way SMS (supervisors and admins) ----------
// "Send 1-way SMS" in the top bar: a text to any number, sent through the
// number's outbox and recorded as a closed chat. The server checks the
// number, the length, the role and the opt-out; the dialog says why it
// refused, and counts characters as the text is typed.

import { api } from './api.js';
import { openConversation } from './conversation.js';
import { $, el, show, toast } from './dom.js';
import { S } from './store.js';

const MAX = 1600; // Twilio's limit for one SMS body

function dialog() {
  let d = $('#sms-dialog');
  if (d) return d;
  const to = el('input', { id: 'sms-to', type: 'tel', autocomplete: 'off', placeholder: '+27820000001', required: true,
    pattern: '\\+[1-9][0-9]{6,14}', 'aria-describedby': 'sms-to-hint' });
  const body = el('textarea', { id: 'sms-body', rows: '4', maxlength: String(MAX), required: true });
  const count = el('span', { id: 'sms-count', class: 'muted small', text: '0 / ' + MAX });
  body.addEventListener('input', () => { count.textContent = body.value.length + ' / ' + MAX; });
  const dept = el('select', { id: 'sms-dept' });
  const err = el('p', { id: 'sms-error', class: 'form-error', role: 'alert', hidden: true });
  const form = el('form', { id: 'sms-form', method: 'dialog', novalidate: true },
    el('h3', { text: 'Send 1-way SMS' }),
    el('p', { class: 'muted small', text: 'A one-off text to any number. It is recorded as a closed chat in your name; a reply from the customer arrives as a new message.' }),
    el('label', {}, 'To', to),
    el('span', { id: 'sms-to-hint', class: 'muted small', text: 'The number in international form: a plus, the country code and the number.' }),
    el('label', {}, 'Message', body),
    el('div', { class: 'bar' }, count),
    el('label', {}, 'Department', dept),
    err,
    el('div', { class: 'bar' }, el('span', { class: 'spacer' }),
      el('button', { type: 'button', class: 'ghost', id: 'sms-cancel', text: 'Cancel', onclick: () => d.close() }),
      el('button', { type: 'submit', class: 'primary', id: 'sms-send', text: 'Send SMS' })));
  d = el('dialog', { id: 'sms-dialog', class: 'dialog' }, form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    show(err, false);
    const send = $('#sms-send');
    send.disabled = true;
    try {
      const conv = await api('POST', '/sms', { to: to.value.trim(), body: body.value, department: dept.value });
      d.close();
      toast('SMS queued to ' + to.value.trim(), 'ok');
      openConversation(conv.id);
    } catch (e) {
      err.textContent = e.message;
      show(err, true);
    } finally {
      send.disabled = false;
    }
  });
  document.body.append(d);
  return d;
}

// openSms opens the one-way SMS dialog, empty.
export function openSms() {
  const d = dialog();
  $('#sms-to').value = '';
  $('#sms-body').value = '';
  $('#sms-count').textContent = '0 / ' + MAX;
  show($('#sms-error'), false);
  $('#sms-dept').replaceChildren(...(S.settings.departments || []).map((x) => el('option', { value: x.id, text: x.name || x.id })));
  d.showModal();
  $('#sms-to').focus();
}
