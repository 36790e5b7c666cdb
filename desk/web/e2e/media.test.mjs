// Browser test of customers' media in the desk (issue 14, item 2): a photo
// and a voice note fetched from the fake Twilio with the account's
// credentials and shown at Parley's signed URLs, a shared location with a
// map link, a fetch that keeps failing shown as such, and an agent's own
// attachment with its name. Same harness as desk.test.mjs, on its own
// Redis database; screenshots go to test-artifacts/media/.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  ROOT, alnum, eventually, makeHarness, makeStep, card, ALWAYS_OPEN, signIn as formSignIn, setPresence,
} from './harness.mjs';

const ARTIFACTS = path.join(ROOT, 'test-artifacts', 'media');
const DB = 9;
const H = makeHarness({ db: DB, artifacts: ARTIFACTS });
const USERS = [{ id: 'ann', name: 'Ann Agent', role: 'agent', capacity: 10 }].map((u) => Object.assign(u, { password: u.id + '-' + alnum(16) }));

const CONFIG = `# Written by media.test.mjs: always open, long timers.
${ALWAYS_OPEN}timeouts:
  queue_timeout: 1h
  agent_response_timeout: 1h
  inactivity_timeout: 2h
`;

// A 40 x 24 PNG, so the thumbnail has a size once it has loaded.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAACgAAAAYCAIAAAAH5iiXAAAAKElEQVR42mOQqzgxIIhh1OJRi0ctHrV41OJRi0ctHrV41OJRi4ePxQCX9SDMFice0gAAAABJRU5ErkJggg==', 'base64');
// Enough of an Ogg page for the player to be given; the test checks its
// address and what it serves, not that it plays.
const OGG = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(60, 1)]);

const { inbound, whatsAppIn, addMedia, withMedia } = H;
const W = Object.assign(H.W, { ann: null, shots: 0 });
const C = { number: '+27840000001', name: 'Carla Customer' };

const shot = H.shotOf(() => [W.ann]);
const step = makeStep(W, () => [W.ann], shot);

// status fetches a URL from inside the page (with the desk's session).
const status = (page, url) => page.evaluate(async (u) => (await fetch(u)).status, url);

