// What the desk's browser tests share: the real Parley binary (PARLEY_BIN)
// on one throwaway Redis database of PARLEY_TEST_REDIS, a fake Twilio REST
// API that records what Parley sends, webhooks signed as Twilio signs them,
// and Debian's Chromium driven by playwright-core.
//
// Each test file makes its own harness with its own database, so files can
// run one after the other (or side by side) without touching each other's
// data.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import http from 'node:http';
import net from 'node:net';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const CHROMIUM = process.env.PARLEY_CHROMIUM || '/usr/bin/chromium';
export const BIN = process.env.PARLEY_BIN;
export const REDIS = process.env.PARLEY_TEST_REDIS;
export const WAIT = 10_000; // the bound of every single wait in the page

export const WHATSAPP_FROM = 'whatsapp:+14155238886';
export const SMS_FROM = '+15005550006';
export const hex = (n) => crypto.randomBytes(n).toString('hex');
export const alnum = (n) => Array.from(crypto.randomBytes(n), (b) => 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'[b % 62]).join('');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// eventually polls cond until it returns something truthy, for at most ms.
export async function eventually(what, cond, ms = WAIT) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await cond();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await sleep(100);
  }
}

// run runs a command with a bounded time and returns its output.
export function run(cmd, args, { env, input, timeout = 20_000 } = {}) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { env: env || process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`${cmd} ${args.join(' ')}: no answer in ${timeout} ms`)); }, timeout);
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err || out}`));
    });
    // A command that exits without reading its input closes the pipe; its
    // exit code, not an EPIPE on the write, tells what happened.
    p.stdin.on('error', () => {});
    p.stdin.end(input || '');
  });
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// checkEnvironment fails early, with the fix, when something is missing.
export function checkEnvironment() {
  assert.ok(BIN, 'set PARLEY_BIN to a built parley binary');
  assert.ok(REDIS && /^[^:]+:\d+$/.test(REDIS), 'set PARLEY_TEST_REDIS to host:port of a throwaway Redis');
  assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

// makeHarness returns one test file's world: W holds its state (base URL,
// environment, log, fake Twilio, browser), the functions act on it.
export function makeHarness({ db, artifacts }) {
  const accountSid = 'AC' + hex(16);
  const authToken = alnum(32);
  const W = { base: '', parley: null, parleyExit: null, log: [], env: null, twilio: null, browser: null };

  // startFakeTwilio serves the Messages API; more(req, body, answer), when
  // given, answers other calls first (returning true when it did).
  function startFakeTwilio(more) {
    const requests = [];
    const problems = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        if (serveMedia(req, res)) return;
        const want = `/2010-04-01/Accounts/${accountSid}/Messages.json`;
        const answer = (status, obj) => {
          res.writeHead(status, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify(obj));
        };
        if (more && more(req, body, answer)) return;
        if (req.method !== 'POST' || req.url !== want) {
          problems.push(`${req.method} ${req.url}`);
          return answer(404, { code: 20404, message: 'The requested resource was not found', status: 404 });
        }
        const auth = Buffer.from(String(req.headers.authorization || '').replace(/^Basic /, ''), 'base64').toString();
        if (auth !== `${accountSid}:${authToken}`) {
          problems.push('bad basic auth');
          return answer(401, { code: 20003, message: 'Authenticate', status: 401 });
        }
        const form = Object.fromEntries(new URLSearchParams(body));
        const sid = 'SM' + hex(16);
        requests.push({ form, sid, at: Date.now() });
        const now = new Date().toUTCString();
        return answer(201, {
          sid, status: 'queued', account_sid: accountSid, api_version: '2010-04-01', to: form.To, from: form.From,
          body: form.Body || '', direction: 'outbound-api', num_media: '0', num_segments: '1', date_created: now, date_updated: now,
          error_code: null, error_message: null, uri: `/2010-04-01/Accounts/${accountSid}/Messages/${sid}.json`,
        });
      });
    });
    return new Promise((resolve) => {
      server.listen(0, '127.0.0.1', () => {
        W.twilio = { server, requests, problems, url: `http://127.0.0.1:${server.address().port}`, media: new Map(), blobs: new Map() };
        resolve(W.twilio);
      });
    });
  }

  // ---- media, as on an account with media authentication on ----
  // A Media resource answers GET only with the account's Basic auth, then
  // redirects (as Twilio does) to a short-lived storage address that needs
  // none; DELETE needs the auth and is recorded. An item may fail a number
  // of times first (503), or for good.
  function serveMedia(req, res) {
    const tw = W.twilio;
    const url = new URL(req.url, tw.url);
    const blob = url.pathname.startsWith('/storage/') && tw.blobs.get(url.pathname);
    if (blob) {
      res.writeHead(200, { 'Content-Type': blob.contentType, 'Content-Length': blob.body.length });
      res.end(blob.body);
      return true;
    }
    const item = tw.media.get(url.pathname.replace(/\.json$/, ''));
    if (!item) return false;
    const auth = Buffer.from(String(req.headers.authorization || '').replace(/^Basic /, ''), 'base64').toString();
    if (auth !== `${accountSid}:${authToken}`) {
      item.refused++;
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 20003, message: 'Authenticate', status: 401 }));
      return true;
    }
    if (req.method === 'DELETE') {
      item.deleted = true;
      res.writeHead(204);
      res.end();
      return true;
    }
    item.gets++;
    if (item.failures > 0) {
      item.failures--;
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 20500, message: 'Internal Server Error', status: 503 }));
      return true;
    }
    const token = '/storage/' + hex(12);
    tw.blobs.set(token, item);
    res.writeHead(307, { Location: tw.url + token });
    res.end();
    return true;
  }

  // addMedia makes a media item at the fake and returns it for withMedia:
  // { url, contentType } plus its counters (gets, refused, deleted).
  function addMedia(body, contentType, { failures = 0 } = {}) {
    const resource = `/2010-04-01/Accounts/${accountSid}/Messages/MM${hex(16)}/Media/ME${hex(16)}`;
    const item = { body: Buffer.from(body), contentType, failures, gets: 0, refused: 0, deleted: false, url: W.twilio.url + resource };
    W.twilio.media.set(resource, item);
    return item;
  }

  // withMedia adds media items (from addMedia) to an inbound webhook's parameters.
  function withMedia(params, items) {
    const out = Object.assign({}, params, { NumMedia: String(items.length) });
    items.forEach((m, i) => { out['MediaUrl' + i] = m.url; out['MediaContentType' + i] = m.contentType; });
    return out;
  }

  function parleyEnv(port, configFile) {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('PARLEY_') && !k.startsWith('TWILIO_')) env[k] = v;
    }
    const [host, rport] = REDIS.split(':');
    return Object.assign(env, {
      PARLEY_CONFIG: configFile,
      PARLEY_LISTEN: `127.0.0.1:${port}`,
      PARLEY_REDIS_URL: `redis://${host}:${rport}/${db}`,
      PARLEY_PUBLIC_URL: `http://127.0.0.1:${port}`,
      PARLEY_LOG_FORMAT: 'json',
      PARLEY_LOG_LEVEL: 'info',
      TWILIO_ACCOUNT_SID: accountSid,
      TWILIO_AUTH_TOKEN: authToken,
      PARLEY_TWILIO_API_URL: W.twilio.url,
      PARLEY_WHATSAPP_FROM: WHATSAPP_FROM,
      PARLEY_SMS_FROM: SMS_FROM,
      PARLEY_ADMIN_PASSWORD: alnum(20),
      PARLEY_SEND_RETRY_BASE: '200ms',
      PARLEY_RECONCILE_EVERY: '1s',
    });
  }

  function redisCli(...args) {
    const [host, port] = REDIS.split(':');
    return run('redis-cli', ['-h', host, '-p', port, '-n', String(db), ...args]);
  }

  // parleyCli runs a parley subcommand against the same Redis and settings.
  const parleyCli = (args, input) => run(BIN, args, { env: W.env, input });

  // sign is Twilio's webhook signature: base64(HMAC-SHA1(auth token,
  // URL + each POST parameter's name and value, sorted by name)).
  function sign(url, params) {
    let s = url;
    for (const k of Object.keys(params).sort()) s += k + params[k];
    return crypto.createHmac('sha1', authToken).update(s).digest('base64');
  }

  async function webhook(pathname, params) {
    const res = await fetch(W.base + pathname, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        'User-Agent': 'TwilioProxy/1.1',
        'X-Twilio-Signature': sign(W.base + pathname, params),
      },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(WAIT),
    });
    const text = await res.text();
    assert.equal(res.status, 200, `webhook ${pathname} answered ${res.status}: ${text}`);
  }

  function whatsAppIn(number, body, name, to = WHATSAPP_FROM) {
    const sid = 'SM' + hex(16);
    return {
      SmsMessageSid: sid, MessageSid: sid, SmsSid: sid, AccountSid: accountSid,
      From: 'whatsapp:' + number, To: to, Body: body, ProfileName: name, WaId: number.slice(1),
      NumMedia: '0', NumSegments: '1', SmsStatus: 'received', MessageType: 'text', ApiVersion: '2010-04-01',
    };
  }

  function smsIn(number, body, to = SMS_FROM) {
    const sid = 'SM' + hex(16);
    return {
      SmsMessageSid: sid, MessageSid: sid, SmsSid: sid, AccountSid: accountSid, From: number, To: to,
      Body: body, FromCountry: 'ZA', ToCountry: 'US', NumMedia: '0', NumSegments: '1', SmsStatus: 'received', ApiVersion: '2010-04-01',
    };
  }

  const inbound = (params) => webhook('/webhooks/twilio/messages', params);

  // statusCallback posts Twilio's delivery callback; extra adds fields
  // (ErrorCode, ErrorMessage for a failure).
  function statusCallback(sid, to, status, extra = {}) {
    return webhook('/webhooks/twilio/status', {
      MessageSid: sid, SmsSid: sid, MessageStatus: status, SmsStatus: status, AccountSid: accountSid,
      To: to, From: to.startsWith('whatsapp:') ? WHATSAPP_FROM : SMS_FROM, ApiVersion: '2010-04-01', ...extra,
    });
  }

  const sentTo = (to) => W.twilio.requests.filter((r) => r.form.To === to);

  // startParley writes the configuration, creates the users (each
  // {id, name, role, departments, capacity, password}) and serves.
  async function startParley(config, users) {
    const port = await freePort();
    W.base = `http://127.0.0.1:${port}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-e2e-'));
    const configFile = path.join(dir, 'parley.yaml');
    fs.writeFileSync(configFile, config);
    W.env = Object.assign(parleyEnv(port, configFile), W.envOverrides); // e.g. SANDBOX_PHONE_ENV

    for (const u of users) {
      const args = ['user', 'add', '-id', u.id, '-name', u.name, '-role', u.role || 'agent', '-capacity', String(u.capacity || 3)];
      if (u.departments) args.push('-departments', u.departments.join(','));
      await parleyCli(args, u.password + '\n');
    }

    const p = spawn(BIN, ['serve'], { env: W.env, stdio: ['ignore', 'pipe', 'pipe'] });
    W.parley = p;
    W.parleyExit = new Promise((resolve) => p.on('exit', (code, signal) => resolve({ code, signal })));
    const keep = (d) => { W.log.push(d.toString()); };
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    let exited = null;
    W.parleyExit.then((e) => { exited = e; });
    await eventually('parley serve to answer /readyz', async () => {
      if (exited) throw new Error(`parley serve exited early (${JSON.stringify(exited)}): ${W.log.join('').slice(-2000)}`);
      const r = await fetch(W.base + '/readyz', { signal: AbortSignal.timeout(2000) }).catch(() => null);
      return r && r.status === 200;
    }, 20_000);
  }

  async function stopParley() {
    const p = W.parley;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGTERM');
    const done = await Promise.race([W.parleyExit, sleep(10_000).then(() => null)]);
    if (!done) {
      p.kill('SIGKILL');
      await Promise.race([W.parleyExit, sleep(5_000)]);
    }
  }

  async function launchBrowser() {
    W.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
      timeout: 30_000,
    });
    return W.browser;
  }

  async function newDesk(who) {
    const context = await W.browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-GB', timezoneId: 'UTC', acceptDownloads: true });
    context.setDefaultTimeout(WAIT);
    context.setDefaultNavigationTimeout(WAIT);
    const page = await context.newPage();
    const desk = { who, context, page, errors: [], dialogs: [] };
    page.on('pageerror', (e) => desk.errors.push(e.message));
    // The desk runs under a strict Content-Security-Policy: anything it
    // refuses (an inline script or style) counts as the page failing.
    page.on('console', (m) => { if (m.type() === 'error' && /Content Security Policy/.test(m.text())) desk.errors.push('CSP: ' + m.text()); });
    page.on('dialog', (d) => { desk.dialogs.push(d.type() + ': ' + d.message()); d.dismiss().catch(() => {}); });
    return desk;
  }

  // finish closes the browser, Parley and the fake Twilio, keeps Parley's
  // log, and checks the fake Twilio was only asked what it serves.
  async function finish() {
    await W.browser?.close().catch(() => {});
    await stopParley();
    await new Promise((r) => (W.twilio ? W.twilio.server.close(() => r()) : r()));
    if (W.twilio) W.twilio.server.closeAllConnections?.();
    try {
      fs.mkdirSync(artifacts, { recursive: true });
      fs.writeFileSync(path.join(artifacts, 'parley.log'), W.log.join(''));
    } catch (e) { /* best effort */ }
    if (W.twilio) assert.deepEqual(W.twilio.problems, [], 'fake Twilio saw requests it does not serve');
  }

  // shotOf makes a file's screenshot function: each open desk of desks()
  // goes to <name>-<who>.png in the artifacts folder.
  function shotOf(desks) {
    return async (name) => {
      fs.mkdirSync(artifacts, { recursive: true });
      for (const d of desks()) {
        if (d && !d.page.isClosed()) await d.page.screenshot({ path: path.join(artifacts, `${name}-${d.who}.png`) }).catch(() => {});
      }
    };
  }

  // cleanArtifacts empties the artifacts folder of an earlier run's
  // screenshots and logs.
  function cleanArtifacts() {
    fs.mkdirSync(artifacts, { recursive: true });
    for (const f of fs.readdirSync(artifacts)) if (/\.(png|log)$/.test(f)) fs.rmSync(path.join(artifacts, f));
  }

  // closeWindow makes a WhatsApp contact's last message 25 hours old, so
  // its 24-hour window is closed and only a template may go.
  async function closeWindow(number) {
    const key = '{parley}:contact:whatsapp:' + number;
    assert.ok((await redisCli('HGET', key, 'last_inbound')).trim(), 'the contact has last_inbound');
    await redisCli('HSET', key, 'last_inbound', String(Date.now() - 25 * 3600 * 1000)); // Unix ms
  }

  // boot starts a suite from nothing: the environment checked, the last
  // run's screenshots gone, the suite's database empty, the fake Twilio
  // (serving more, when given, as startFakeTwilio does), Parley with
  // config and users, and the browser.
  async function boot(config, users, more) {
    checkEnvironment();
    cleanArtifacts();
    await redisCli('flushdb');
    await startFakeTwilio(more);
    await startParley(config, users);
    await launchBrowser();
  }

  return {
    W, accountSid, authToken, db, artifacts, shotOf, boot, closeWindow,
    startFakeTwilio, redisCli, parleyCli, sign, webhook, whatsAppIn, smsIn, inbound, statusCallback, sentTo, addMedia, withMedia,
    startParley, stopParley, launchBrowser, newDesk, finish, cleanArtifacts,
  };
}

// ALWAYS_OPEN is the business_hours block of a config that is never closed.
export const ALWAYS_OPEN = `business_hours:
  timezone: UTC
  weekly:
    monday: ["00:00-24:00"]
    tuesday: ["00:00-24:00"]
    wednesday: ["00:00-24:00"]
    thursday: ["00:00-24:00"]
    friday: ["00:00-24:00"]
    saturday: ["00:00-24:00"]
    sunday: ["00:00-24:00"]
`;

// makeStep returns the it() of a browser test file: after each test, pass or
// fail, every open desk (from desks()) is screenshot by shot, and each must
// have thrown nothing and opened no browser dialog.
export function makeStep(W, desks, shot) {
  return function step(name, fn) {
    it(name, { timeout: 90_000 }, async () => {
      try {
        await fn();
        for (const desk of desks()) {
          if (!desk) continue;
          assert.deepEqual(desk.errors, [], `${desk.who}'s page threw`);
          assert.deepEqual(desk.dialogs, [], `${desk.who}'s page opened a dialog`);
        }
      } finally {
        W.shots++;
        await shot(String(W.shots).padStart(2, '0') + '-' + name.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '').toLowerCase());
      }
    });
  };
}

