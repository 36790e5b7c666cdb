// Browser tests of the desk's routing and comment gaps (issue 13): the
// pop-up of a routed chat with Accept and its countdown, the pause an agent
// gets for ignoring one and its one-click resume, @-mention autocomplete,
// and the supervisor's Bots tab. Same harness as desk.test.mjs, on its own
// Redis database; screenshots go to test-artifacts/desk3/.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import {
  ROOT, SMS_FROM, alnum, eventually, makeHarness, makeStep, card, ALWAYS_OPEN, signIn as formSignIn, setPresence, openTab,
} from './harness.mjs';

const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'desk3');
const DB = 8;
const H = makeHarness({ db: DB, artifacts: ARTIFACTS });
const USERS = [
  { id: 'ann', name: 'Ann Agent', role: 'agent', capacity: 20 },
  { id: 'bob', name: 'Bob Builder', role: 'agent', capacity: 5 },
  { id: 'sue', name: 'Sue Supervisor', role: 'supervisor' },
].map((u) => Object.assign(u, { password: u.id + '-' + alnum(16) }));
const PASSWORDS = Object.fromEntries(USERS.map((u) => [u.id, u.password]));

// The agent response timeout is short enough to watch it run out, long
// enough to accept a chat and answer it on a busy machine.
const RESPONSE_SECONDS = 30;
const CONFIG = `# Written by desk3.test.mjs: always open, a short agent response timeout.
${ALWAYS_OPEN}timeouts:
  queue_timeout: 1h
  agent_response_timeout: ${RESPONSE_SECONDS}s
  inactivity_timeout: 2h
  pending_timeout: 24h
  ticket_session_timeout: 1h
pause_ignoring_agent: true
bots:
  - id: greeter
    url: BOT_URL
    secret_env: E2E3_BOT_SECRET
    numbers: ["${SMS_FROM}"]
    idle_timeout: 1h
    active: always
texts:
  out_of_hours: "E2E3: closed."
  no_agent: "E2E3: nobody free."
  leave_message: "E2E3: leave a message? YES or NO."
  collecting: "E2E3: collecting."
  declined: "E2E3: declined."
  ended: "E2E3: ended."
`;

const { inbound, whatsAppIn, smsIn, sentTo, newDesk } = H;
const W = Object.assign(H.W, { ann: null, sue: null, shots: 0 });

const shot = H.shotOf(() => [W.ann, W.sue]);
const step = makeStep(W, () => [W.ann, W.sue], shot);
const signIn = (desk, user) => formSignIn(W.base, desk, user, PASSWORDS[user]);
const me = (page) => page.evaluate(async () => (await fetch('/api/v1/me')).json());
const secondsLeft = async (box) => {
  const m = (await box.locator('.routed-left').textContent()).match(/(\d+):(\d\d)/);
  return m ? Number(m[1]) * 60 + Number(m[2]) : NaN;
};

const A = { number: '+27840000001', name: 'Amahle Accept' };
const B = { number: '+27840000002', name: 'Bram Ignored' };
const C = { number: '+27840000003', name: 'Chipo Second' };
const D = { number: '+27840000004', name: 'Dumi Kept' };
const E = { number: '+27840000005', name: 'Esi Not Routed' };

