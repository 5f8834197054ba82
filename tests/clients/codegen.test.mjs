// GraphQL Code Generator makes TypeScript types from schema.graphql and
// the operations in examples/operations (codegen.yml, as a project would
// configure it), `tsc --noEmit` accepts them together with typed-usage.ts,
// and the same generation pointed at a running server's
// `GET /schema.graphql` gives the same file.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, test } from 'node:test';

import { generate, loadCodegenConfig } from '@graphql-codegen/cli';

import { startServer } from './server.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);
const generatedPath = join(here, 'generated/operations.ts');

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

test('codegen generates types for every example operation from schema.graphql', async () => {
  await run(join(here, 'node_modules/.bin/graphql-codegen'), ['--config', 'codegen.yml'], { cwd: here });

  const generated = readFileSync(generatedPath, 'utf8');
  const operationTypes = [...generated.matchAll(/^export type (\w+(?:Query|Mutation|Subscription)) = /gm)]
    .map((match) => match[1]);
  assert.deepStrictEqual(operationTypes, [
    'CreateShipmentMutation',
    'ProvinceCardQuery',
    'SearchQuery',
    'ShipmentEventsSubscription',
    'ShipmentFanOutQuery',
    'ShipmentsPageQuery',
    'UpdateShipmentMutation',
  ]);
});

test('tsc --noEmit accepts the generated types and code that uses them', async () => {
  const { stdout } = await run(join(here, 'node_modules/.bin/tsc'), ['--noEmit', '-p', 'tsconfig.json'], { cwd: here })
    .catch((error) => assert.fail(`tsc failed:\n${error.stdout}${error.stderr}`));

  assert.deepStrictEqual(stdout, '');
});

test('codegen pointed at the running server generates the same types', async () => {
  // codegen.yml as it is, with only the schema changed to the server's URL.
  const { config } = await loadCodegenConfig({ configFilePath: join(here, 'codegen.yml') });
  const [output] = await generate(
    { ...config, schema: `${server.origin}/schema.graphql`, cwd: here, silent: true },
    false,
  );

  assert.deepStrictEqual(output.content, readFileSync(generatedPath, 'utf8'));
});