describe('customers\' media in the desk', { timeout: 600_000 }, () => {
  before(async () => {
    await H.boot(CONFIG, USERS);
    W.ann = await H.newDesk('ann');
  }, { timeout: 120_000 });

  after(async () => {
    await H.finish();
  }, { timeout: 60_000 });

  step('a photo and a voice note are fetched with the credentials and shown at signed URLs', async () => {
    const { page } = W.ann;
    await formSignIn(W.base, W.ann, 'ann', USERS[0].password);
    await setPresence(page, 'online');
    await inbound(whatsAppIn(C.number, 'Hi, my parcel arrived broken', C.name));
    await card(page, C.name).click();
    await page.locator('#conv-name', { hasText: C.name }).waitFor();

    const photo = addMedia(PNG, 'image/png');
    await inbound(withMedia(whatsAppIn(C.number, '', C.name), [photo]));
    const img = page.locator('#messages .att-image img');
    await img.waitFor();
    await eventually('the thumbnail to load', async () => (await img.evaluate((i) => i.complete && i.naturalWidth)) === 40);
    assert.equal(photo.refused, 0, 'Parley asked for the photo without the credentials');
    const src = await img.getAttribute('src');
    assert.match(src, /\/api\/v1\/conversations\/[0-9A-Z]+\/media\/[0-9A-Z]+-0\?exp=\d+&sig=/, 'the thumbnail is not at a signed Parley URL');
    assert.ok(!src.includes(H.W.twilio.url), 'the page was given Twilio\'s URL');
    const full = page.locator('#messages .att-image a');
    assert.equal(await full.getAttribute('href'), src, 'a click does not open the full size');

    // The signature is the permission: without it, or altered, nothing.
    assert.equal(await status(page, src), 200);
    assert.equal(await status(page, src.split('?')[0]), 404, 'an unsigned URL was served');
    // Change the signature's first character to another one (a fixed 'Z'
    // would change nothing for the one signature in 64 that starts with it).
    const forged = src.replace(/sig=(.)/, (_, c) => 'sig=' + (c === 'Z' ? 'Y' : 'Z'));
    assert.notEqual(forged, src);
    assert.equal(await status(page, forged), 404, 'a forged URL was served');

    const voice = addMedia(OGG, 'audio/ogg');
    await inbound(withMedia(whatsAppIn(C.number, '', C.name), [voice]));
    const audio = page.locator('#messages .att-audio audio');
    await audio.waitFor();
    const asrc = await audio.getAttribute('src');
    assert.match(asrc, /\/api\/v1\/conversations\/[0-9A-Z]+\/media\/[0-9A-Z]+-0\?exp=\d+&sig=/);
    assert.equal(await audio.getAttribute('controls'), '', 'the voice note has no player controls');
    assert.equal(await page.locator('#messages .att-audio .att-name').textContent(), 'Voice message');
    const served = await page.evaluate(async (u) => { const r = await fetch(u); return [r.status, r.headers.get('content-type'), (await r.arrayBuffer()).byteLength]; }, asrc);
    assert.deepEqual(served, [200, 'audio/ogg', OGG.length]);
    await card(page, C.name).locator('.card-preview', { hasText: 'Voice message' }).waitFor();
  });

  step('a shared location shows its coordinates and a map link', async () => {
    const { page } = W.ann;
    await inbound(Object.assign(whatsAppIn(C.number, '', C.name), { Latitude: '-33.9249', Longitude: '18.4241', Label: 'Depot', MessageType: 'location' }));
    const loc = page.locator('#messages .att-location');
    await loc.waitFor();
    assert.equal(await loc.locator('a').getAttribute('href'), 'https://www.openstreetmap.org/?mlat=-33.9249&mlon=18.4241#map=16/-33.9249/18.4241');
    assert.equal(await loc.locator('a').textContent(), 'Depot');
    assert.equal(await loc.locator('.att-coords').textContent(), '-33.92490, 18.42410');
    await card(page, C.name).locator('.card-preview', { hasText: 'Location: Depot' }).waitFor();
  });

  step('media Twilio keeps refusing is retried, then shown as not fetched', async () => {
    const { page } = W.ann;
    const broken = addMedia(PNG, 'image/jpeg', { failures: 1000 });
    await inbound(withMedia(whatsAppIn(C.number, 'and the box', C.name), [broken]));
    const item = page.locator('#messages .msg-att[data-state="fetching"]');
    await item.waitFor();
    // Six retries with doubling back-off from 200 ms: about 15 s.
    await page.locator('#messages .att-missing', { hasText: 'media could not be fetched' }).waitFor({ timeout: 90_000 });
    assert.ok(broken.gets >= 7, `only ${broken.gets} attempts before giving up`);
  });

  step('an agent\'s attachment shows its name and a preview', async () => {
    const { page } = W.ann;
    await page.setInputFiles('#attach-input', { name: 'returns-label.png', mimeType: 'image/png', buffer: PNG });
    await page.locator('#attachments', { hasText: 'returns-label.png' }).waitFor();
    await page.click('#send');
    const mine = page.locator('#messages .msg-out .att-image img');
    await mine.waitFor();
    assert.equal(await mine.getAttribute('alt'), 'returns-label.png');
    await eventually('the sent thumbnail to load', async () => (await mine.evaluate((i) => i.complete && i.naturalWidth)) === 40);
    assert.equal(await page.locator('#messages .msg-extra', { hasText: 'FILE Attachment' }).count(), 0);
  });

  step('at phone width the attachments fit the screen', async () => {
    const { page } = W.ann;
    await page.setViewportSize({ width: 390, height: 844 });
    // The narrower layout may draw the thread again: scroll the player that
    // is there once it settles.
    await eventually('the voice note scrolled into view', async () => {
      try {
        await page.locator('#messages .att-audio audio').scrollIntoViewIfNeeded({ timeout: 2000 });
        return true;
      } catch (e) {
        return false;
      }
    });
    await eventually('nothing wider than the screen', async () => (await page.evaluate(() => document.documentElement.scrollWidth)) <= 390);
    const widest = await page.evaluate(() => Math.max(...[...document.querySelectorAll('#messages .msg-att')].map((e) => e.getBoundingClientRect().right)));
    assert.ok(widest <= 390, `an attachment reaches ${widest} px on a 390 px screen`);
  });
});
