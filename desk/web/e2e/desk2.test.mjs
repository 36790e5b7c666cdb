// Browser tests of the desk's second pass (issue 13): the phone-width
// layout, what an agent misses in the list and the conversation, and live
// events applied without reading the list again. Same harness as
// desk.test.mjs, on its own Redis database; screenshots go to
// test-artifacts/desk2/.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  ROOT, alnum, eventually, makeHarness, makeStep, card, ALWAYS_OPEN, signIn as formSignIn, openTab, setPresence,
} from './harness.mjs';

const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'desk2');
const DB = 11;
const H = makeHarness({ db: DB, artifacts: ARTIFACTS });
const USERS = [
  { id: 'ann', name: 'Ann Agent', role: 'agent', capacity: 20 },
  { id: 'bob', name: 'Bob Builder', role: 'agent', capacity: 5 },
  { id: 'sue', name: 'Sue Supervisor', role: 'supervisor' },
].map((u) => Object.assign(u, { password: u.id + '-' + alnum(16) }));
const PASSWORDS = Object.fromEntries(USERS.map((u) => [u.id, u.password]));

const CONFIG = `# Written by desk2.test.mjs: always open, a survey, short texts.
${ALWAYS_OPEN}timeouts:
  queue_timeout: 1h
  agent_response_timeout: 1h
  inactivity_timeout: 2h
  pending_timeout: 24h
  ticket_session_timeout: 1h
survey:
  enabled: true
  question: "E2E2: rate us 1 to 5."
  thanks: "E2E2: thanks."
texts:
  out_of_hours: "E2E2: closed."
  no_agent: "E2E2: nobody free."
  leave_message: "E2E2: leave a message? YES or NO."
  collecting: "E2E2: collecting."
  declined: "E2E2: declined."
  ended: "E2E2: ended."
`;

const { parleyCli, inbound, whatsAppIn, smsIn, statusCallback, sentTo, newDesk } = H;
const W = Object.assign(H.W, { ann: null, phone: null, sue: null, bob: null, shots: 0 });

const shot = H.shotOf(() => [W.ann, W.phone, W.sue, W.bob]);
const step = makeStep(W, () => [W.ann, W.phone, W.sue, W.bob], shot);
const signIn = (desk, user) => formSignIn(W.base, desk, user, PASSWORDS[user]);
const presence = (id, p) => parleyCli(['agent', 'presence', '-id', id, '-presence', p]);

// A desk with a fake sound card and a fake Notification, counting what
// the page plays and shows, at the given width.
async function countingDesk(who, width) {
  const desk = await newDesk(who);
  await desk.page.setViewportSize({ width, height: width > 500 ? 900 : 844 });
  await desk.context.addInitScript(() => {
    window.beeps = 0;
    window.notes = [];
    const P = (window.AudioContext || window.webkitAudioContext).prototype;
    const make = P.createOscillator;
    P.createOscillator = function counted() { window.beeps++; return make.call(this); };
    window.Notification = class {
      constructor(title, opts) { window.notes.push(title + ': ' + ((opts && opts.body) || '')); }
      static get permission() { return 'granted'; }
      static requestPermission() { return Promise.resolve('granted'); }
    };
  });
  return desk;
}

const scrollWidth = (page) => page.evaluate(() => document.documentElement.scrollWidth);
const visible = (page, sel) => page.locator(sel).isVisible();

const A = { number: '+27830000001', name: 'Alice Adams' };
const B = { number: '+27830000002', name: 'Bongani Bhengu' };