describe('desk: routed chats, the pause, mentions, bots', { timeout: 600_000 }, () => {
  before(async () => {
    // A bot that takes every SMS chat and answers nothing, so the chat
    // stays in the bot state for the supervisor's Bots tab.
    W.bot = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => { res.writeHead(200, { 'Content-Type': 'application/json' }); res.end('{"actions": []}'); });
    });
    await new Promise((r) => W.bot.listen(0, '127.0.0.1', r));
    process.env.E2E3_BOT_SECRET = alnum(32);
    await H.boot(CONFIG.replace('BOT_URL', `http://127.0.0.1:${W.bot.address().port}/`), USERS);
    W.ann = await newDesk('ann');
    await W.ann.page.setViewportSize({ width: 1280, height: 800 });
  }, { timeout: 120_000 });

  after(async () => {
    await H.finish();
    W.bot?.close();
    W.bot?.closeAllConnections?.();
  }, { timeout: 60_000 });

  step('a routed chat pops up with Accept and a countdown to the agent response timeout', async () => {
    const { page } = W.ann;
    await signIn(W.ann, 'ann');
    await setPresence(page, 'online');
    await inbound(whatsAppIn(A.number, 'Hi, is anyone there?', A.name));
    const box = page.locator('.routed', { hasText: A.name });
    await box.waitFor();
    assert.equal(await box.locator('button.routed-accept').textContent(), 'Accept');
    assert.match(await box.textContent(), /Hi, is anyone there\?/, 'the pop-up does not preview the message');
    const first = await secondsLeft(box);
    assert.ok(first > 0 && first <= RESPONSE_SECONDS, `countdown ${first}s, want within the ${RESPONSE_SECONDS}s timeout`);
    await eventually('the countdown goes down', async () => (await secondsLeft(box)) < first);
  });

  step('Accept opens the chat and the pop-up goes', async () => {
    const { page } = W.ann;
    await page.locator('.routed', { hasText: A.name }).locator('button.routed-accept').click();
    await page.locator('#conv-name', { hasText: A.name }).waitFor();
    assert.equal(await page.locator('.routed').count(), 0, 'the pop-up stays after Accept');
    await page.fill('#reply', 'Yes, Ann here. How can I help?');
    await page.press('#reply', 'Enter');
    await page.locator('#messages .msg-out', { hasText: 'Ann here' }).waitFor();
  });

  step('an ignored chat\'s pop-up goes when its time runs out, and the agent sees the pause', async () => {
    const { page } = W.ann;
    await inbound(whatsAppIn(B.number, 'Hello? I will wait.', B.name));
    const box = page.locator('.routed', { hasText: B.name });
    await box.waitFor();
    assert.equal(await page.isVisible('#paused-note'), false, 'paused before ignoring anything');
    await eventually('the pop-up goes when the time is up', async () => (await box.count()) === 0, (RESPONSE_SECONDS + 30) * 1000);
    await page.locator('#paused-note').waitFor({ timeout: 30_000 });
    assert.match(await page.locator('#paused-note').textContent(), /Paused/);
    assert.equal(await page.isChecked('#accepting'), false, 'a paused agent still shows Accepting chats');
    assert.doesNotMatch(await page.getAttribute('#presence-dot', 'class'), /\bon\b/, 'the dot says taking chats');
    assert.equal((await me(page)).paused, true, 'the server does not say ann is paused');
    await eventually('the ignored chat left ann\'s Live list', async () => (await card(page, B.name).count()) === 0);
    // At phone width the notice and its button wrap inside the screen.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('#resume').waitFor();
    const wide = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 390, `the paused page is ${wide} px wide at 390 px`);
    await page.screenshot({ path: path.join(ARTIFACTS, 'paused-at-390.png') });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  step('one click resumes taking chats', async () => {
    const { page } = W.ann;
    await page.click('#resume');
    await page.locator('#paused-note').waitFor({ state: 'hidden' });
    assert.equal(await page.isChecked('#accepting'), true);
    assert.equal((await me(page)).paused, false, 'still paused on the server after Resume');
  });

  step('Stop new chats keeps the chat in hand and routes no more to the agent', async () => {
    const { page } = W.ann;
    await inbound(whatsAppIn(D.number, 'Hello, one question', D.name));
    const box = page.locator('.routed', { hasText: D.name });
    await box.waitFor();
    await box.locator('button.routed-stop').click();
    await eventually('the pop-up goes', async () => (await box.count()) === 0);
    await eventually('ann stops accepting', async () => (await me(page)).accepting === false);
    assert.equal(await page.isChecked('#accepting'), false, 'the desk still says Accepting chats');
    assert.equal((await me(page)).presence, 'online', 'Stop new chats took ann offline');
    await card(page, D.name).waitFor(); // the chat stays hers

    // The next customer finds nobody taking chats.
    await inbound(whatsAppIn(E.number, 'Anyone there?', E.name));
    const to = 'whatsapp:' + E.number;
    await eventually('the next customer is told nobody is free', async () => sentTo(to).some((r) => r.form.Body === 'E2E3: nobody free.'));
    assert.equal(await page.locator('.routed', { hasText: E.name }).count(), 0, 'a chat was routed to an agent who stopped');

    await page.check('#accepting');
    await eventually('ann accepts again', async () => (await me(page)).accepting === true);
  });

  step('@-mention autocomplete in the comment box, picked with the keyboard', async () => {
    const { page } = W.ann;
    await card(page, A.name).click();
    await page.locator('#conv-name', { hasText: A.name }).waitFor();
    const box = page.locator('#comment');
    await box.click();
    await box.type('Can you check this @');
    const list = page.locator('#mention-list');
    await list.waitFor();
    const names = await list.locator('li').allTextContents();
    assert.equal(names.length, 2, `suggestions ${names}: want Bob and Sue, not the writer`);
    assert.match(names[0], /Bob Builder@bob/);
    assert.match(names[1], /Sue Supervisor@sue/);
    await box.type('s');
    // Each suggestion reads initials (the avatar), name, @id.
    assert.deepEqual(await list.locator('li').allTextContents(), ['SSSue Supervisor@sue'], 'typing narrows the list');
    await box.press('Backspace');
    await page.keyboard.press('ArrowDown');
    assert.equal(await list.locator('li[aria-selected="true"]').textContent(), 'SSSue Supervisor@sue');
    await page.screenshot({ path: path.join(ARTIFACTS, 'mention-list-open.png') });
    await page.keyboard.press('Enter');
    assert.equal(await list.isVisible(), false, 'the list stays after a pick');
    assert.equal(await box.inputValue(), 'Can you check this @sue ');
    await box.type('please?');
    await page.keyboard.press('Control+Enter');
    await page.locator('#messages .msg-note', { hasText: '@sue please?' }).waitFor();
  });

  step('a message event updates another chat\'s card without reading the list', async () => {
    const { page } = W.ann;
    await inbound(whatsAppIn(C.number, 'First question from Chipo', C.name));
    await card(page, C.name).waitFor();
    await page.locator('.routed', { hasText: C.name }).waitFor();
    await page.locator('#conv-name', { hasText: A.name }).waitFor(); // A stays open
    const reads = [];
    const count = (r) => {
      const u = new URL(r.url());
      if (u.pathname === '/api/v1/conversations' || u.pathname === '/api/v1/counts' || u.pathname.endsWith('/' + encodeURIComponent(cid))) reads.push(u.pathname + u.search);
    };
    const cid = await card(page, C.name).getAttribute('data-id');
    page.on('request', count);
    await inbound(whatsAppIn(C.number, 'Second question, about delivery', C.name));
    await card(page, C.name).locator('.card-preview', { hasText: 'Second question, about delivery' }).waitFor();
    await card(page, C.name).locator('.dot-new').waitFor();
    page.off('request', count);
    assert.deepEqual(reads, [], 'the card was updated by reading the list or the conversation');
  });

  step('supervisors have the Bots tab with the server\'s count; agents do not', async () => {
    assert.equal(await W.ann.page.isVisible('.tab[data-tab="bot"]'), false, 'an agent sees the Bots tab');
    W.sue = await newDesk('sue');
    await W.sue.page.setViewportSize({ width: 1280, height: 800 });
    await signIn(W.sue, 'sue');
    const { page } = W.sue;
    await page.locator('.tab[data-tab="bot"]').waitFor();
    await inbound(smsIn('+27840000009', 'Hello bot, what are your hours?'));
    await eventually('the bot holds a chat', async () => Number(await page.locator('.count[data-count="bot"]').textContent()) === 1);
    const counts = await page.evaluate(async () => (await fetch('/api/v1/counts')).json());
    assert.ok('bot' in counts.tabs, 'the API has no bot count');
    await eventually('the Bots count is the server\'s', async () => Number(await page.locator('.count[data-count="bot"]').textContent()) === counts.tabs.bot);
    await openTab(page, 'bot');
    await card(page, '+27840000009').waitFor();
    await page.locator('#groups', { hasText: 'With a bot' }).waitFor();
  });
});
