// Browser tests of the supervisor desk, the administration and the reports:
// the real Parley binary (PARLEY_BIN) on Redis database 14 of
// PARLEY_TEST_REDIS (flushed first: it must be a throwaway), a fake Twilio
// REST API, signed webhooks, and Debian's Chromium driven by playwright-core.
//
//   PARLEY_BIN=/path/to/parley PARLEY_TEST_REDIS=127.0.0.1:6379 node --test desk/web/e2e/
//
// Agents ann and bob (support) take chats; carol (sales) stays offline; sue
// supervises and ada administers. Screenshots and Parley's log go to
// test-artifacts/supervisor/ at the repository's root.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ROOT, hex, alnum, sleep, eventually, makeHarness, makeStep, card, countBadge, ALWAYS_OPEN, signIn as formSignIn, openTab } from './harness.mjs';

const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'supervisor');
const DB = 14;
const H = makeHarness({ db: DB, artifacts: ARTIFACTS });
const { W, parleyCli, inbound, whatsAppIn, smsIn, sentTo, newDesk } = H;
const TEMPLATE_SID = 'HX' + hex(16);
const SALES_NUMBER = '+15005550099';
const USERS = [
  { id: 'ann', name: 'Ann Agent', role: 'agent', departments: ['support'], capacity: 5 },
  { id: 'bob', name: 'Bob Builder', role: 'agent', departments: ['support'], capacity: 5 },
  { id: 'carol', name: 'Carol Sales', role: 'agent', departments: ['sales'], capacity: 3 },
  { id: 'sue', name: 'Sue Supervisor', role: 'supervisor' },
  { id: 'ada', name: 'Ada Admin', role: 'admin' },
].map((u) => Object.assign(u, { password: u.id + '-' + alnum(16) }));
const PASSWORDS = Object.fromEntries(USERS.map((u) => [u.id, u.password]));

const TEXTS = {
  out_of_hours: 'SUP: we are closed today.',
  no_agent: 'SUP: nobody can take your chat.',
  leave_message: 'SUP: leave a message? Reply YES or NO.',
};

const CONFIG = `# Written by supervisor.test.mjs: open around the clock until the test adds a holiday.
${ALWAYS_OPEN}departments:
  - id: support
    name: Support
    numbers: ["whatsapp:+14155238886", "+15005550006"]
  - id: sales
    name: Sales
    numbers: ["${SALES_NUMBER}"]
default_department: support
timeouts:
  queue_timeout: 1h
  agent_response_timeout: 1h
  inactivity_timeout: 2h
  pending_timeout: 24h
  ticket_session_timeout: 1h
tags: [refund, delivery, billing]
templates:
  - name: sup_follow_up
    content_sid: ${TEMPLATE_SID}
    variables: ["1"]
    preview: "Hello {{1}}, the support team is following up on your chat."
texts:
  out_of_hours: "${TEXTS.out_of_hours}"
  no_agent: "${TEXTS.no_agent}"
  leave_message: "${TEXTS.leave_message}"
  collecting: "SUP: collecting."
  declined: "SUP: declined."
  ended: "SUP: ended."
  queued: "SUP: queued as {position}."
`;

const A = { number: '+27830000001', name: 'Alice Adams' }; // WhatsApp, to ann
const B = { number: '+27830000002', name: 'Bongani Bhengu' }; // WhatsApp, to ann
const C = { number: '+27830000003' }; // SMS, to bob
const E = { number: '+27830000005', name: 'Erin Early' }; // WhatsApp, on the holiday

Object.assign(W, { sue: null, ada: null, shots: 0, convs: {} });
const today = () => new Date().toISOString().slice(0, 10);

const signIn = (desk, user) => formSignIn(W.base, desk, user, PASSWORDS[user]);

const shot = H.shotOf(() => [W.sue, W.ada]);

// step is one test: it screenshots every open desk afterwards, pass or
// fail, and checks the page threw nothing and opened no alert.
const step = makeStep(W, () => [W.sue, W.ada], shot);

const group = (page, agent) => page.locator(`#group-list .group[data-agent="${agent}"]`);
const groupCount = async (page, agent) => {
  const g = group(page, agent);
  return (await g.count()) ? Number(await g.locator('.group-count').textContent()) : 0;
};

