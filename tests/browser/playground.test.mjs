// The GraphiQL playground in headless Chromium against a real tradegraph
// server, with the network to anything but loopback cut off: the page loads
// from the server alone, runs its example query and shows Guangdong's 9.49
// trillion yuan, opens the docs explorer, and its subscriptions reach the
// WebSocket endpoint. Writes a screenshot. Run by run.sh, which starts the
// server and sets TRADEGRAPH_URL and TRADEGRAPH_WRITE_TOKEN.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { base, createShipment, launchOffline, local, waitUntil } from './offline.mjs';

const screenshot = join(dirname(fileURLToPath(import.meta.url)), 'screenshots', 'playground.png');

let browser;
let page;
const sockets = [];
const framesSent = [];
const errors = [];

before(async () => {
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
  await page.goto(`${base}/`);
});

after(async () => {
  await browser?.close();
});

/** The text of the result pane, as CodeMirror shows it. */
async function resultText() {
  return page.locator('.graphiql-response').innerText();
}

/** Waits until the result pane shows `text`. */
async function waitForResult(text, timeout = 15_000) {
  await page.waitForFunction(
    (expected) => document.querySelector('.graphiql-response')?.innerText.includes(expected),
    text,
    { timeout },
  );
}

test('the page opens GraphiQL with the example query and the docs explorer', async () => {
  await page.locator('.graphiql-container').waitFor();
  const query = page.locator('.graphiql-query-editor');
  await query.getByText('province(code: "guangdong")').waitFor();
  const docs = page.locator('.graphiql-doc-explorer');
  await docs.waitFor();
  // The root types appear once the schema has come in by introspection.
  await docs.getByText('Root Types').waitFor();
  // GraphiQL hides a closed panel by moving it off the page, transparent.
  const { box, opacity } = await docs.evaluate((element) => ({
    box: element.getBoundingClientRect().toJSON(),
    opacity: getComputedStyle(element.closest('.graphiql-plugin')).opacity,
  }));
  assert.equal(opacity, '1');
  assert.ok(box.x >= 0 && box.width > 200 && box.x + box.width <= 1440, JSON.stringify(box));
  assert.match(await docs.innerText(), /query: Query\s+mutation: Mutation\s+subscription: Subscription/);
});

test("running the example query shows Guangdong's 9.49 trillion yuan", async () => {
  await page.locator('.graphiql-execute-button').click();

  await waitForResult('"display": "9.49 trillion yuan"');
  const result = await resultText();
  assert.match(result, /"amount": "9490000000000"/);
  assert.match(result, /"qualifier": "EXACT"/);
  assert.match(result, /"nationalRank": 1/);
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot });
});

test('a subscription runs over the WebSocket at /graphql and delivers a new shipment', async () => {
  await page.evaluate(() => {
    document
      .querySelector('.graphiql-query-editor .CodeMirror')
      .CodeMirror.setValue('subscription NewShipments { shipmentEvents { kind shipment { reference cargo } } }');
  });
  // The tab takes the operation's name once GraphiQL has taken the new text.
  await page.locator('.graphiql-tab-active').getByText('NewShipments').waitFor();
  await page.locator('.graphiql-execute-button').click();
  await waitUntil(() => framesSent.some((frame) => frame.includes('"type":"subscribe"')));

  // The server may take the subscription a moment after the frame leaves,
  // so a shipment is created until one arrives (a few tries at most).
  let reference;
  for (let attempt = 1; attempt <= 5 && !reference; attempt += 1) {
    const created = await createShipment(`browser-test-${attempt}`);
    try {
      await waitForResult(created, 2_000);
      reference = created;
    } catch {
      // Not delivered: the subscription was not registered yet; try again.
    }
  }

  assert.ok(reference, 'the subscription delivered a created shipment');
  const result = await resultText();
  assert.match(result, /"kind": "CREATED"/);
  assert.match(result, /"cargo": "wind turbine blades"/);
  assert.equal(new URL(sockets[0].url()).href, new URL('/graphql', base).href.replace(/^http/, 'ws'));
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
