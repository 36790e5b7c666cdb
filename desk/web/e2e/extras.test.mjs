// Browser tests of the agent desk's attachments, "Make a ticket" and the
// trash (desk/web/agent-extras.js): the real Parley binary (PARLEY_BIN) on
// Redis database 13 of PARLEY_TEST_REDIS (flushed first: it must be a
// throwaway), a fake Twilio REST API, signed webhooks, and Debian's Chromium
// driven by playwright-core.
//
//   PARLEY_BIN=/path/to/parley PARLEY_TEST_REDIS=127.0.0.1:6379 node --test desk/web/e2e/extras.test.mjs
//
// Screenshots and Parley's log go to test-artifacts/extras/ at the
// repository's root.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { ROOT, alnum, eventually, makeHarness, makeStep, card, countBadge, ALWAYS_OPEN, signIn as formSignIn, openTab, setPresence } from './harness.mjs';

const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'extras');
const DB = 13;
const H = makeHarness({ db: DB, artifacts: ARTIFACTS });
const { W, inbound, whatsAppIn, sentTo, newDesk } = H;
const PASSWORDS = { ann: 'ann-' + alnum(16) };

const CONFIG = `# Written by extras.test.mjs: always open.
${ALWAYS_OPEN}timeouts:
  queue_timeout: 1h
  agent_response_timeout: 1h
  inactivity_timeout: 2h
  pending_timeout: 24h
  ticket_session_timeout: 1h
tags: [refund, delivery]
texts:
  out_of_hours: "X: closed."
  no_agent: "X: nobody free."
  leave_message: "X: leave a message? YES or NO."
  collecting: "X: collecting."
  declined: "X: declined."
  ended: "X: ended."
  queued: "X: queued as {position}."
`;

const P = { number: '+27840000001', name: 'Pumla Photo' }; // attachments, then a ticket
const T = { number: '+27840000002', name: 'Themba Trash' }; // deleted and restored

Object.assign(W, { ann: null, shots: 0 });

// png makes a valid w×h RGB PNG, one colour, with the bytes built here.
function png(w, h, [r, g, b]) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf) => {
    let c = 0xffffffff;
    for (const x of buf) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type, data) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(td));
    return Buffer.concat([len, td, sum]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: w }, () => [r, g, b]).flat())]);
  const raw = Buffer.concat(Array.from({ length: h }, () => row));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

const signIn = (desk, user) => formSignIn(W.base, desk, user, PASSWORDS[user]);

async function shot(name) {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  if (W.ann && !W.ann.page.isClosed()) await W.ann.page.screenshot({ path: path.join(ARTIFACTS, name + '.png') }).catch(() => {});
}

// step is one test: it screenshots the desk afterwards, pass or fail, and
// checks the page threw nothing and opened no alert.
const step = makeStep(W, () => [W.ann], shot);

// closeOpenChat closes the open chat with the close dialog.
async function closeOpenChat(page) {
  await page.click('#actions button[data-action="Close chat"]');
  await page.locator('#close-dialog').waitFor();
  await page.check('#close-sentiments input[value="positive"]');
  await page.selectOption('#close-tag', 'delivery');
  await page.click('#close-submit');
  await page.locator('#close-dialog').waitFor({ state: 'hidden' });
  await page.locator('#closure-box').waitFor();
}