// card is a conversation's card in the open list; countBadge a tab's count.
// openTab switches the desk to a tab and waits until it is the active one.
export async function openTab(page, tab) {
  await page.click(`.tab[data-tab="${tab}"]`);
  await page.locator(`.tab[data-tab="${tab}"].active`).waitFor();
}

// setPresence picks a presence in the desk's header and waits for the
// server to take it.
export async function setPresence(page, presence) {
  const put = page.waitForResponse((r) => r.url().endsWith('/api/v1/me/presence') && r.request().method() === 'PUT');
  await page.selectOption('#presence', presence);
  const res = await put;
  assert.equal(res.status(), 200, `PUT /me/presence answered ${res.status()}`);
}

export const card = (page, text) => page.locator('#list .card', { hasText: text });
export const countBadge = async (page, tab) => Number(await page.locator(`.count[data-count="${tab}"]`).textContent());

// signIn signs a desk in through the page's form and waits for its live
// updates to connect.
export async function signIn(base, desk, user, password) {
  const { page } = desk;
  await page.goto(base + '/desk/');
  await page.locator('#signin-form').waitFor();
  await page.fill('#signin-user', user);
  await page.fill('#signin-password', password);
  await page.click('#signin-submit');
  await page.locator('#desk').waitFor();
  await page.locator('body[data-live="connected"]').waitFor();
}

// ---------- the phone simulator (phone.test.mjs) ----------

// SANDBOX_PHONE_ENV, set as a harness's W.envOverrides before startParley,
// runs Parley with no Twilio account (sandbox mode: nothing is sent, the
// fake Twilio sees nothing) and with the phone simulator on a real Redis.
export const SANDBOX_PHONE_ENV = { TWILIO_ACCOUNT_SID: '', TWILIO_AUTH_TOKEN: '', PARLEY_TWILIO_API_URL: '', PARLEY_DEV_PHONE: '1' };
