// Browser test of the admin's "Sync from Twilio" (desk/web/admin.js): the
// real Parley binary (PARLEY_BIN) on Redis database 10 of PARLEY_TEST_REDIS
// (flushed first: it must be a throwaway), a fake Twilio whose Content API
// lists templates two to a page, and Debian's Chromium.
//
//   PARLEY_BIN=/path/to/parley PARLEY_TEST_REDIS=127.0.0.1:6391 node --test desk/web/e2e/templates.test.mjs
//
// Screenshots and Parley's log go to test-artifacts/templates/.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, alnum, hex, eventually, makeHarness, makeStep, card, ALWAYS_OPEN, signIn as formSignIn, openTab, setPresence } from './harness.mjs';

const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'templates');
const DB = 10;
const H = makeHarness({ db: DB, artifacts: ARTIFACTS });
const { W, redisCli, inbound, whatsAppIn, newDesk } = H;
const PASSWORDS = { ada: 'ada-' + alnum(16), ann: 'ann-' + alnum(16) };

const CONFIG = `# Written by templates.test.mjs: always open, one hand-entered template.
${ALWAYS_OPEN}templates:
  - name: typed_by_hand
    content_sid: HX0123456789abcdef0123456789abcdef
    variables: ["1"]
    preview: "Hello {{1}}, this one was typed in."
`;

// The account's content resources, as the fake's Content API lists them.
const contents = [
  { name: 'order_shipped', status: 'approved', body: 'Hi {{1}}, order {{2}} has shipped.', variables: { 1: 'Thandi', 2: 'A-77' } },
  { name: 'spring_sale', status: 'pending', body: 'Our spring sale starts today.' },
  { name: 'win_back', status: 'rejected', body: 'We miss you! Come back for 20% off.', rejection: 'Promotional content in a utility template' },
].map((c) => ({ sid: 'HX' + hex(16), ...c }));
let pages = 0;

// contentAPI answers GET /v1/ContentAndApprovals, two a page, behind the
// account's Basic auth.
function contentAPI(req, _body, answer) {
  const url = new URL(req.url, 'http://fake');
  if (url.pathname !== '/v1/ContentAndApprovals') return false;
  const auth = Buffer.from(String(req.headers.authorization || '').replace(/^Basic /, ''), 'base64').toString();
  if (auth !== `${H.accountSid}:${H.authToken}`) {
    answer(401, { code: 20003, message: 'Authenticate', status: 401 });
    return true;
  }
  pages++;
  const page = Number(url.searchParams.get('Page') || 0);
  const slice = contents.slice(page * 2, page * 2 + 2);
  const next = (page + 1) * 2 < contents.length ? `https://content.twilio.com/v1/ContentAndApprovals?PageSize=2&Page=${page + 1}&PageToken=PT${page + 1}` : null;
  answer(200, {
    contents: slice.map((c) => ({
      sid: c.sid, account_sid: H.accountSid, friendly_name: c.name, language: 'en', variables: c.variables || {},
      types: { 'twilio/text': { body: c.body } }, url: 'https://content.twilio.com/v1/Content/' + c.sid,
      approval_requests: { name: c.name, category: 'UTILITY', content_type: 'twilio/text', status: c.status, rejection_reason: c.rejection || '', allow_category_change: true },
    })),
    meta: { page, page_size: 2, key: 'contents', next_page_url: next, previous_page_url: null, url: 'https://content.twilio.com' + req.url },
  });
  return true;
}

Object.assign(W, { ada: null, ann: null, shots: 0 });
const signIn = (desk, user) => formSignIn(W.base, desk, user, PASSWORDS[user]);

const shot = H.shotOf(() => [W.ada, W.ann]);
const step = makeStep(W, () => [W.ada, W.ann], shot);