describe('desk, second pass, in a browser', { timeout: 600_000 }, () => {
  before(async () => {
    await H.boot(CONFIG, USERS);
    W.ann = await countingDesk('ann', 1280);
  }, { timeout: 120_000 });

  after(async () => {
    await H.finish();
  }, { timeout: 60_000 });

  step('sound alerts are on by default beside Live, and a hidden tab gets a notification', async () => {
    const { page } = W.ann;
    await signIn(W.ann, 'ann');
    await setPresence(page, 'online');
    const bell = page.locator('.tab-row #alerts');
    assert.equal(await bell.getAttribute('aria-pressed'), 'true', 'sound alerts are off on a first sign-in');
    assert.equal(await page.locator('#alerts-text').textContent(), 'Sound alerts on');

    await inbound(whatsAppIn(A.number, 'Hello, my order is at www.example.com/orders/42.', A.name));
    await card(page, A.name).waitFor();
    await eventually('a beep for the new chat', async () => (await page.evaluate(() => window.beeps)) >= 1);

    await page.evaluate(() => Object.defineProperty(document, 'hidden', { configurable: true, get: () => true }));
    await inbound(whatsAppIn(B.number, 'Good day, I have a question', B.name));
    await card(page, B.name).waitFor();
    await eventually('a notification while hidden', async () => (await page.evaluate(() => window.notes)).some((n) => n.includes(B.name)));
    await page.evaluate(() => delete document.hidden);

    await bell.click();
    assert.equal(await bell.getAttribute('aria-pressed'), 'false');
    const before = await page.evaluate(() => window.beeps);
    await inbound(smsIn('+27830000003', 'A third customer'));
    await card(page, '+27830000003').waitFor();
    await page.waitForTimeout(500);
    assert.equal(await page.evaluate(() => window.beeps), before, 'a beep with sound alerts off');
    await bell.click();
    assert.equal(await bell.getAttribute('aria-pressed'), 'true');
  });

  step('cards: initials, the last responder, www. links, labels', async () => {
    const { page } = W.ann;
    await card(page, A.name).click();
    await page.locator('#conv-name', { hasText: A.name }).waitFor();
    const link = page.locator('#messages a', { hasText: 'www.example.com/orders/42' });
    assert.equal(await link.getAttribute('href'), 'https://www.example.com/orders/42', 'a www. address is not a link');
    assert.equal(await page.locator('#conv-avatar').textContent(), 'AA');
    assert.equal(await card(page, A.name).locator('.avatar').first().textContent(), 'AA');
    assert.equal(await card(page, '+27830000003').locator('.avatar').first().textContent(), '03');

    assert.equal(await page.getByLabel('Reply to the customer').getAttribute('id'), 'reply');
    assert.equal(await page.getByLabel('Internal comment').getAttribute('id'), 'comment');

    await page.fill('#reply', 'Hi Alice, looking into it');
    await page.click('#send');
    await card(page, A.name).locator('.card-responder', { hasText: 'Last reply: you' }).waitFor();
    await page.locator('#conv-sub', { hasText: 'last reply by you' }).waitFor();
  });

  step('the blue dot has a text, and the list moves with the arrow keys', async () => {
    const { page } = W.ann;
    await inbound(whatsAppIn(B.number, 'Are you there?', B.name));
    const dot = card(page, B.name).locator('.dot-new');
    await dot.waitFor();
    assert.equal(await dot.textContent(), 'New activity');
    // The message reorders the list once; the keys are tried after that.
    await card(page, B.name).locator('.card-preview', { hasText: 'Are you there?' }).waitFor();
    await page.waitForTimeout(1000);

    const cards = page.locator('#list .card');
    await cards.first().focus();
    await page.keyboard.press('ArrowDown');
    const second = await cards.nth(1).getAttribute('data-id');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.id), second, 'ArrowDown did not move to the next card');
    await page.keyboard.press('End');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.id), await cards.last().getAttribute('data-id'));
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowDown');
    const focused = await page.evaluate(() => document.activeElement.dataset.id);
    await page.keyboard.press('Enter');
    await eventually('the focused card opened', async () => (await page.evaluate(() => location.hash)) === '#c=' + focused);
  });

  step('a live event updates the open conversation without reading the list', async () => {
    const { page } = W.ann;
    await card(page, B.name).click();
    await page.locator('#conv-name', { hasText: B.name }).waitFor();
    await page.fill('#reply', 'Yes, here');
    await page.click('#send');
    const mine = page.locator('#messages .msg-out', { hasText: 'Yes, here' });
    await mine.waitFor();
    const to = 'whatsapp:' + B.number;
    const sent = await eventually('the reply at Twilio', async () => sentTo(to).find((r) => r.form.Body === 'Yes, here'));
    await page.waitForTimeout(1000); // let the send's own refreshes settle

    const seen = [];
    const track = (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith('/api/v1/') && !u.pathname.endsWith('/viewing') && u.pathname !== '/api/v1/events') seen.push(r.method() + ' ' + u.pathname + u.search);
    };
    page.on('request', track);
    await statusCallback(sent.sid, to, 'delivered');
    await mine.locator('.msg-status', { hasText: 'Delivered' }).waitFor();
    await page.waitForTimeout(500);
    assert.deepEqual(seen, [], 'a status event made the page read the API');

    await inbound(whatsAppIn(B.number, 'Thanks, one more thing', B.name));
    await page.locator('#messages .msg-in', { hasText: 'one more thing' }).waitFor();
    await card(page, B.name).locator('.card-preview', { hasText: 'one more thing' }).waitFor();
    await page.waitForTimeout(500);
    page.off('request', track);
    const lists = seen.filter((s) => s.startsWith('GET /api/v1/conversations?') || s.startsWith('GET /api/v1/counts'));
    assert.deepEqual(lists, [], 'a message on the open conversation read the list or the counts again');
  });

  step('collision notes name the supervisor watching', async () => {
    W.sue = await newDesk('sue');
    await signIn(W.sue, 'sue');
    const id = await W.ann.page.evaluate(() => decodeURIComponent(location.hash.slice(3)));
    await W.sue.page.goto(W.base + '/desk/#c=' + encodeURIComponent(id));
    await W.sue.page.locator('#conv-name', { hasText: B.name }).waitFor();
    const { page } = W.ann;
    await page.locator('#viewers', { hasText: 'Sue Supervisor' }).waitFor();
    await page.locator('#messages #collision-note', { hasText: 'Sue Supervisor is viewing this conversation' }).waitFor();
    assert.doesNotMatch(await page.locator('#viewers').textContent(), /\bsue\b/, 'the viewer shows as a user id');
  });

  step('the centre follows the tab, and filters fold away', async () => {
    const { page } = W.ann;
    assert.equal(await visible(page, '#conv'), true);
    await openTab(page, 'closed');
    // The new tab's list decides (it loads after the click): poll, do not race it.
    await eventually('the previous tab\'s conversation closes', async () => !(await visible(page, '#conv')) && (await visible(page, '#empty')));
    assert.equal(await visible(page, '#f-channel'), false, 'the filters are unfolded');
    await page.click('#f-toggle');
    await page.selectOption('#f-channel', 'sms');
    assert.equal(await page.locator('#f-on').textContent(), '1');
    await page.selectOption('#f-channel', '');
    await page.click('#f-toggle');
    assert.equal(await visible(page, '#f-channel'), false);
    await openTab(page, 'live');
  });

  step('a survey rating shows on the closed chat; a converted ticket shows its subject', async () => {
    const { page } = W.ann;
    await card(page, A.name).click();
    await page.locator('#conv-name', { hasText: A.name }).waitFor();
    await page.click('button[data-action="Close chat"]');
    await page.locator('#close-sentiments input[value="positive"]').check();
    await page.click('#close-submit');
    await eventually('the survey question sent', async () => sentTo('whatsapp:' + A.number).some((r) => r.form.Body === 'E2E2: rate us 1 to 5.'));
    await inbound(whatsAppIn(A.number, '4 very helpful', A.name));
    await openTab(page, 'closed');
    await card(page, A.name).click();
    await page.locator('#facts dd', { hasText: '★★★★☆ 4 of 5: very helpful' }).waitFor();
    await page.locator('#conv-sub', { hasText: 'rated 4 of 5' }).waitFor();

    await page.click('button[data-action="Make a ticket"]');
    await page.click('#convert-submit');
    await page.locator('#convert-error', { hasText: 'Write a subject' }).waitFor();
    await page.fill('#convert-subject', 'Refund for order 42');
    assert.equal(await visible(page, '#convert-error'), false, 'the subject error stays after a subject is typed');
    await page.click('#convert-submit');
    await page.locator('.tab[data-tab="assigned"].active').waitFor();
    await page.locator('#conv-subject', { hasText: 'Subject: Refund for order 42' }).waitFor();
    await card(page, A.name).locator('.card-subject', { hasText: 'Refund for order 42' }).waitFor();
    await page.locator('#c-start-text', { hasText: 'made from a closed chat' }).waitFor();
  });

  step('ticket cards preview the customer and a declined ticket waits for nobody', async () => {
    const { page } = W.ann;
    await setPresence(page, 'away');
    await inbound(smsIn('+27830000011', 'My parcel is lost'));
    await eventually('the question to the first', async () => sentTo('+27830000011').some((r) => r.form.Body.includes('YES or NO')));
    await inbound(smsIn('+27830000011', 'no'));
    await inbound(smsIn('+27830000012', 'Please call me'));
    await eventually('the question to the second', async () => sentTo('+27830000012').some((r) => r.form.Body.includes('YES or NO')));
    await inbound(smsIn('+27830000012', 'yes'));
    await inbound(smsIn('+27830000012', 'It is about my bill'));
    await openTab(page, 'unassigned');
    const declined = card(page, '+27830000011');
    const left = card(page, '+27830000012');
    await declined.locator('.card-preview', { hasText: 'My parcel is lost' }).waitFor();
    await declined.locator('.chip', { hasText: 'No message left' }).waitFor();
    assert.equal(await declined.locator('.chip', { hasText: 'Waiting for reply' }).count(), 0, 'a declined ticket waits for a reply');
    await left.locator('.card-preview', { hasText: 'It is about my bill' }).waitFor();
    await left.locator('.chip', { hasText: 'Waiting for reply' }).waitFor();
    await setPresence(page, 'online');
  });

  step('presence is remembered across sign-ins', async () => {
    W.bob = await newDesk('bob');
    const { page } = W.bob;
    await signIn(W.bob, 'bob');
    assert.equal(await page.locator('#presence').inputValue(), 'offline');
    await setPresence(page, 'online');
    await page.click('#signout');
    await page.locator('#signin-form').waitFor();
    await presence('bob', 'offline'); // what the server does once no desk is open
    await signIn(W.bob, 'bob');
    await eventually('bob online again', async () => (await page.locator('#presence').inputValue()) === 'online');
    const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
    assert.equal(me.presence, 'online');
    assert.equal(me.accepting, true);
    await W.bob.context.close();
    W.bob = null;
  });

  step('phone width: one pane at a time with back controls, nothing wider than the screen', async () => {
    W.phone = await countingDesk('phone', 390);
    const { page } = W.phone;
    await signIn(W.phone, 'ann');
    await openTab(page, 'live');
    await card(page, B.name).waitFor();
    assert.equal(await visible(page, '.left'), true);
    assert.equal(await visible(page, '.center'), false, 'the conversation pane shows beside the list');
    assert.ok((await scrollWidth(page)) <= 390, `the list is ${await scrollWidth(page)} px wide`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'phone-1-list.png') });

    await card(page, B.name).click();
    await page.locator('#conv-name', { hasText: B.name }).waitFor();
    assert.equal(await visible(page, '.left'), false, 'the list shows beside the conversation');
    assert.equal(await visible(page, '.right'), false);
    assert.equal(await visible(page, '#reply'), true);
    assert.ok((await scrollWidth(page)) <= 390, `the conversation is ${await scrollWidth(page)} px wide`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'phone-2-conversation.png') });

    await page.click('#to-details');
    assert.equal(await visible(page, '#facts'), true);
    assert.equal(await visible(page, '.center'), false);
    assert.ok((await scrollWidth(page)) <= 390, `the details are ${await scrollWidth(page)} px wide`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'phone-3-details.png') });

    await page.click('#back-conv');
    assert.equal(await visible(page, '#reply'), true);
    await page.click('#back-list');
    assert.equal(await visible(page, '.left'), true);
    assert.equal(await visible(page, '.center'), false);
    assert.equal(await page.evaluate(() => location.hash), '', 'back to the list left the conversation open');

    // The supervisor's desk and reports fit too.
    await W.sue.page.setViewportSize({ width: 390, height: 844 });
    await W.sue.page.click('#back-list');
    assert.ok((await scrollWidth(W.sue.page)) <= 390, `the supervisor's list is ${await scrollWidth(W.sue.page)} px wide`);
    await W.sue.page.click('.view-tab[data-view="reports"]');
    await W.sue.page.click('#r-show');
    await W.sue.page.locator('#report-body').waitFor();
    assert.ok((await scrollWidth(W.sue.page)) <= 390, `the reports are ${await scrollWidth(W.sue.page)} px wide`);
    await W.sue.page.screenshot({ path: path.join(ARTIFACTS, 'phone-4-reports.png'), fullPage: true });
    await W.sue.page.click('.view-tab[data-view="desk"]');

    // At 1280 px the three panes show side by side, as before.
    await openTab(W.ann.page, 'live');
    await card(W.ann.page, B.name).click();
    for (const sel of ['.left', '.center', '.right']) assert.equal(await visible(W.ann.page, sel), true, sel + ' hidden at 1280 px');
  });
});
