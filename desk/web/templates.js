// The template picker: a WhatsApp template with its variables, for a
// closed 24-hour window.

import { api, convPath } from './api.js';
import { reachedOut } from './composer.js';
import { loadDetail } from './conversation.js';
import { $, $$, el, fail, toast } from './dom.js';
import { refreshSoon } from './events.js';
import { fillTemplate, templateBySid } from './format.js';
import { S } from './store.js';

export function renderTemplatePicker() {
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

export function renderTemplateVars() {
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

export async function sendTemplate() {
  const t = currentTemplate();
  if (!t || S.sending || !S.openId || !S.mode) return;
  const vars = templateValues();
  const missing = Object.entries(vars).filter(([, v]) => !v).map(([k]) => '{{' + k + '}}');
  if (missing.length) {
    toast('Fill in ' + missing.join(', ') + ' before sending the template.');
    return;
  }
  const id = S.openId;
  const reopen = S.mode.action === 'reopen';
  const body = { template: { content_sid: t.content_sid, variables: vars } };
  S.sending = true;
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
    S.sending = false;
    $('#tpl-send').disabled = false;
  }
}
