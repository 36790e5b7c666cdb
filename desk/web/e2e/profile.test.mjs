// Browser tests of the customer profile, the one-way SMS, a returning
// customer's earlier engagements and the transcript offer (desk/web/
// profile.js, sms.js, engagement.js, history.js): the real Parley binary
// (PARLEY_BIN) on Redis database 7 of PARLEY_TEST_REDIS (flushed first: it
// must be a throwaway), a fake Twilio REST API, signed webhooks, and
// Debian's Chromium driven by playwright-core.
//
//   PARLEY_BIN=/path/to/parley PARLEY_TEST_REDIS=127.0.0.1:6394 node --test desk/web/e2e/profile.test.mjs
//
// Screenshots and Parley's log go to test-artifacts/profile/ at the
// repository's root.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, alnum, eventually, makeHarness, makeStep, card, ALWAYS_OPEN, signIn as formSignIn, openTab, setPresence } from './harness.mjs';

const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'profile');
const DB = 7;
const H = makeHarness({ db: DB, artifacts: ARTIFACTS });
const { W, inbound, whatsAppIn, sentTo, newDesk } = H;
const PASSWORDS = { ann: 'ann-' + alnum(16), sue: 'sue-' + alnum(16) };

const CONFIG = `# Written by profile.test.mjs: always open.
${ALWAYS_OPEN}timeouts:
  queue_timeout: 1h
  agent_response_timeout: 1h
  inactivity_timeout: 2h
  pending_timeout: 24h
  ticket_session_timeout: 1h
tags: [refund, technical]
transcript:
  offer: "P: chat ended. Reply TRANSCRIPT within {minutes} minutes for a copy."
  link: "P: your copy, for {hours} hours: {link}"
  window: 10m
  valid: 24h
`;

const R = { number: '+27840000101', name: 'Rethabile Returns' }; // comes back after a closed chat
const LONG_REF = 'https://jira.example.com/browse/SUPPORT-12345?filter=recently-updated&view=detail&expand=comments';
const SMS_TO = '+27840000177';

Object.assign(W, { ann: null, sue: null, shots: 0 });

const signIn = (desk, user) => formSignIn(W.base, desk, user, PASSWORDS[user]);

const shot = H.shotOf(() => [W.ann, W.sue]);

const step = makeStep(W, () => [W.ann, W.sue], shot);

// todaysTotals is today's report, as the signed-in supervisor reads it.
const todaysTotals = (page) => page.evaluate(async () => {
  const day = new Date().toISOString().slice(0, 10);
  const res = await fetch('/api/v1/reports?from=' + day + '&to=' + day);
  if (!res.ok) throw new Error('GET /reports answered ' + res.status);
  return (await res.json()).total;
});

