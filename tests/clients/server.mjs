// Starts a real tradegraph server for one test file: the debug binary (or
// $TRADEGRAPH_BIN) on a free port over a fresh temporary database, with the
// test write token configured. Each test file gets its own server, so
// exact figures (counts, sequence numbers) hold whatever ran before.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The write token every test server accepts. */
export const WRITE_TOKEN = 'tg_test_token';
/** Its SHA-256 hash, as the server is configured. */
const WRITE_TOKEN_HASH = '1b5afc8b4a9682ac75c7d15d25eafa4f045413bf2eaeaeeb11e2c616653c1a5d';

/** The operations in examples/operations, by operation name. */
export function exampleOperations() {
  const folder = join(root, 'examples/operations');
  return Object.fromEntries(
    readdirSync(folder)
      .filter((name) => name.endsWith('.graphql'))
      .sort()
      .map((name) => [name.replace(/\.graphql$/, ''), readFileSync(join(folder, name), 'utf8')]),
  );
}

/** A port nobody listens on right now. */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolvePort(port));
    });
  });
}

/**
 * Starts the server and waits until it answers `/health` (it binds only
 * after the database is seeded). Returns its URLs and `stop()`.
 */
export async function startServer(extraArgs = []) {
  const binary = process.env.TRADEGRAPH_BIN ?? join(root, 'target/debug/tradegraph');
  const dir = mkdtempSync(join(tmpdir(), 'tradegraph-clients-'));
  const port = await freePort();
  const child = spawn(
    binary,
    [
      '--bind', `127.0.0.1:${port}`,
      '--data-dir', join(dir, 'data'),
      '--write-token-hash', WRITE_TOKEN_HASH,
      ...extraArgs,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } },
  );
  let log = '';
  child.stderr.on('data', (chunk) => { log += chunk; });
  const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
  const origin = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (let attempt = 0; attempt < 300; attempt += 1) {
    if (child.exitCode !== null) break;
    try {
      const response = await fetch(`${origin}/health`);
      if (response.ok) {
        return { origin, http: `${origin}/graphql`, ws: `ws://127.0.0.1:${port}/graphql`, stop };
      }
    } catch {
      // Not listening yet.
    }
    await new Promise((wait) => setTimeout(wait, 100));
  }
  await stop();
  throw new Error(`tradegraph did not start (${binary}):\n${log}`);
}

/** Sends one GraphQL request over POST; returns the parsed body. */
export async function post(url, query, variables = {}, token = undefined) {
  const headers = { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return response.json();
}
