// What the browser tests share: headless Chromium with the network to
// anything but loopback cut off and every request recorded, and the server
// run.sh started (TRADEGRAPH_URL, TRADEGRAPH_WRITE_TOKEN).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const base = process.env.TRADEGRAPH_URL;
export const token = process.env.TRADEGRAPH_WRITE_TOKEN;
assert.ok(base && token, 'run.sh sets TRADEGRAPH_URL and TRADEGRAPH_WRITE_TOKEN');

// Chromium's own traffic (updates, sync, safe browsing) is switched off, any
// host name but localhost fails to resolve, and whatever is not loopback
// goes to a proxy on the discard port, where nothing listens.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
  '--proxy-server=http://127.0.0.1:9',
];

/** Whether a URL stays on this machine (or needs no network at all). */
export function local(url) {
  const { protocol, hostname } = new URL(url);
  if (protocol === 'data:' || protocol === 'blob:' || url === 'about:blank') return true;
  const loopback = hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname);
  return ['http:', 'https:', 'ws:', 'wss:'].includes(protocol) && loopback;
}

/**
 * Starts Chromium with a fresh profile. Every request is recorded in
 * `requested`; any off loopback is aborted and recorded in `blocked`.
 * `close()` ends the browser and removes the profile.
 */
export async function launchOffline() {
  const profile = mkdtempSync(join(tmpdir(), 'tradegraph-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1440, height: 900 },
  });
  const requested = [];
  const blocked = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (local(url)) return route.continue();
    blocked.push(url);
    return route.abort('blockedbyclient');
  });
  context.on('request', (request) => requested.push(request.url()));
  const close = async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, requested, blocked, close };
}

/** Waits until `condition()` holds, for 15 seconds at most. */
export async function waitUntil(condition) {
  for (let waited = 0; !condition(); waited += 50) {
    assert.ok(waited < 15_000, `timed out waiting for ${condition}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Creates a shipment over HTTP with the write token; returns its reference. */
export async function createShipment(idempotencyKey) {
  const response = await fetch(new URL('/graphql', base), {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({
      query: `mutation ($key: String!) {
        createShipment(
          input: {cargo: "wind turbine blades", originProvince: "Jiangsu", quantity: {value: "48", unit: "blades"}},
          idempotencyKey: $key
        ) { shipment { reference } }
      }`,
      variables: { key: idempotencyKey },
    }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.data.createShipment.shipment.reference;
}