describe('customer profile, one-way SMS, earlier engagements, transcript', { timeout: 300_000 }, () => {
  before(async () => {
    await H.boot(CONFIG, [
      { id: 'ann', name: 'Ann Agent', role: 'agent', capacity: 10, password: PASSWORDS.ann },
      { id: 'sue', name: 'Sue Supervisor', role: 'supervisor', password: PASSWORDS.sue },
    ]);
    W.ann = await newDesk('ann');
    await signIn(W.ann, 'ann');
    await setPresence(W.ann.page, 'online');
  }, { timeout: 120_000 });

  after(async () => {
    await H.finish();
  }, { timeout: 60_000 });

  step('a returning customer\'s chat shows the earlier close notes, tag and a whole, clickable link', async () => {
    const { page } = W.ann;
    await openTab(page, 'live');
    await inbound(whatsAppIn(R.number, 'My router blinks red', R.name));
    await card(page, R.name).click();
    await page.locator('#conv-name', { hasText: R.name }).waitFor();
    await page.fill('#reply', 'Please restart it and tell me what you see');
    await page.click('#send');
    await page.locator('#messages .msg-out', { hasText: 'Please restart it' }).waitFor();
    await page.click('#actions button[data-action="Close chat"]');
    await page.locator('#close-dialog').waitFor();
    await page.check('#close-sentiments input[value="negative"]');
    await page.selectOption('#close-tag', 'technical');
    await page.fill('#close-notes', 'Router replaced under warranty');
    await page.fill('#close-refs', LONG_REF + '\nRMA-7781\n');
    await page.click('#close-submit');
    await page.locator('#close-dialog').waitFor({ state: 'hidden' });
    await page.locator('#closure-box').waitFor();

    await inbound(whatsAppIn(R.number, 'It blinks again', R.name));
    await openTab(page, 'live');
    // The new chat's card, not the closed one's that a list read a moment
    // ago may still show.
    await card(page, R.name).locator('.card-preview', { hasText: 'It blinks again' }).waitFor();
    await card(page, R.name).click();
    await page.locator('#messages .msg-in', { hasText: 'It blinks again' }).waitFor();
    const eng = page.locator('#messages .engagement');
    await eng.waitFor();
    const text = await eng.textContent();
    for (const want of ['Router replaced under warranty', 'technical', 'Negative', 'RMA-7781', 'Ann Agent']) {
      assert.ok(text.includes(want), `the earlier engagement shows ${want}: ${text}`);
    }
    // It sits after the earlier chat's messages, before this chat's.
    const order = await page.locator('#messages > li').evaluateAll((lis) => lis.map((li) => li.className + '|' + li.textContent));
    const at = (s) => order.findIndex((x) => x.includes(s));
    assert.ok(at('Please restart it') < at('Router replaced under warranty') && at('Router replaced under warranty') < at('It blinks again'), order.join('\n'));
    const link = eng.locator(`a[href="${LONG_REF}"]`);
    await link.waitFor();
    assert.equal(await link.getAttribute('target'), '_blank');
    const tops = await link.evaluate((a) => [...new Set([...a.getClientRects()].map((r) => Math.round(r.top)))]);
    assert.equal(tops.length, 1, `the link is broken across lines (tops ${tops})`);
    const box = await eng.boundingBox();
    const lbox = await link.boundingBox();
    assert.ok(lbox.height < 30, `the link spans ${lbox.height}px in height`);
    assert.ok(box.x + box.width <= (await page.locator('#messages').boundingBox()).x + (await page.locator('#messages').boundingBox()).width + 1, 'the engagement overflows the thread');
  });

  step('the profile lists every conversation with its close information and keeps a note', async () => {
    const { page } = W.ann;
    await page.click('#open-profile');
    const dlg = page.locator('#profile-dialog');
    await dlg.locator('.profile-conv').first().waitFor();
    const body = await dlg.textContent();
    for (const want of [R.name, R.number, 'WhatsApp', 'Subscribed', '24-hour window open', 'Router replaced under warranty', 'RMA-7781']) {
      assert.ok(body.includes(want), `the profile shows ${want}`);
    }
    assert.equal(await dlg.locator('.profile-conv').count(), 2);
    assert.equal(await dlg.locator(`.profile-conv a[href="${LONG_REF}"]`).count(), 1);

    await page.fill('#profile-note', 'Prefers a call after 17:00 <b>not bold</b>');
    const put = page.waitForResponse((r) => r.url().includes('/api/v1/customers/') && r.request().method() === 'PUT');
    await page.click('#profile-note-save');
    assert.equal((await put).status(), 200);
    await dlg.locator('#profile-note-by', { hasText: 'Saved by ann' }).waitFor();
    await shot(String(W.shots + 1).padStart(2, '0') + '-profile-open');

    // Opened again, the note is there, as text.
    await page.click('#profile-close');
    await page.click('#open-profile');
    await dlg.locator('.profile-conv').first().waitFor();
    assert.equal(await page.inputValue('#profile-note'), 'Prefers a call after 17:00 <b>not bold</b>');
    assert.equal(await dlg.locator('b').count(), 0);
    await page.click('#profile-close');
    assert.equal(await page.locator('#sms-open').isVisible(), false, 'an agent is offered the one-way SMS');
  });

  step('a supervisor sends a one-way SMS; it goes to Twilio once and is a closed chat', async () => {
    W.sue = await newDesk('sue');
    await signIn(W.sue, 'sue');
    const { page } = W.sue;
    const before = await todaysTotals(page);
    await page.click('#sms-open');
    await page.locator('#sms-dialog').waitFor();
    await page.fill('#sms-to', '0840000177');
    await page.fill('#sms-body', 'Your replacement router is ready for collection.');
    await page.click('#sms-send');
    await page.locator('#sms-error', { hasText: 'E.164' }).waitFor();
    await page.fill('#sms-to', SMS_TO);
    await page.click('#sms-send');
    await page.locator('#sms-dialog').waitFor({ state: 'hidden' });
    await eventually('Twilio to be asked to send the SMS', async () => sentTo(SMS_TO).length === 1);
    assert.equal(sentTo(SMS_TO)[0].form.Body, 'Your replacement router is ready for collection.');
    await page.locator('#messages .msg-out', { hasText: 'ready for collection' }).waitFor();
    await page.locator('#conv-sub', { hasText: 'Closed' }).waitFor();
    await page.click('#open-profile');
    const dlg = page.locator('#profile-dialog');
    await dlg.locator('.profile-conv', { hasText: 'One-way SMS sent by Sue Supervisor' }).waitFor();
    await shot(String(W.shots + 1).padStart(2, '0') + '-sms-profile');
    await page.click('#profile-close');
    assert.equal(sentTo(SMS_TO).length, 1, 'the SMS went to Twilio more than once');

    // Today's report counts it as a one-way SMS, not as a chat answered at once.
    const after = await todaysTotals(page);
    assert.equal(after.one_way_sms, before.one_way_sms + 1, 'the report does not count the one-way SMS');
    assert.equal(after.chats, before.chats, 'the one-way SMS counts as a chat');
  });

  step('the customer ends a chat, asks for a transcript and opens it without signing in', async () => {
    await inbound(whatsAppIn(R.number, '//end', R.name));
    await eventually('the offer', async () => sentTo('whatsapp:' + R.number).some((r) => /Reply TRANSCRIPT within 10 minutes/.test(r.form.Body)));
    await inbound(whatsAppIn(R.number, 'transcript', R.name));
    const req = await eventually('the link', async () => sentTo('whatsapp:' + R.number).find((r) => /\/transcripts\//.test(r.form.Body)));
    const url = req.form.Body.match(/https?:\/\/\S+/)[0];
    const page = await W.sue.context.newPage(); // a fresh page; the link needs no session
    try {
      const res = await page.goto(url);
      assert.equal(res.status(), 200);
      await page.locator('li.in', { hasText: 'It blinks again' }).waitFor();
      assert.equal(await page.locator('li', { hasText: 'Router replaced' }).count(), 0, 'close notes are the team\'s');
      await page.screenshot({ path: path.join(ARTIFACTS, 'transcript-page.png') });
      const forged = await page.goto(url.replace(/sig=./, (s) => (s.endsWith('A') ? 'sig=B' : 'sig=A')));
      assert.equal(forged.status(), 403);
    } finally {
      await page.close();
    }
  });
});
