// Browser test of delivery errors in plain words (issue 14): Twilio's
// asynchronous failures reach the agent as one readable line beside the
// message, and 63016 (free text outside WhatsApp's 24-hour window) closes
// the window in the desk, so the composer offers templates only. Redis
// database 5 of PARLEY_TEST_REDIS is flushed first; screenshots go to
// test-artifacts/errors/.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  ROOT, alnum, eventually, makeHarness, makeStep, card, ALWAYS_OPEN, signIn as formSignIn, setPresence,
} from './harness.mjs';

const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'errors');
const DB = 5;
const H = makeHarness({ db: DB, artifacts: ARTIFACTS });
const USERS = [
  { id: 'ann', name: 'Ann Agent', role: 'agent', capacity: 5 },
].map((u) => Object.assign(u, { password: u.id + '-' + alnum(16) }));

const CONFIG = `# Written by errors.test.mjs: always open, nothing times out.
${ALWAYS_OPEN}timeouts:
  queue_timeout: 1h
  agent_response_timeout: 1h
  inactivity_timeout: 2h
  pending_timeout: 24h
  ticket_session_timeout: 1h
templates:
  - name: e2e_errors_follow_up
    content_sid: HX00000000000000000000000000000e2e
    variables: ["1"]
    preview: "Hello {{1}}, we have news about your question."
`;

const { inbound, whatsAppIn, smsIn, statusCallback, sentTo, newDesk } = H;
const W = Object.assign(H.W, { ann: null, shots: 0 });

const shot = H.shotOf(() => [W.ann]);
const step = makeStep(W, () => [W.ann], shot);

// reply sends text from the open conversation and returns what Twilio got.
async function reply(page, to, text) {
  await page.fill('#reply', text);
  await page.click('#send');
  await page.locator('#messages .msg-out', { hasText: text }).waitFor();
  return eventually('the reply at Twilio', async () => sentTo(to).find((r) => r.form.Body === text));
}

describe('delivery errors in the desk', { timeout: 300_000 }, () => {
  before(async () => {
    await H.boot(CONFIG, USERS);
    W.ann = await newDesk('ann');
    await formSignIn(W.base, W.ann, 'ann', USERS[0].password);
    await setPresence(W.ann.page, 'online');
  }, { timeout: 120_000 });

  after(async () => {
    await H.finish();
  }, { timeout: 60_000 });

  step('63016 says why, closes the window and leaves templates only', async () => {
    const { page } = W.ann;
    const to = 'whatsapp:+27840000001';
    await inbound(whatsAppIn('+27840000001', 'Is my order on its way?', 'Thandi'));
    await card(page, 'Thandi').click();
    await page.locator('#conv-name', { hasText: 'Thandi' }).waitFor();
    await page.locator('#reply').waitFor();
    const sent = await reply(page, to, 'Yes, it left this morning');
    await statusCallback(sent.sid, to, 'undelivered', { ErrorCode: '63016', ErrorMessage: 'Failed to send freeform message' });

    const line = page.locator('#messages .msg-out', { hasText: 'Yes, it left this morning' }).locator('.msg-status');
    await line.filter({ hasText: 'template is required' }).waitFor();
    const text = await line.textContent();
    assert.match(text, /Not delivered/, 'the failure is not named');
    assert.match(text, /outside WhatsApp's 24-hour window: a template is required \(63016\)/, 'the reason is not in plain words');
    // The window closed in the desk: no free text, the template picker instead.
    await page.locator('#tpl').waitFor();
    assert.equal(await page.locator('#reply').isVisible(), false, 'free text is still offered after 63016');
    await page.locator('text=Closed: templates only').waitFor();
    assert.match(await page.locator('#tpl-why').textContent(), /WhatsApp refused free text to this customer \(Twilio error 63016\)/,
      'the composer blames the 24 hours, though the customer wrote a minute ago');
  });

  step('an SMS carrier error reads as a sentence, with its code', async () => {
    const { page } = W.ann;
    const to = '+27840000002';
    await inbound(smsIn(to, 'Please call me back'));
    await card(page, to).click();
    await page.locator('#conv-name', { hasText: to }).waitFor();
    await page.locator('#reply').waitFor();
    const sent = await reply(page, to, 'We will call at noon');
    await statusCallback(sent.sid, to, 'undelivered', { ErrorCode: '30003', ErrorMessage: 'Unreachable destination handset' });
    const line = page.locator('#messages .msg-out', { hasText: 'We will call at noon' }).locator('.msg-status');
    await line.filter({ hasText: 'switched off' }).waitFor();
    assert.match(await line.textContent(), /the phone is switched off or out of reach \(30003\)/);
    // SMS has no 24-hour window: the agent can still write.
    assert.equal(await page.locator('#reply').isVisible(), true, 'an SMS error took the reply box away');
  });
});
