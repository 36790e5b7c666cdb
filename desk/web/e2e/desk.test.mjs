// Browser tests of the agent desk: the real Parley binary (PARLEY_BIN) on a
// throwaway Redis database, a fake Twilio REST API, signed webhooks posted as
// Twilio would, and Debian's Chromium driven by playwright-core.
//
//   PARLEY_BIN=/path/to/parley PARLEY_TEST_REDIS=127.0.0.1:6379 node --test desk/web/e2e/
//
// Redis database 15 of PARLEY_TEST_REDIS is flushed first: it must be a
// throwaway. Screenshots and Parley's log go to test-artifacts/ at the
// repository's root.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  ROOT, WHATSAPP_FROM, hex, alnum, sleep, eventually, makeHarness, makeStep, card, countBadge, ALWAYS_OPEN, signIn as formSignIn, openTab, setPresence,
} from './harness.mjs';

const ARTIFACTS = path.join(ROOT, 'test-artifacts');
const DB = 15;
const H = makeHarness({ db: DB, artifacts: ARTIFACTS });
const TEMPLATE_SID = 'HX' + hex(16);
const PASSWORDS = { ann: 'ann-' + alnum(16), bob: 'bob-' + alnum(16) };

const CONFIG = `# Written by desk.test.mjs: always open, short distinctive texts.
${ALWAYS_OPEN}timeouts:
  queue_timeout: 1h
  agent_response_timeout: 1h
  inactivity_timeout: 2h
  pending_timeout: 24h
  ticket_session_timeout: 1h
tags: [refund, delivery, billing, account access]
templates:
  - name: e2e_follow_up
    content_sid: ${TEMPLATE_SID}
    variables: ["1"]
    preview: "Hi {{1}}, the E2E desk is following up on your message."
canned_replies:
  - shortcut: /hello
    text: "E2E canned hello: how can we help?"
  - shortcut: /bye
    text: "E2E canned goodbye."
texts:
  out_of_hours: "E2E: closed."
  no_agent: "E2E: nobody free."
  leave_message: "E2E: leave a message? YES or NO."
  collecting: "E2E: collecting."
  declined: "E2E: declined."
  ended: "E2E: ended."
  queued: "E2E: queued as {position}."
`;

const { inbound, whatsAppIn, smsIn, statusCallback, sentTo, newDesk } = H;

// ---------- the world under test ----------
const W = Object.assign(H.W, {
  ann: null, // {context, page, errors, dialogs}
  bob: null,
  shots: 0,
});

const signIn = (desk, user) => formSignIn(W.base, desk, user, PASSWORDS[user]);

async function shot(name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  for (const desk of [W.ann, W.bob]) {
    if (!desk || desk.page.isClosed()) continue;
    const file = path.join(ARTIFACTS, `${name}${desk.who === 'ann' ? '' : '-' + desk.who}.png`);
    await desk.page.screenshot({ path: file }).catch(() => {});
  }
}

// step is one test: it screenshots every open desk afterwards, pass or
// fail, and checks the page threw nothing and opened no alert.
const step = makeStep(W, () => [W.ann, W.bob], shot);

const A = { number: '+27820000001', name: 'Alice Adams' };
const B = { number: '+27820000002', name: 'Bongani Bhengu' };
const D = { number: '+27820000005', name: 'Dora Danger' };
const TICKETS = [
  { number: '+27820000011', channel: 'sms', body: 'Ticket one: my card was charged twice' },
  { number: '+27820000012', channel: 'whatsapp', name: 'Tumi Two', body: 'Ticket two: where is my parcel?' },
  { number: '+27820000013', channel: 'sms', body: 'Ticket three: please call me back' },
  { number: '+27820000014', channel: 'whatsapp', name: 'Thabo Four', body: 'Ticket four: cannot sign in' },
];

// ticketOrder lists the TICKETS shown in the list, by index, top first.
async function ticketOrder(page) {
  const texts = await page.locator('#list .card').allTextContents();
  return texts.map((t) => TICKETS.findIndex((k) => t.includes(k.number)));
}

