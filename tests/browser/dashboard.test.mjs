// The dashboard in headless Chromium against a real tradegraph server, with
// the network to anything but loopback cut off: the page loads from the
// server alone, draws the bars for Guangdong and Zhejiang with their values,
// shows the leading regions' share and the routes with their shipments, a
// shipment created through the API appears in its live feed, and an error
// from the API shows as a clear message. Writes screenshots. Run by run.sh,
// which starts the server and sets TRADEGRAPH_URL and TRADEGRAPH_WRITE_TOKEN.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { base, createShipment, launchOffline, local, waitUntil } from './offline.mjs';

const screenshots = join(dirname(fileURLToPath(import.meta.url)), 'screenshots');

let browser;
let page;
const sockets = [];
const framesSent = [];
const errors = [];

before(async () => {
  mkdirSync(screenshots, { recursive: true });
  browser = await launchOffline();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on('websocket', (socket) => {
    sockets.push(socket);
    socket.on('framesent', (frame) => framesSent.push(String(frame.payload)));
  });
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(`${base}/dashboard`);
});

after(async () => {
  await browser?.close();
});

test('the bars for Guangdong and Zhejiang are drawn with their values and sources', async () => {
  const bars = page.locator('#provinces svg.bars g.bar');
  await bars.first().waitFor();

  const drawn = await bars.evaluateAll((groups) =>
    groups.map((group) => ({
      code: group.dataset.code,
      label: group.querySelector('rect').getAttribute('aria-label'),
      width: group.querySelector('rect').getBBox().width,
      value: group.querySelector('text.value').textContent,
      title: group.querySelector('title').textContent,
    })),
  );

  assert.deepEqual(
    drawn.map(({ code, label, value }) => ({ code, label, value })),
    [
      { code: 'CN-GD', label: 'Guangdong: 9.49 trillion yuan', value: '9.49 trillion yuan' },
      { code: 'CN-ZJ', label: 'Zhejiang: 5.55 trillion yuan', value: '5.55 trillion yuan' },
    ],
  );
  // Bars are to scale: Zhejiang's is 5.55/9.49 of Guangdong's.
  assert.ok(Math.abs(drawn[1].width / drawn[0].width - 5.55 / 9.49) < 0.01, JSON.stringify(drawn));
  assert.match(drawn[0].title, /recorded 9\.49 trillion yuan in total foreign trade in 2025/);
  // The provinces the report gives no total for are named as unknown, not drawn as zero.
  const unstated = await page.locator('#provinces .unstated').innerText();
  assert.match(unstated, /^Total unknown for 29 of 31: /);
  assert.match(unstated, /Jiangsu/);
  // Qualified figures keep their qualifier, with their sentence on hover.
  const exports = page.locator('#provinces .indicators li.figure', { hasText: 'over 900 billion yuan' });
  assert.match(await exports.getAttribute('title'), /exceeded 900 billion yuan/);
});

test("the seven leading regions' share is shown with both figures", async () => {
  const national = page.locator('#national');
  await national.locator('svg.share').waitFor();

  assert.equal(await national.locator('svg.share text.value').textContent(), '75.0%');
  const figures = await national.locator('dl.figures').innerText();
  assert.match(figures, /34\.11 trillion yuan/);
  assert.match(figures, /45\.47 trillion yuan/);
  assert.match(await national.innerText(), /the report states no percentage/);
});

test('the freight routes are listed with their shipments', async () => {
  const route = page.locator('#routes li.route[data-code="CER-GBA-MALASZEWICZE"]');
  await route.waitFor();

  const shipment = route.locator('li.shipment[data-reference="CER-2026-FIRST-GBA-MALASZEWICZE"]');
  assert.match(await shipment.innerText(), /110 standard containers/);
  const other = page.locator('#routes li.route[data-code="YIWU-XINJIANG-EUROPE"]');
  assert.match(await other.innerText(), /No shipments recorded on this route/);
  await page.screenshot({ path: join(screenshots, 'dashboard.png'), fullPage: true });
});

test('a shipment created through the API appears in the live feed', async () => {
  await waitUntil(() => framesSent.some((frame) => frame.includes('"type":"subscribe"')));

  // The server may take the subscription a moment after the frame leaves,
  // so a shipment is created until one arrives (a few tries at most).
  let reference;
  for (let attempt = 1; attempt <= 5 && !reference; attempt += 1) {
    const created = await createShipment(`dashboard-test-${attempt}`);
    try {
      await page.locator(`#feed-events li[data-reference="${created}"]`).waitFor({ timeout: 2_000 });
      reference = created;
    } catch {
      // Not delivered: the subscription was not registered yet; try again.
    }
  }

  assert.ok(reference, 'the feed showed a created shipment');
  const entry = await page.locator(`#feed-events li[data-reference="${reference}"]`).innerText();
  assert.match(entry, /created/i);
  assert.match(entry, /wind turbine blades · 48 blades · Jiangsu/);
  assert.equal(new URL(sockets[0].url()).href, new URL('/graphql', base).href.replace(/^http/, 'ws'));
  await page.screenshot({ path: join(screenshots, 'dashboard-feed.png'), fullPage: true });
});

test('an error from the API is shown as a clear message', async () => {
  const failing = await browser.context.newPage();
  await failing.route('**/graphql', (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    return route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({
        errors: [{ message: 'internal error, request id 0123abcd', extensions: { code: 'INTERNAL' } }],
      }),
    });
  });
  await failing.goto(`${base}/dashboard`);

  const alert = failing.getByRole('alert');
  await alert.getByText('Freight routes and their shipments').waitFor();
  const text = await alert.innerText();
  assert.match(text, /Provinces by 2025 foreign trade: the API answered with an error \(INTERNAL\): internal error, request id 0123abcd/);
  assert.ok(await alert.isVisible());
  assert.match(await failing.locator('#provinces .error').innerText(), /internal error, request id 0123abcd/);
  await failing.screenshot({ path: join(screenshots, 'dashboard-error.png'), fullPage: true });
  await failing.close();
});

test('nothing was requested off loopback and nothing went wrong in the page', () => {
  const { blocked, requested } = browser;
  assert.deepEqual(blocked, []);
  assert.deepEqual(requested.filter((url) => !local(url)), []);
  assert.deepEqual(sockets.map((socket) => socket.url()).filter((url) => !local(url)), []);
  assert.deepEqual(errors, []);
  // Every request went to the server that served the page.
  const origins = new Set(requested.filter((url) => !url.startsWith('data:')).map((url) => new URL(url).origin));
  assert.deepEqual([...origins], [new URL(base).origin]);
});