describe('agent desk: attachments, make a ticket, trash', { timeout: 300_000 }, () => {
  before(async () => {
    await H.boot(CONFIG, [{ id: 'ann', name: 'Ann Agent', role: 'agent', capacity: 10, password: PASSWORDS.ann }]);
    W.ann = await newDesk('ann');
    await signIn(W.ann, 'ann');
    await setPresence(W.ann.page, 'online');
  }, { timeout: 120_000 });

  after(async () => {
    await H.finish();
  }, { timeout: 60_000 });

  step('attaches a PNG, sends it with text, and Twilio can fetch it', async () => {
    const { page } = W.ann;
    await openTab(page, 'live');
    await inbound(whatsAppIn(P.number, 'Can you send me a photo of the label?', P.name));
    await card(page, P.name).click();
    await page.locator('#conv-name', { hasText: P.name }).waitFor();
    await page.locator('#attach').waitFor();

    // Over 20 MB is refused in the page, before any upload.
    let uploads = 0;
    page.on('request', (r) => { if (r.url().endsWith('/attachments')) uploads++; });
    await page.setInputFiles('#attach-input', { name: 'huge.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(20 * 1024 * 1024 + 1) },
      { timeout: 60_000 }); // 20 MB through the browser protocol is slow on a busy machine
    await page.locator('.toast', { hasText: 'attachments can be at most 20 MB' }).waitFor();
    assert.equal(uploads, 0, 'a file over 20 MB was uploaded');
    assert.equal(await page.locator('#attachments .att-chip').count(), 0);

    // A small PNG uploads and shows as a chip with its name and size.
    const bytes = png(4, 3, [200, 30, 60]);
    await page.setInputFiles('#attach-input', { name: 'label.png', mimeType: 'image/png', buffer: bytes });
    const chip = page.locator('#attachments .att-chip', { hasText: 'label.png' });
    await chip.waitFor();
    await eventually('the upload to finish', async () => (await chip.getAttribute('data-id')) !== '');
    assert.equal(await chip.locator('.att-size').textContent(), bytes.length + ' B');
    assert.equal(uploads, 1);

    // A second file, removed again, is not sent.
    await page.setInputFiles('#attach-input', { name: 'other.png', mimeType: 'image/png', buffer: png(2, 2, [0, 0, 0]) });
    const other = page.locator('#attachments .att-chip', { hasText: 'other.png' });
    await eventually('the second upload to finish', async () => (await other.getAttribute('data-id')) !== '');
    await shot(String(W.shots + 1).padStart(2, '0') + '-attachment-chips');
    await other.locator('.att-x').click();
    await other.waitFor({ state: 'detached' });

    const text = 'Here is the label, see the picture';
    await page.fill('#reply', text);
    const sent = page.waitForResponse((r) => r.url().endsWith('/messages') && r.request().method() === 'POST');
    await page.click('#send');
    const st = (await sent).status();
    assert.ok(st >= 200 && st < 300, `the reply answered ${st}`);
    const req = await eventually('Twilio to be asked to send the reply', async () =>
      sentTo('whatsapp:' + P.number).find((r) => r.form.Body === text));
    const mediaUrl = req.form.MediaUrl;
    const esc = W.base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    assert.match(mediaUrl || '', new RegExp('^' + esc + '/media/[\\w-]+\\?exp=\\d+&sig=[\\w-]+$'), 'MediaUrl is Parley\'s signed URL');

    // What Twilio fetches is the PNG.
    const u = new URL(mediaUrl);
    const res = await fetch(W.base + u.pathname + u.search);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes, 'the served file is the uploaded PNG');
    // Change the signature's first character (to one it is not).
    const bad = await fetch(W.base + u.pathname + u.search.replace(/sig=(.)/, (_, c) => 'sig=' + (c === 'A' ? 'B' : 'A')));
    assert.notEqual(bad.status, 200, 'a wrong signature still serves the file');

    // The chips are gone, and the history shows the picture with its name,
    // at the desk's own signed URL (media.test.mjs has the rest).
    await eventually('the chips to clear', async () => (await page.locator('#attachments .att-chip').count()) === 0);
    const msg = page.locator('#messages .msg-out', { hasText: text });
    await msg.waitFor();
    const img = msg.locator('.att-image img');
    await img.waitFor();
    assert.equal(await img.getAttribute('alt'), 'label.png');
    assert.match(await img.getAttribute('src'), /\/api\/v1\/conversations\/[\w-]+\/media\/[\w-]+\?exp=\d+&sig=/);
  });

  step('makes a ticket from a closed chat; it is in Assigned with the history', async () => {
    const { page } = W.ann;
    await page.locator('#conv-name', { hasText: P.name }).waitFor();
    await closeOpenChat(page);
    const before = await countBadge(page, 'assigned');

    await page.click('#actions button[data-action="Make a ticket"]');
    const dlg = page.locator('#convert-dialog');
    await dlg.waitFor();
    await page.click('#convert-submit'); // no subject
    await page.locator('#convert-error', { hasText: 'Write a subject' }).waitFor();
    await page.fill('#convert-subject', 'Send the replacement label');
    await page.click('#convert-submit');
    await dlg.waitFor({ state: 'hidden' });

    await page.locator('.tab[data-tab="assigned"].active').waitFor();
    await page.locator('#conv-sub', { hasText: 'Ticket · Assigned' }).waitFor();
    await page.locator('#conv-name', { hasText: P.name }).waitFor();
    await card(page, P.name).waitFor();
    await eventually('the Assigned count to grow', async () => (await countBadge(page, 'assigned')) === before + 1);
    // The chat's history comes with the ticket.
    await page.locator('#messages .msg-in', { hasText: 'Can you send me a photo of the label?' }).waitFor();
    await page.locator('#messages .msg-out', { hasText: 'Here is the label' }).waitFor();
    await page.locator('#messages', { hasText: 'Send the replacement label' }).waitFor();

    // The chat, in Closed, points to its ticket and offers no second one.
    await openTab(page, 'closed');
    await card(page, P.name).click();
    await page.locator('#conv-sub', { hasText: 'Chat · Closed' }).waitFor();
    await page.locator('#actions button[data-action="Open ticket"]').waitFor();
    assert.equal(await page.locator('#actions button[data-action="Make a ticket"]').count(), 0);
  });

  step('deletes a closed chat to the trash and restores it', async () => {
    const { page } = W.ann;
    await openTab(page, 'live');
    await inbound(whatsAppIn(T.number, 'Never mind, sorted it myself', T.name));
    await card(page, T.name).click();
    await page.locator('#conv-name', { hasText: T.name }).waitFor();
    await closeOpenChat(page);
    await openTab(page, 'closed');
    await card(page, T.name).waitFor();
    // Closed holds the chat converted before and this one.
    await eventually('the Closed count to be 2', async () => (await countBadge(page, 'closed')) === 2);
    const closedBefore = 2;

    // Cancel first: nothing happens.
    await page.click('#actions button[data-action="Delete"]');
    await page.locator('#delete-dialog', { hasText: '30 days' }).waitFor();
    await page.click('#delete-cancel');
    await page.locator('#delete-dialog').waitFor({ state: 'hidden' });
    assert.equal(await card(page, T.name).count(), 1);

    await page.click('#actions button[data-action="Delete"]');
    await page.click('#delete-submit');
    await page.locator('#delete-dialog').waitFor({ state: 'hidden' });
    await eventually('the chat to leave Closed', async () => (await card(page, T.name).count()) === 0);
    await eventually('the Closed count to drop', async () => (await countBadge(page, 'closed')) === closedBefore - 1);
    await eventually('the Trash count to be 1', async () => (await countBadge(page, 'trash')) === 1);
    await page.locator('#actions button[data-action="Restore"]').waitFor(); // the open chat is now in the trash

    await openTab(page, 'trash');
    await page.locator('#trash-note', { hasText: 'purged' }).waitFor();
    assert.match(await page.locator('#trash-note').textContent(), /30 days/);
    const t = card(page, T.name);
    await t.waitFor();
    await t.locator('.card-trash', { hasText: 'Deleted' }).waitFor();
    assert.equal(await card(page, P.name).count(), 0, 'only the deleted chat is in the trash');
    await shot(String(W.shots + 1).padStart(2, '0') + '-trash-tab');

    await t.locator('.card-restore').click();
    await eventually('the chat to leave Trash', async () => (await card(page, T.name).count()) === 0);
    await eventually('the Trash count to be 0', async () => (await countBadge(page, 'trash')) === 0);
    await page.locator('#list-meta', { hasText: 'No conversations in your trash' }).waitFor();
    await openTab(page, 'closed');
    await card(page, T.name).waitFor();
    assert.equal(await countBadge(page, 'closed'), closedBefore);
    assert.equal(await page.locator('#trash-note').isVisible(), false);
  });
});