describe('agent desk in a browser', { timeout: 600_000 }, () => {
  before(async () => {
    await H.boot(CONFIG, [
      { id: 'ann', name: 'Ann Agent', role: 'agent', capacity: 10, password: PASSWORDS.ann },
      { id: 'bob', name: 'Bob Builder', role: 'agent', capacity: 10, password: PASSWORDS.bob },
    ]);
    W.ann = await newDesk('ann');
  }, { timeout: 120_000 });

  after(async () => {
    await H.finish();
  }, { timeout: 60_000 });

  step('signs in', async () => {
    const { page, context } = W.ann;
    await page.goto(W.base + '/desk/');
    await page.locator('#signin-form').waitFor();
    assert.equal(await page.locator('#desk').isVisible(), false, 'the desk shows before signing in');

    await page.fill('#signin-user', 'ann');
    await page.fill('#signin-password', 'not-the-password');
    await page.click('#signin-submit');
    await page.locator('#signin-error', { hasText: 'Wrong user name or password' }).waitFor();
    await shot('01a-sign-in-refused');

    await page.fill('#signin-password', PASSWORDS.ann);
    await page.click('#signin-submit');
    await page.locator('#desk').waitFor();
    await page.locator('#me-name', { hasText: 'Ann Agent' }).waitFor();
    await page.locator('body[data-live="connected"]').waitFor();
    const cookie = (await context.cookies()).find((c) => c.name === 'parley_session');
    assert.ok(cookie && cookie.httpOnly, 'the session cookie is HttpOnly');
    assert.equal(await page.inputValue('#presence'), 'offline', 'a new agent starts offline');
    await page.locator('#list-meta', { hasText: 'No live chats' }).waitFor();

    // A reload keeps the session.
    await page.reload();
    await page.locator('#me-name', { hasText: 'Ann Agent' }).waitFor();
    await page.locator('body[data-live="connected"]').waitFor();
  });

  step('a new WhatsApp chat appears in Live without a reload', async () => {
    const { page } = W.ann;
    await setPresence(page, 'online');
    // The page applies the answer just after it arrives.
    await eventually('online to mean accepting chats', async () => page.isChecked('#accepting'));
    await openTab(page, 'live');
    await page.evaluate(() => { window.__sameDocument = 'yes'; });

    await inbound(whatsAppIn(A.number, 'Hello, is anyone there?', A.name));

    const c = card(page, A.name);
    await c.waitFor();
    assert.match(await c.getAttribute('class'), /\bfresh\b/, 'a new chat is highlighted');
    const bg = await c.evaluate((n) => getComputedStyle(n).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g).map(Number);
    assert.ok(g > r && g > b, `a new chat has a green background, got ${bg}`);
    await c.locator('.card-preview', { hasText: 'Hello, is anyone there?' }).waitFor();
    await eventually('the Live count to be 1', async () => (await countBadge(page, 'live')) === 1);
    assert.equal(await page.evaluate(() => window.__sameDocument), 'yes', 'the page was reloaded');
  });

  step('replies with Enter and Twilio gets exactly that body', async () => {
    const { page } = W.ann;
    const c = card(page, A.name);
    await c.click();
    await page.locator('#conv-name', { hasText: A.name }).waitFor();
    await page.locator('#messages .msg-in', { hasText: 'Hello, is anyone there?' }).waitFor();
    assert.doesNotMatch(await c.getAttribute('class'), /\bfresh\b/, 'an opened chat is no longer highlighted');

    // A canned reply by shortcut and Tab.
    const box = page.locator('#reply');
    await box.click();
    await page.keyboard.type('/hel');
    await page.locator('#canned-hint', { hasText: '/hello' }).waitFor();
    await page.keyboard.press('Tab');
    assert.equal(await box.inputValue(), 'E2E canned hello: how can we help?');
    await box.fill('');

    // Shift+Enter makes a new line; Enter sends.
    await box.click();
    await page.keyboard.type('Hi Alice, this is Ann.');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('How can I help?');
    assert.equal(await box.inputValue(), 'Hi Alice, this is Ann.\nHow can I help?', 'Shift+Enter sent instead of adding a line');
    await page.keyboard.press('Enter');

    const to = 'whatsapp:' + A.number;
    const req = await eventually('Twilio to receive the reply', () => sentTo(to)[0]);
    await sleep(500); // nothing else may follow
    const all = sentTo(to);
    assert.equal(all.length, 1, 'exactly one message to the customer');
    assert.equal(req.form.Body, 'Hi Alice, this is Ann.\nHow can I help?');
    assert.equal(req.form.From, WHATSAPP_FROM);
    assert.equal(req.form.ContentSid, undefined);
    assert.equal(await box.inputValue(), '', 'the box is emptied after sending');

    const out = page.locator('#messages .msg-out', { hasText: 'How can I help?' });
    await out.waitFor();
    // Twilio reports delivery; the page shows it without a reload.
    await statusCallback(req.sid, to, 'delivered');
    await out.locator('.msg-status', { hasText: 'Delivered' }).waitFor();
  });

  step('outside 24 hours the box becomes a template picker', async () => {
    const { page } = W.ann;
    await inbound(whatsAppIn(B.number, 'I need help with my order', B.name));
    await card(page, B.name).waitFor();

    // Close the contact's 24-hour window: last message 25 hours ago.
    await H.closeWindow(B.number);

    await card(page, B.name).click();
    await page.locator('#conv-name', { hasText: B.name }).waitFor();
    await page.locator('#c-template').waitFor();
    assert.equal(await page.locator('#reply').isVisible(), false, 'free text is offered outside the window');
    assert.deepEqual(await page.locator('#tpl option').allTextContents(), ['e2e_follow_up']);
    await page.locator('#tpl-preview', { hasText: 'Hi {{1}}, the E2E desk' }).waitFor();
    await page.fill('#tpl-vars input[data-var="1"]', 'Bongani');
    await page.locator('#tpl-preview', { hasText: 'Hi Bongani, the E2E desk is following up on your message.' }).waitFor();
    await page.click('#tpl-send');

    const to = 'whatsapp:' + B.number;
    const req = await eventually('Twilio to receive the template', () => sentTo(to)[0]);
    assert.equal(req.form.ContentSid, TEMPLATE_SID);
    assert.deepEqual(JSON.parse(req.form.ContentVariables), { 1: 'Bongani' });
    assert.equal(req.form.Body, undefined, 'a template goes without a Body');
    await page.locator('#messages .msg-out .msg-template', { hasText: 'Hi Bongani' }).waitFor();
    assert.equal(sentTo(to).length, 1);
  });

  step('quick accept 3 takes the three oldest unassigned tickets', async () => {
    const { page } = W.ann;
    await setPresence(page, 'offline');
    await openTab(page, 'unassigned');
    for (const t of TICKETS) {
      await inbound(t.channel === 'sms' ? smsIn(t.number, t.body) : whatsAppIn(t.number, t.body, t.name));
      await sleep(120); // distinct creation times
    }
    // Real time, newest on top.
    await eventually('four tickets in Unassigned', async () => (await page.locator('#list .card').count()) === 4);
    assert.deepEqual(await ticketOrder(page), [3, 2, 1, 0], 'unassigned tickets are newest first');
    await eventually('the Unassigned count to be 4', async () => (await countBadge(page, 'unassigned')) === 4);
    assert.equal(await page.isEnabled('.quick-n[data-n="3"]'), true);
    assert.equal(await page.isEnabled('.quick-n[data-n="5"]'), false, 'quick accept 5 with 4 waiting');

    await page.click('.quick-n[data-n="3"]');
    await page.locator('.toast', { hasText: 'Accepted 3 tickets' }).waitFor();
    await eventually('one ticket left in Unassigned', async () => (await page.locator('#list .card').count()) === 1);
    assert.deepEqual(await ticketOrder(page), [3], 'the newest ticket is left');

    await openTab(page, 'assigned');
    await eventually('three tickets in Assigned', async () => (await page.locator('#list .card').count()) === 3);
    assert.deepEqual((await ticketOrder(page)).sort(), [0, 1, 2], 'the three oldest were taken');
    assert.equal(await countBadge(page, 'assigned'), 3);

    // Answering a ticket: Start chat reveals the box.
    await card(page, TICKETS[0].number).click();
    await page.locator('#c-start-btn', { hasText: 'Start chat' }).waitFor();
    assert.equal(await page.locator('#reply').isVisible(), false);
    await page.click('#c-start-btn');
    await page.locator('#reply').waitFor();
    await page.fill('#reply', 'Hello, Ann here about your card.');
    await page.keyboard.press('Enter');
    await eventually('Twilio to receive the ticket reply',
      () => sentTo(TICKETS[0].number).find((r) => r.form.Body === 'Hello, Ann here about your card.'));
    await page.locator('#actions button[data-action="Close ticket"]:not([disabled])').waitFor();

    await setPresence(page, 'online');
  });

  step('closes a chat with a sentiment and a tag', async () => {
    const { page } = W.ann;
    await openTab(page, 'live');
    await card(page, A.name).click();
    await page.locator('#conv-name', { hasText: A.name }).waitFor();
    await page.click('#actions button[data-action="Close chat"]');
    const dlg = page.locator('#close-dialog');
    await dlg.waitFor();
    const tags = await page.locator('#close-tag option').allTextContents();
    assert.deepEqual(tags, ['No tag', 'account access', 'billing', 'delivery', 'refund'], 'tags are alphabetical');

    // The sentiment is required.
    await page.click('#close-submit');
    await page.locator('#close-error', { hasText: 'Pick how it went' }).waitFor();

    await page.check('#close-sentiments input[value="positive"]');
    await page.selectOption('#close-tag', 'delivery');
    await page.fill('#close-notes', 'Parcel found; customer happy.');
    await page.fill('#close-refs', 'ORD-1001\nORD-1002\n');
    await page.click('#close-submit');
    await dlg.waitFor({ state: 'hidden' });

    await page.locator('#closure-box', { hasText: 'positive' }).waitFor();
    await page.locator('#closure', { hasText: 'ORD-1002' }).waitFor();
    await eventually('the chat to leave Live', async () => (await card(page, A.name).count()) === 0);
    await openTab(page, 'closed');
    const closed = card(page, A.name);
    await closed.waitFor();
    await closed.locator('.chip.tag', { hasText: 'delivery' }).waitFor();
    assert.equal(await countBadge(page, 'closed'), 1);
    // Filtering by tag keeps it; another tag hides it.
    await page.click('#f-toggle'); // the filters are folded under the search
    await page.selectOption('#f-tag', 'delivery');
    await card(page, A.name).waitFor();
    await page.selectOption('#f-tag', 'refund');
    await page.locator('#list-meta', { hasText: 'Nothing matches' }).waitFor();
    await page.selectOption('#f-tag', '');
    await card(page, A.name).waitFor();
    await page.locator('#actions button[data-action="Reopen chat"]').waitFor();
  });

  step('message bodies are text, never markup', async () => {
    const { page } = W.ann;
    await openTab(page, 'live');
    const evil = '<img src=x onerror=alert(1)>';
    await inbound(whatsAppIn(D.number, evil, D.name));
    await card(page, D.name).waitFor();
    await card(page, D.name).locator('.card-preview', { hasText: evil }).waitFor();
    await inbound(whatsAppIn(D.number, '<script>window.__pwned=1</script> see https://example.com/a?b=1, or javascript:alert(2)', D.name));
    await card(page, D.name).click();
    await page.locator('#conv-name', { hasText: D.name }).waitFor();
    const first = page.locator('#messages .msg-in .msg-text', { hasText: 'onerror' });
    await first.waitFor();
    assert.equal(await first.textContent(), evil, 'the body shows as literal text');
    await page.locator('#messages .msg-in', { hasText: '<script>' }).waitFor();
    await sleep(300); // let an image error fire, were there one
    assert.equal(await page.locator('#messages img').count(), 0, 'an <img> was created in the message list');
    assert.equal(await page.locator('img, script:not([src])').count(), 0, 'markup from a message reached the page');
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    const link = page.locator('#messages a', { hasText: 'https://example.com/a?b=1' });
    assert.equal(await link.getAttribute('href'), 'https://example.com/a?b=1');
    assert.match(await link.getAttribute('rel'), /noopener/);
    assert.equal(await page.locator('#messages a[href^="javascript"]').count(), 0);
    assert.deepEqual(W.ann.dialogs, [], 'an alert ran');

    // Media show from Parley's signed URLs, never Twilio's (media.test.mjs
    // has the rest), a shared location as a map link.
    const photo = H.addMedia(Buffer.from('not really a JPEG'), 'image/jpeg');
    await inbound(H.withMedia(Object.assign(whatsAppIn(D.number, 'Photo of the label', D.name), { MessageType: 'image' }), [photo]));
    await inbound(Object.assign(whatsAppIn(D.number, '', D.name),
      { Latitude: '-33.9249', Longitude: '18.4241', Address: 'Cape Town', Label: 'Depot', MessageType: 'location' }));
    const media = page.locator('#messages .att-image img');
    await media.waitFor();
    assert.match(await media.getAttribute('src'), /\/api\/v1\/conversations\/[\w-]+\/media\/[\w-]+\?exp=\d+&sig=/);
    const map = page.locator('#messages a', { hasText: 'Depot, Cape Town' });
    await map.waitFor();
    assert.match(await map.getAttribute('href'), /^https:\/\/www\.openstreetmap\.org\/\?mlat=-33\.9249&mlon=18\.4241/);
    assert.equal(await page.locator('#messages img').count(), 1, 'only the photo is an image');
  });

  step('a second agent viewing the chat is shown', async () => {
    const { page } = W.ann;
    // Ann mentions Bob on her live chat with Dora, so Bob may see it.
    await page.locator('#conv-name', { hasText: D.name }).waitFor();
    await page.fill('#comment', '@bob can you check this odd message?');
    await page.click('#comment-send');
    await page.locator('#messages .msg-note', { hasText: '@bob can you check' }).waitFor();

    W.bob = await newDesk('bob');
    const bob = W.bob.page;
    await signIn(W.bob, 'bob');
    await bob.locator('#bell-count', { hasText: '1' }).waitFor();
    await eventually('Bob\'s Tagged count to be 1', async () => (await countBadge(bob, 'tagged')) === 1);
    await openTab(bob, 'tagged');
    await card(bob, D.name).click();
    await bob.locator('#conv-name', { hasText: D.name }).waitFor();
    await bob.locator('#c-readonly', { hasText: 'Only the assigned agent' }).waitFor();
    await bob.locator('#viewers', { hasText: 'ann' }).waitFor();

    await page.locator('#viewers .viewer[data-agent="bob"]').waitFor();
    const viewers = await page.locator('#viewers').textContent();
    assert.match(viewers, /Also here: .*Bob Builder/);
    assert.doesNotMatch(viewers, /\bann\b/, 'Ann is shown to herself');

    // The bell lists the mention and opening it marks it read.
    await bob.click('#bell');
    await bob.locator('.bell-item', { hasText: 'mentioned you' }).waitFor();
    await bob.locator('#bell-count').waitFor({ state: 'hidden' });
  });
  step('flags, parks, reopens and transfers chats', async () => {
    const { page } = W.ann;
    const bob = W.bob.page;

    // Flag and unflag Bongani's chat, then park it in Pending.
    await openTab(page, 'live');
    await card(page, B.name).click();
    await page.locator('#conv-name', { hasText: B.name }).waitFor();
    await page.click('#actions button[data-action="Flag"]');
    await card(page, B.name).locator('.chip.flag').waitFor();
    await page.click('#actions button[data-action="Unflag"]');
    await eventually('the flag to go', async () => (await card(page, B.name).locator('.chip.flag').count()) === 0);
    await page.click('#actions button[data-action="Mark pending"]');
    await eventually('the chat to leave Live', async () => (await card(page, B.name).count()) === 0);
    await openTab(page, 'pending');
    await card(page, B.name).waitFor();
    await page.fill('#f-q', 'nobody is called this');
    await page.locator('#list-meta', { hasText: 'Nothing matches' }).waitFor();
    await page.fill('#f-q', 'bongani');
    await card(page, B.name).waitFor();
    await page.click('#f-clear');

    // Reopen Alice's closed chat with a first message.
    await openTab(page, 'closed');
    await card(page, A.name).click();
    await page.locator('#conv-name', { hasText: A.name }).waitFor();
    await page.click('#actions button[data-action="Reopen chat"]');
    await page.fill('#reply', 'Hi Alice, one more thing about your parcel.');
    await page.keyboard.press('Enter');
    await eventually('Twilio to receive the reopening message',
      () => sentTo('whatsapp:' + A.number).find((r) => r.form.Body === 'Hi Alice, one more thing about your parcel.'));
    await page.locator('#conv-sub', { hasText: 'Live' }).waitFor();
    await openTab(page, 'live');
    await card(page, A.name).waitFor();

    // Transfer Dora's chat to Bob, who comes online.
    await setPresence(bob, 'online');
    await card(page, D.name).click();
    await page.locator('#conv-name', { hasText: D.name }).waitFor();
    await page.click('#actions button[data-action="Transfer"]');
    await page.locator('#transfer-dialog').waitFor();
    await page.locator('#transfer-agent option[value="bob"]').waitFor({ state: 'attached' });
    assert.equal(await page.locator('#transfer-agent option[value="ann"]').count(), 0, 'ann is offered her own chat');
    await page.check('#transfer-to-agent');
    await page.selectOption('#transfer-agent', 'bob');
    await page.click('#transfer-submit');
    await page.locator('#transfer-dialog').waitFor({ state: 'hidden' });
    await page.locator('.toast', { hasText: 'Chat transferred to Bob Builder' }).waitFor();
    await page.locator('#empty').waitFor();
    await eventually('the chat to leave Ann\'s Live', async () => (await card(page, D.name).count()) === 0);

    await bob.locator('#conv-sub', { hasText: 'with you' }).waitFor();
    await bob.locator('#reply').waitFor();
    await openTab(bob, 'live');
    await card(bob, D.name).waitFor();

    // Signing out ends the session.
    await bob.click('#signout');
    await bob.locator('#signin-form').waitFor();
    const me = await W.bob.context.request.get(W.base + '/api/v1/me');
    assert.equal(me.status(), 401, 'the session still works after signing out');
  });
});