async function pickGroup(page, agent) {
  await group(page, agent).locator('button').click();
  await page.locator(`#group-list .group.active[data-agent="${agent}"]`).waitFor();
}

// inPage calls the API from the page, with its session and CSRF token.
function inPage(page, method, pathname, body) {
  return page.evaluate(async ([method, pathname, body]) => {
    const me = await (await fetch('/api/v1/me')).json();
    const res = await fetch('/api/v1' + pathname, {
      method,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf_token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try { data = await res.json(); } catch (e) { /* no body */ }
    return { status: res.status, data };
  }, [method, pathname, body]);
}

const presence = (id, p) => parleyCli(['agent', 'presence', '-id', id, '-presence', p]);

describe('supervisor desk, administration and reports in a browser', { timeout: 600_000 }, () => {
  before(async () => {
    await H.boot(CONFIG, USERS);
    W.sue = await newDesk('sue');
  }, { timeout: 120_000 });

  after(async () => {
    await H.finish();
  }, { timeout: 60_000 });

  step('grouped views: Live by agent with the right counts', async () => {
    // Ann comes online first and takes two chats; then Bob, who has
    // fewer, takes the third.
    await presence('ann', 'online');
    await inbound(whatsAppIn(A.number, 'Hi, my refund has not arrived', A.name));
    await inbound(whatsAppIn(B.number, 'Where is my parcel?', B.name));
    await presence('bob', 'online');
    await inbound(smsIn(C.number, 'Please call me about my account'));

    const { page } = W.sue;
    await signIn(W.sue, 'sue');
    await page.locator('#me-role', { hasText: 'Supervisor' }).waitFor();
    assert.equal(await page.locator('#presence-box').isVisible(), false, 'a supervisor has a presence to set');
    assert.equal(await page.locator('.tab[data-tab="tagged"]').isVisible(), false);
    assert.equal(await page.locator('.view-tab[data-view="admin"]').isVisible(), false, 'a supervisor is offered administration');
    await openTab(page, 'live');
    await eventually('Live grouped as ann 2, bob 1', async () =>
      (await groupCount(page, 'ann')) === 2 && (await groupCount(page, 'bob')) === 1 && (await groupCount(page, '*')) === 3);
    assert.equal(await group(page, 'carol').count(), 0, 'an agent with no live chat has a group');
    assert.equal(await group(page, 'ann').locator('.group-name').textContent(), 'Ann Agent');
    await group(page, 'ann').locator('.group-sub', { hasText: 'Online, taking chats · 2 of 5 live' }).waitFor();
    await eventually('three cards', async () => (await page.locator('#list .card').count()) === 3);

    // The team summary lists everyone; picking Ann shows hers.
    await page.locator('#summary tr[data-agent="carol"]', { hasText: 'Offline' }).waitFor();
    await pickGroup(page, 'ann');
    const sum = page.locator('#summary');
    await sum.locator('h2', { hasText: 'Ann Agent' }).waitFor();
    await sum.locator('.stat', { hasText: 'Live chats now' }).locator('.stat-value', { hasText: '2 of 5' }).waitFor();
    await sum.locator('.stat', { hasText: 'Presence' }).locator('.stat-value', { hasText: 'Online, taking chats' }).waitFor();
    await sum.locator('.stat', { hasText: 'Closed chats' }).locator('.stat-value', { hasText: '0' }).waitFor();
    await sum.locator('.stat', { hasText: 'Waiting for a reply' }).locator('.stat-value', { hasText: '2' }).waitFor();
    await sum.locator('tr', { hasText: A.name }).waitFor();
    await eventually('Ann\'s two cards', async () => (await page.locator('#list .card').count()) === 2);
    await card(page, A.name).waitFor();
    await card(page, B.name).waitFor();
    await page.locator('#list-meta', { hasText: '2 conversations of Ann Agent' }).waitFor();

    await pickGroup(page, 'bob');
    await eventually('Bob\'s one card', async () => (await page.locator('#list .card').count()) === 1);
    await card(page, C.number).waitFor();

    // Search applies to the groups and the list.
    await pickGroup(page, '*');
    await page.fill('#f-q', 'bongani');
    await eventually('the groups to follow the search', async () =>
      (await groupCount(page, 'ann')) === 1 && (await group(page, 'bob').count()) === 0);
    await eventually('one card', async () => (await page.locator('#list .card').count()) === 1);
    await card(page, B.name).waitFor();
    await page.click('#f-clear');
    await eventually('all three back', async () => (await groupCount(page, '*')) === 3 && (await page.locator('#list .card').count()) === 3);
    W.convs.A = await card(page, A.name).getAttribute('data-id');
    W.convs.B = await card(page, B.name).getAttribute('data-id');
    W.convs.C = await card(page, C.number).getAttribute('data-id');
    await pickGroup(page, 'ann');
  });

  step('watching a live chat: new messages appear, the supervisor comments', async () => {
    const { page } = W.sue;
    await card(page, A.name).click();
    await page.locator('#conv-name', { hasText: A.name }).waitFor();
    await page.locator('#conv-sub', { hasText: 'with Ann Agent' }).waitFor();
    await page.locator('#c-readonly.sup-notice', { hasText: 'Supervisors comment instead of writing to the customer' }).waitFor();
    assert.equal(await page.locator('#reply').isVisible(), false, 'the supervisor has a reply box');
    assert.equal(await page.locator('#c-text').isVisible(), false);
    assert.equal(await page.locator('#c-template').isVisible(), false);
    await page.evaluate(() => { window.__sameDocument = 'yes'; });

    await inbound(whatsAppIn(A.number, 'Hello? It was order 4711, paid last week.', A.name));
    await page.locator('#messages .msg-in', { hasText: 'order 4711' }).waitFor();
    assert.equal(await page.evaluate(() => window.__sameDocument), 'yes', 'the page was reloaded');

    // The API refuses a supervisor's reply anyway.
    const refused = await inPage(page, 'POST', `/conversations/${W.convs.A}/messages`, { body: 'I am the supervisor' });
    assert.equal(refused.status, 403, `a supervisor's reply answered ${refused.status}`);
    assert.equal(sentTo('whatsapp:' + A.number).length, 0, 'something was sent to the customer');

    await page.fill('#comment', '@ann Alice is waiting on order 4711; please answer her.');
    await page.click('#comment-send');
    await page.locator('#messages .msg-note', { hasText: '@ann Alice is waiting' }).waitFor();
    await page.locator('#messages .msg-note .msg-who', { hasText: 'Internal note · you' }).waitFor();
    await page.locator('#facts dd', { hasText: 'Ann Agent' }).first().waitFor();
    const facts = await page.locator('#facts').textContent();
    assert.match(facts, /MentionedAnn Agent/, 'Ann is not recorded as mentioned');
    assert.equal(await page.inputValue('#comment'), '', 'the comment box is emptied');
  });

  step('transfer: only available agents, a refusal, then to Bob', async () => {
    const { page } = W.sue;
    await page.locator('#conv-name', { hasText: A.name }).waitFor();
    await page.click('#actions button[data-action="Transfer"]');
    const dlg = page.locator('#transfer-dialog');
    await dlg.waitFor();
    await page.locator('#transfer-title', { hasText: 'Assign this chat' }).waitFor();
    await page.locator('#transfer-status', { hasText: '1 agent is available' }).waitFor();
    // Online and available only: not Ann (she has it), not Carol (offline),
    // not Sue or Ada (offline, not agents).
    assert.deepEqual(await page.locator('#transfer-agent option').evaluateAll((os) => os.map((o) => o.value)), ['bob']);
    assert.deepEqual(await page.locator('#transfer-dept option').allTextContents(), ['Support · 1 available', 'Sales · nobody available']);
    assert.equal(await page.inputValue('#transfer-dept'), 'support', 'the chat\'s department is preselected');
    assert.deepEqual(await page.locator('#transfer-dept-agent option').evaluateAll((os) => os.map((o) => o.value)), ['', 'bob']);

    // Nobody in Sales: refused, and the dialog says so.
    await page.selectOption('#transfer-dept', 'sales');
    assert.deepEqual(await page.locator('#transfer-dept-agent option').allTextContents(), ['Nobody in it is available now']);
    await page.click('#transfer-submit');
    const err = page.locator('#transfer-error');
    await err.waitFor();
    const text = await err.textContent();
    assert.match(text, /^Not transferred: Sales has nobody online and available right now/);
    assert.match(text, /no agent is online and available in department sales/);
    assert.ok(await dlg.isVisible(), 'the dialog closed on a refusal');
    await page.screenshot({ path: path.join(ARTIFACTS, 'transfer-refused-sue.png') });

    // Refresh reads who is available again (Bob is).
    await page.click('#transfer-refresh');
    await page.locator('#transfer-status', { hasText: '1 agent is available' }).waitFor();
    await page.check('#transfer-to-agent');
    await page.selectOption('#transfer-agent', 'bob');
    await page.click('#transfer-submit');
    await dlg.waitFor({ state: 'hidden' });
    await page.locator('.toast', { hasText: 'Chat transferred to Bob Builder' }).waitFor();
    await page.locator('#conv-sub', { hasText: 'with Bob Builder' }).waitFor();

    await eventually('Live grouped as ann 1, bob 2', async () =>
      (await groupCount(page, 'ann')) === 1 && (await groupCount(page, 'bob')) === 2);
    await pickGroup(page, 'bob');
    await card(page, A.name).waitFor();
    await eventually('Bob\'s two cards', async () => (await page.locator('#list .card').count()) === 2);
    await page.locator('#summary h2', { hasText: 'Bob Builder' }).waitFor();
    await page.locator('#summary .stat', { hasText: 'Live chats now' }).locator('.stat-value', { hasText: '2 of 5' }).waitFor();
  });

  step('reach out from a closed chat with a template', async () => {
    const { page } = W.sue;
    const to = 'whatsapp:' + B.number;
    // Ann answers Bongani and closes the chat.
    await parleyCli(['agent', 'reply', '-id', 'ann', '-conversation', W.convs.B, '-body', 'Your parcel left the depot this morning.']);
    await eventually('Twilio to receive Ann\'s reply', () => sentTo(to).length === 1);
    await parleyCli(['agent', 'close', '-id', 'ann', '-conversation', W.convs.B, '-sentiment', 'positive', '-tag', 'delivery',
      '-notes', 'Parcel on its way']);

    // Bongani last wrote 25 hours ago: WhatsApp's window is closed.
    await H.closeWindow(B.number);

    await openTab(page, 'closed');
    await eventually('Closed grouped as ann 1', async () => (await groupCount(page, 'ann')) === 1);
    await pickGroup(page, 'ann');
    await card(page, B.name).click();
    await page.locator('#conv-name', { hasText: B.name }).waitFor();
    await page.locator('#facts dd', { hasText: 'Closed: templates only' }).waitFor();
    await page.locator('#c-start-text', { hasText: 'only an approved template can go' }).waitFor();
    await page.click('#c-start-btn');
    await page.locator('#c-template').waitFor();
    assert.equal(await page.locator('#reply').isVisible(), false, 'free text is offered outside the window');
    assert.deepEqual(await page.locator('#tpl option').allTextContents(), ['sup_follow_up']);
    await page.locator('#tpl-preview', { hasText: 'Hello {{1}}, the support team' }).waitFor();
    await page.fill('#tpl-vars input[data-var="1"]', 'Bongani');
    await page.locator('#tpl-preview', { hasText: 'Hello Bongani, the support team is following up on your chat.' }).waitFor();
    await page.click('#tpl-send');

    const req = await eventually('Twilio to receive the template', () => sentTo(to).find((r) => r.form.ContentSid));
    assert.equal(req.form.ContentSid, TEMPLATE_SID);
    assert.deepEqual(JSON.parse(req.form.ContentVariables), { 1: 'Bongani' });
    assert.equal(req.form.Body, undefined, 'a template goes without a Body');
    await page.locator('.toast', { hasText: 'A new closed chat holds it' }).waitFor();

    // The new closed chat is Sue's, in Closed; its history starts with the template.
    await eventually('Closed grouped as ann 1, sue 1', async () =>
      (await groupCount(page, 'ann')) === 1 && (await groupCount(page, 'sue')) === 1);
    await pickGroup(page, 'sue');
    await card(page, B.name).click();
    await page.locator('#conv-name', { hasText: B.name }).waitFor();
    const first = page.locator('#messages li.msg').first();
    await first.locator('.msg-template', { hasText: 'Hello Bongani, the support team is following up' }).waitFor();
    assert.match(await first.getAttribute('class'), /\bmsg-out\b/);
    await page.locator('#closure', { hasText: 'reached out' }).waitFor();
    assert.equal(sentTo(to).length, 2, 'exactly Ann\'s reply and the template');
  });

  step('admin: a holiday today sends the next customer to leave a message', async () => {
    W.ada = await newDesk('ada');
    const { page } = W.ada;
    await signIn(W.ada, 'ada');
    await page.click('.view-tab[data-view="admin"]');
    await page.locator('#admin-view').waitFor();
    await page.click('.subtab[data-admin="settings"]');
    await eventually('the settings form to load', async () => (await page.inputValue('#s-tz')) === 'UTC');
    assert.equal(await page.inputValue('#s-day-monday'), '00:00-24:00');
    assert.equal(await page.inputValue('#s-timeout-queue_timeout'), '1h');
    assert.equal(await page.locator('#s-holidays .h-date').count(), 0);

    // A refused save shows the reason and changes nothing.
    await page.click('#s-holiday-add');
    await page.fill('#s-holidays .h-date >> nth=-1', today());
    await page.fill('#s-tz', 'Mars/Olympus');
    await page.locator('#settings-state', { hasText: 'Unsaved changes' }).waitFor();
    await page.click('#settings-save');
    const err = page.locator('#settings-error');
    await err.waitFor();
    assert.match(await err.textContent(), /^Not saved; nothing was changed\. Parley said: .*unknown zone "Mars\/Olympus"/);
    let now = await inPage(page, 'GET', '/admin/settings');
    assert.equal(now.data.business_hours.timezone, 'UTC');
    assert.deepEqual(now.data.business_hours.holidays, [], 'a refused save changed the holidays');
    await page.screenshot({ path: path.join(ARTIFACTS, 'settings-refused-ada.png') });

    await page.fill('#s-tz', 'UTC');
    await page.click('#settings-save');
    await page.locator('.toast', { hasText: 'Settings saved' }).waitFor();
    await err.waitFor({ state: 'hidden' });
    await page.locator('#settings-state', { hasText: 'Saved settings shown' }).waitFor();
    now = await inPage(page, 'GET', '/admin/settings');
    assert.deepEqual(now.data.business_hours.holidays, [today()]);
    assert.equal(now.data.timeouts.queue_timeout, '1h0m0s', 'the timeouts did not survive the round trip');
    assert.equal(now.data.templates[0].content_sid, TEMPLATE_SID, 'the templates did not survive the round trip');
    assert.deepEqual(now.data.departments.map((d) => d.id), ['support', 'sales']);
    assert.equal(await page.inputValue('#s-holidays .h-date'), today());
    for (const part of ['templates', 'timeouts']) {
      await page.locator('#set-' + part).scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(ARTIFACTS, `settings-${part}-ada.png`) });
    }

    // The next customer gets the out-of-hours text and the question.
    const to = 'whatsapp:' + E.number;
    await inbound(whatsAppIn(E.number, 'Hello, are you open today?', E.name));
    await eventually('Twilio to receive the out-of-hours text and the question', () => sentTo(to).length >= 2);
    await sleep(300); // nothing else may follow
    assert.deepEqual(sentTo(to).map((r) => r.form.Body), [TEXTS.out_of_hours, TEXTS.leave_message]);

    // It is an unassigned ticket, not a live chat.
    const sue = W.sue.page;
    await openTab(sue, 'live');
    await pickGroup(sue, '*');
    await eventually('Live to settle', async () => (await groupCount(sue, '*')) === 2);
    assert.equal(await card(sue, E.name).count(), 0, 'the holiday message became a live chat');
    await openTab(sue, 'unassigned');
    await card(sue, E.name).waitFor();
    await eventually('the ticket to be in the no-agent group', async () => (await groupCount(sue, '')) === 1);
    assert.equal(await group(sue, '').locator('.group-name').textContent(), 'No agent yet');

    // The audit log lists the change, newest first.
    await page.click('.subtab[data-admin="audit"]');
    const row = page.locator('#audit-table tbody tr').first();
    await row.locator('td', { hasText: 'Changed the settings' }).waitFor();
    assert.equal(await row.getAttribute('data-action'), 'settings.update');
    assert.equal(await row.locator('td').nth(1).textContent(), 'ada');
    assert.equal(await page.locator('#audit-table tbody tr[data-action="settings.update"]').count(), 1, 'the refused save was audited');
  });

  step('admin: the transcript offer is edited in the settings', async () => {
    const { page } = W.ada;
    await page.click('.subtab[data-admin="settings"]');
    await eventually('the settings form to load', async () => (await page.inputValue('#s-tz')) === 'UTC');
    let now = await inPage(page, 'GET', '/admin/settings');
    assert.equal(await page.inputValue('#s-tr-offer'), now.data.transcript.offer);
    assert.equal(await page.inputValue('#s-tr-window'), '10m');
    assert.equal(await page.inputValue('#s-tr-valid'), '24h');
    const hint = (id) => page.locator(id).locator('xpath=..').locator('.dur-hint').textContent();
    assert.equal(await hint('#s-tr-window'), '= 10 minutes');
    assert.equal(await hint('#s-tr-valid'), '= 1 day');

    // Mistakes are named before anything is sent.
    await page.fill('#s-tr-window', 'soon');
    assert.match(await hint('#s-tr-window'), /not a duration/);
    await page.fill('#s-tr-link', 'Your copy is ready.');
    await page.click('#settings-save');
    const err = page.locator('#settings-error');
    await err.locator('li', { hasText: 'Transcript, time to answer: "soon" is not a duration' }).waitFor();
    await err.locator('li', { hasText: 'the link text needs {link}' }).waitFor();
    now = await inPage(page, 'GET', '/admin/settings');
    assert.equal(now.data.transcript.window, '10m0s', 'a refused form changed the transcript');

    await page.fill('#s-tr-offer', 'Chat ended. Reply TRANSCRIPT within {minutes} minutes for a copy.');
    await page.fill('#s-tr-link', 'Your copy, for {hours} hours: {link}');
    await page.fill('#s-tr-window', '5m');
    await page.fill('#s-tr-valid', '2h');
    const put = page.waitForResponse((r) => r.url().endsWith('/api/v1/admin/settings') && r.request().method() === 'PUT');
    await page.click('#settings-save');
    assert.equal((await put).status(), 200, 'the save was refused');
    await page.locator('#settings-state', { hasText: 'Saved settings shown' }).waitFor();
    now = await inPage(page, 'GET', '/admin/settings');
    assert.deepEqual(now.data.transcript, {
      offer: 'Chat ended. Reply TRANSCRIPT within {minutes} minutes for a copy.',
      link: 'Your copy, for {hours} hours: {link}', window: '5m0s', valid: '2h0m0s',
    });
    await page.locator('#set-transcript').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'settings-transcript-ada.png') });
  });

  step('admin: users are added, changed, given a password, disabled and enabled', async () => {
    const { page } = W.ada;
    await page.click('.subtab[data-admin="users"]');
    await page.locator('#users-table tr[data-user="carol"]', { hasText: 'Agent' }).waitFor();
    await page.locator('#users-table tr[data-user="sue"] .role-chip', { hasText: 'Supervisor' }).waitFor();
    assert.equal(await page.locator('#users-table tr[data-user="ada"] button[data-act="disable"]').isDisabled(), true, 'an admin may disable themselves');

    const password = 'dan-' + alnum(12);
    await page.click('#user-add');
    await page.fill('#u-id', 'dan');
    await page.fill('#u-name', 'Dan Dealer');
    await page.fill('#u-capacity', '4');
    await page.check('#u-depts input[value="sales"]');
    await page.fill('#u-password', 'short');
    await page.click('#user-submit');
    await page.locator('#user-error', { hasText: '10 to 72 characters' }).waitFor();
    await page.fill('#u-password', password);
    await page.click('#user-submit');
    await page.locator('#user-dialog').waitFor({ state: 'hidden' });
    const dan = page.locator('#users-table tr[data-user="dan"]');
    await dan.waitFor();
    assert.match(await dan.textContent(), /Dan Dealer.*Agent.*Sales.*4/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'users-ada.png') });

    // Promote him to supervisor of Support and Sales.
    await dan.locator('button[data-act="edit"]').click();
    assert.equal(await page.locator('#u-id').isDisabled(), true);
    assert.equal(await page.locator('#u-password').isVisible(), false);
    assert.equal(await page.inputValue('#u-role'), 'agent');
    await page.selectOption('#u-role', 'supervisor');
    await page.check('#u-depts input[value="support"]');
    await page.fill('#u-name', 'Dan the Supervisor');
    await page.click('#user-submit');
    await page.locator('#user-dialog').waitFor({ state: 'hidden' });
    await dan.locator('.role-chip', { hasText: 'Supervisor' }).waitFor();
    await dan.locator('td', { hasText: 'Support, Sales' }).waitFor();

    // A new password, then disabled: he cannot sign in any more.
    const second = 'dan2-' + alnum(12);
    await dan.locator('button[data-act="password"]').click();
    await page.fill('#p-password', second);
    await page.click('#password-submit');
    await page.locator('.toast', { hasText: 'dan is signed out everywhere and signs in with the new one' }).waitFor();
    const signInAs = (pw) => fetch(W.base + '/api/v1/session', {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ user: 'dan', password: pw }),
    }).then((r) => r.status);
    assert.equal(await signInAs(password), 401, 'the old password still works');
    assert.equal(await signInAs(second), 200, 'the new password does not work');
    await dan.locator('button[data-act="disable"]').click();
    await page.locator('#confirm-dialog', { hasText: 'Disable Dan the Supervisor?' }).waitFor();
    await page.click('#confirm-submit');
    await dan.locator('.chip', { hasText: 'Disabled' }).waitFor();
    assert.equal(await signInAs(second), 401, 'a disabled user signs in');
    // A new password does not let him in again; Enable does.
    await dan.locator('button[data-act="password"]').click();
    await page.fill('#p-password', second);
    await page.click('#password-submit');
    await page.locator('.toast', { hasText: 'stays disabled until enabled' }).waitFor();
    assert.equal(await signInAs(second), 401, 'a password reset enabled a disabled user');
    await dan.locator('button[data-act="enable"]').click();
    await dan.locator('button[data-act="disable"]').waitFor();
    assert.equal(await signInAs(second), 200, 'an enabled user cannot sign in');

    await page.click('.subtab[data-admin="audit"]');
    await page.locator('#audit-table tbody tr').first().locator('td', { hasText: 'Enabled a user' }).waitFor();
    const actions = await page.locator('#audit-table tbody tr').evaluateAll((rs) => rs.map((r) => r.dataset.action));
    assert.deepEqual(actions.slice(0, 6), ['user.enable', 'user.password', 'user.disable', 'user.password', 'user.update', 'user.create']);
  });

  step('reports: today\'s dashboard, its chart and its downloads', async () => {
    const { page } = W.sue;
    await page.click('.view-tab[data-view="reports"]');
    await page.locator('#reports-view').waitFor();
    await page.click('#report-form button[data-days="1"]');
    assert.equal(await page.inputValue('#r-from'), today());
    assert.equal(await page.inputValue('#r-to'), today());
    // Today: Alice, Bongani, the SMS chat and the reach-out chat; Erin's ticket.
    const chats = page.locator('#report-totals .stat[data-stat="chats"] .stat-value');
    await eventually('four chats today', async () => (await chats.textContent()) === '4');
    assert.equal(await page.locator('#report-totals .stat[data-stat="tickets"] .stat-value').textContent(), '1');
    assert.match(await page.locator('#report-totals .stat[data-stat="first-response"] .stat-value').textContent(), /^\d+ (s|min)/);
    await page.locator('#report-totals .stat[data-stat="sentiment"]', { hasText: '1 positive' }).waitFor();

    const bars = page.locator('#chart-days svg rect.bar.bar-chats');
    assert.equal(await bars.count(), 1, 'one day, one bar of chats');
    assert.equal(await bars.getAttribute('data-value'), '4');
    assert.ok(Number(await bars.getAttribute('height')) > 0, 'the bar has no height');
    assert.equal(await page.locator('#chart-days svg rect.bar.bar-tickets').getAttribute('data-value'), '1');
    await page.locator('#chart-sentiment svg .hbar[data-key="positive"]', { hasText: '1 · 100%' }).waitFor();
    await page.locator('#chart-tags svg .hbar[data-key="delivery"]').waitFor();
    await page.locator('#table-agents tr[data-key="ann"]').waitFor();
    await page.locator('#table-depts tr[data-key="support"]').waitFor();

    // The figures as CSV, and the conversations as JSON.
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#dl-figures')]);
    const csvText = fs.readFileSync(await csv.path(), 'utf8');
    assert.match(csvText, /^scope,key,chats/);
    assert.match(csvText, /\ntotal,,4,1,/);
    const [json] = await Promise.all([page.waitForEvent('download'), page.click('#dl-conv-json')]);
    const convs = JSON.parse(fs.readFileSync(await json.path(), 'utf8'));
    assert.equal(convs.length, 5);

    await page.locator('#table-depts').scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'reports-tables-sue.png') });

    // Narrowed to one agent.
    await page.selectOption('#r-agent', 'ann');
    await eventually('Ann\'s chats only', async () => (await chats.textContent()) === '1');
    assert.match(await page.getAttribute('#dl-figures', 'href'), /agent=ann/);
    await page.selectOption('#r-agent', '');
    await eventually('everyone again', async () => (await chats.textContent()) === '4');
  });

  step('monitoring: a page on another site cannot pause a queue with the operator\'s login', async () => {
    const user = 'admin';
    const password = W.env.PARLEY_ADMIN_PASSWORD;
    const auth = 'Basic ' + Buffer.from(user + ':' + password).toString('base64');
    const paused = async () => {
      const r = await fetch(W.base + '/monitoring/api/queues', { headers: { Authorization: auth } });
      assert.equal(r.status, 200);
      const { queues } = await r.json();
      return !!(queues.find((q) => q.queue === 'critical') || {}).paused;
    };
    assert.equal(await paused(), false, 'critical is paused before the test');
    // The browser holds the operator's login, as after a visit to the dashboard.
    const context = await W.browser.newContext({ httpCredentials: { username: user, password } });
    const page = await context.newPage();
    await page.goto(W.base + '/monitoring');
    // A page on another origin (another port) posts the pause.
    const evil = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(`<!doctype html><title>cats</title><script>
        fetch(${JSON.stringify(W.base + '/monitoring/api/queues/critical:pause')}, { method: 'POST', mode: 'no-cors', credentials: 'include' })
          .finally(() => { document.title = 'sent'; });
        </script>`);
    });
    await new Promise((r) => evil.listen(0, '127.0.0.1', r));
    try {
      await page.goto('http://127.0.0.1:' + evil.address().port + '/');
      await page.waitForFunction(() => document.title === 'sent');
      await sleep(500);
      assert.equal(await paused(), false, 'a page on another site paused the critical queue');
      // The dashboard's own page still can, so the refusal is the origin's.
      await page.goto(W.base + '/monitoring');
      const status = await page.evaluate(async () => (await fetch('/monitoring/api/queues/critical:pause', { method: 'POST' })).status);
      assert.ok(status >= 200 && status < 300, 'the dashboard could not pause a queue from its own page: ' + status);
      assert.equal(await paused(), true);
      const resumed = await page.evaluate(async () => (await fetch('/monitoring/api/queues/critical:resume', { method: 'POST' })).status);
      assert.ok(resumed >= 200 && resumed < 300, 'resume: ' + resumed);
    } finally {
      evil.close();
      await context.close();
    }
  });
});
