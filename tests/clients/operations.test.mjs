// The operations in examples/operations: each is valid against the
// committed schema.graphql (graphql-js `validate`), and each query and
// mutation runs against a real server with no errors. (The subscription
// runs in subscriptions.test.mjs.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { buildSchema, parse, validate } from 'graphql';

import { EXPECTED_SHIPMENT_ORDER } from './expected.mjs';
import { WRITE_TOKEN, exampleOperations, post, root, startServer } from './server.mjs';

const operations = exampleOperations();
const schema = buildSchema(readFileSync(join(root, 'schema.graphql'), 'utf8'));

test('examples/operations holds the operations the client tests use', () => {
  assert.deepStrictEqual(Object.keys(operations), [
    'CreateShipment',
    'ProvinceCard',
    'Search',
    'ShipmentEvents',
    'ShipmentFanOut',
    'ShipmentsPage',
    'UpdateShipment',
  ]);
});

for (const [name, text] of Object.entries(operations)) {
  test(`${name} validates against schema.graphql`, () => {
    const document = parse(text);

    const errors = validate(schema, document).map((error) => error.message);

    assert.deepStrictEqual(errors, []);
    // One operation per file, named as the file is.
    assert.deepStrictEqual(
      document.definitions.map((definition) => definition.name?.value),
      [name],
    );
  });
}

test('validation catches what the schema does not have', () => {
  const errors = validate(schema, parse('{ province(code: "GD") { population } }'));

  assert.deepStrictEqual(errors.map((error) => error.message), [
    'Cannot query field "population" on type "Province".',
  ]);
});

let server;
before(async () => { server = await startServer(); });
after(async () => { await server?.stop(); });

test('every query and mutation runs against the live server with no errors', async () => {
  const run = async (name, variables, token) => {
    const body = await post(server.http, operations[name], variables, token);
    assert.deepStrictEqual(body.errors, undefined, `${name}: ${JSON.stringify(body.errors)}`);
    return body.data;
  };

  const card = await run('ProvinceCard', { code: 'guangdong' });
  const fanOut = await run('ShipmentFanOut', { first: 4 });
  const page = await run('ShipmentsPage', { first: 2 });
  const nextPage = await run('ShipmentsPage', { first: 2, after: page.shipments.pageInfo.endCursor });
  const search = await run('Search', { text: 'yiwu', first: 10 });
  const created = await run(
    'CreateShipment',
    { input: { cargo: 'wind turbine blades', originProvince: 'Jiangsu', quantity: { value: '48', unit: 'blades' } }, idempotencyKey: 'order-1' },
    WRITE_TOKEN,
  );
  const { id } = created.createShipment.shipment;
  const updated = await run('UpdateShipment', { id, input: { note: 'left Jiangyin' }, expectedVersion: 1 }, WRITE_TOKEN);

  assert.deepStrictEqual(
    [card.province.code, card.province.totalTrade.display, card.province.nationalRank],
    ['CN-GD', '9.49 trillion yuan', 1],
  );
  assert.deepStrictEqual(
    fanOut.shipments.nodes.map((node) => [node.reference, node.quantity?.display ?? null]),
    [
      ['BYD-CHANGZHOU-ZARATE', 'over 5,800 new energy vehicles'],
      ['CER-2026-FIRST-GBA-MALASZEWICZE', '110 standard containers'],
      ['ENVISION-JIANGYIN-BLADES', '36 wind turbine blades'],
      ['LIANYUNGANG-WIND-TURBINES', null],
    ],
  );
  assert.deepStrictEqual(
    [...page.shipments.edges, ...nextPage.shipments.edges].map((edge) => edge.node.reference),
    EXPECTED_SHIPMENT_ORDER,
  );
  assert.deepStrictEqual(nextPage.shipments.pageInfo.hasNextPage, false);
  assert.deepStrictEqual(
    search.search.map((result) => [result.__typename, result.code]),
    [['Hub', 'YIWU-MARKET'], ['FreightRoute', 'YIWU-XINJIANG-EUROPE'], ['Hub', 'YIWU-GDTC']],
  );
  assert.deepStrictEqual(
    { ...created.createShipment.shipment, id: undefined, originProvince: created.createShipment.shipment.originProvince.code },
    {
      id: undefined,
      reference: created.createShipment.shipment.reference,
      version: 1,
      cargo: 'wind turbine blades',
      quantity: { value: '48', unit: 'blades', display: '48 blades' },
      originProvince: 'CN-JS',
    },
  );
  assert.match(created.createShipment.shipment.reference, /^SHP-\d+$/);
  assert.deepStrictEqual(updated.updateShipment.shipment, { id, version: 2, note: 'left Jiangyin' });
});