describe('admin: templates synced from Twilio', { timeout: 300_000 }, () => {
  before(async () => {
    await H.boot(CONFIG, [
      { id: 'ada', name: 'Ada Admin', role: 'admin', password: PASSWORDS.ada },
      { id: 'ann', name: 'Ann Agent', role: 'agent', capacity: 5, password: PASSWORDS.ann },
    ], contentAPI);
  }, { timeout: 120_000 });

  after(async () => {
    await H.finish();
  }, { timeout: 60_000 });

  step('sync from Twilio shows each template with its approval', async () => {
    W.ada = await newDesk('ada');
    const { page } = W.ada;
    await signIn(W.ada, 'ada');
    await page.click('.view-tab[data-view="admin"]');
    await page.locator('#admin-view').waitFor();
    await page.click('.subtab[data-admin="settings"]');
    await page.locator('#s-templates .template-row').first().waitFor();
    assert.equal(await page.locator('#s-templates .synced-row').count(), 0, 'synced templates before any sync');

    await page.click('#s-template-sync');
    await page.locator('#s-template-sync-state', { hasText: 'Synced 3 from Twilio (1 approved): 3 added, 0 updated, 0 removed.' }).waitFor();
    assert.equal(pages, 2, 'the sync read both pages of the Content API');
    const rows = page.locator('#s-templates .synced-row');
    await eventually('three synced rows', async () => (await rows.count()) === 3);
    const row = (name) => page.locator('#s-templates .synced-row', { hasText: name });
    assert.equal(await row('order_shipped').locator('.approval').textContent(), 'Approved');
    assert.equal(await row('spring_sale').locator('.approval').textContent(), 'Pending approval');
    assert.equal(await row('win_back').locator('.approval').textContent(), 'Rejected');
    assert.match(await row('win_back').textContent(), /WhatsApp: Promotional content in a utility template/);
    assert.match(await row('spring_sale').textContent(), /Not offered to agents outside the 24-hour window/);
    // The preview is filled with Twilio's sample values.
    assert.equal(await row('order_shipped').locator('.tpl-preview').textContent(), 'Hi Thandi, order A-77 has shipped.');
    assert.match(await row('order_shipped').textContent(), /UTILITY · en · twilio\/text/);
    // The hand-entered template is still there, still editable.
    assert.equal(await page.inputValue('#s-templates .template-row:not(.synced-row) .t-name'), 'typed_by_hand');
    await page.locator('#s-template-sync').evaluate((b) => b.scrollIntoView({ block: 'center' }));
    await page.screenshot({ path: path.join(ARTIFACTS, 'sync-button-ada.png') });
  });

  step('saving other settings keeps the synced templates as they are', async () => {
    const { page } = W.ada;
    await page.fill('#s-tags', 'billing\nrefund');
    await page.click('#settings-save');
    await page.locator('.toast', { hasText: 'Settings saved' }).waitFor();
    const doc = await page.evaluate(async () => (await fetch('/api/v1/admin/settings', { credentials: 'same-origin' })).json());
    const byName = Object.fromEntries(doc.templates.map((t) => [t.name, t]));
    assert.equal(byName.spring_sale.status, 'pending');
    assert.equal(byName.order_shipped.source, 'twilio');
    assert.deepEqual(byName.order_shipped.samples, { 1: 'Thandi', 2: 'A-77' });
    assert.equal(byName.typed_by_hand.source, undefined);
    await page.click('.subtab[data-admin="audit"]');
    await page.locator('#audit-table tr[data-action="templates.sync"]', { hasText: '3 from Twilio' }).waitFor();
  });

  step('the agent is offered only the approved and the hand-entered templates', async () => {
    W.ann = await newDesk('ann');
    const { page } = W.ann;
    await signIn(W.ann, 'ann');
    await setPresence(page, 'online');
    await openTab(page, 'live');
    await inbound(whatsAppIn('+27840001001', 'Where is my order?', 'Olwethu Order'));
    await card(page, 'Olwethu Order').click();
    // Twilio reports the window closed (as after error 63016): only a
    // template can go now, and the picker offers the sendable ones only.
    await redisCli('hset', '{parley}:contact:whatsapp:+27840001001', 'window_closed', String(Date.now()));
    await page.reload();
    await page.locator('body[data-live="connected"]').waitFor();
    await openTab(page, 'live');
    await card(page, 'Olwethu Order').click();
    await page.locator('#c-template').waitFor();
    const offered = await page.locator('#tpl option').allTextContents();
    assert.deepEqual(offered.sort(), ['order_shipped', 'typed_by_hand']);
    await page.selectOption('#tpl', { label: 'order_shipped' });
    await page.locator('#tpl-preview').waitFor();
  });
});
