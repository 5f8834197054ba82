// urql (@urql/core with Graphcache, its normalized cache) against a real
// tradegraph server: the nested province card, served again from the
// cache, and a walk through every page of `shipments` with
// `relayPagination`. urql sends queries as GET, so this also drives
// tradegraph's GET endpoint.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { Client, fetchExchange, gql } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';
import { buildSchema, isObjectType } from 'graphql';

import { exampleOperations, root, startServer } from './server.mjs';
import {
  EXPECTED_FAN_OUT,
  EXPECTED_GUANGDONG_CARD,
  EXPECTED_SHIPMENT_ORDER,
  IDS,
  withoutTypenames,
} from './expected.mjs';

const operations = exampleOperations();
const PROVINCE_CARD = gql(operations.ProvinceCard);
const SHIPMENT_FAN_OUT = gql(operations.ShipmentFanOut);
const SHIPMENTS_PAGE = gql(operations.ShipmentsPage);

// Objects without an `id` are values inside their parent, not entities of
// their own: telling Graphcache so keeps it quiet and exact. (It embeds
// PageInfo and every ...Connection and ...Edge by itself.) Everything with
// an `id` is keyed by it, Graphcache's default. The README shows this list.
const EMBEDDED = [
  'Money', 'Quantity', 'Indicator', 'Source', 'NationalSummary', 'ShipmentEvent',
  'CreateShipmentPayload', 'UpdateShipmentPayload', 'DeleteShipmentPayload',
  'CreateHubPayload', 'CreateCompanyPayload', 'CreateFreightRoutePayload', 'RecordTradeFlowPayload',
];

let server;
let client;
/** Method and operation name of every request that reached the server. */
const requests = [];
/** What Graphcache warned about (a missing key, a guessed fragment). */
const warnings = [];
const consoleWarn = console.warn;

before(async () => {
  server = await startServer();
  console.warn = (...args) => warnings.push(args.join(' '));
  client = new Client({
    url: server.http,
    exchanges: [
      cacheExchange({
        keys: Object.fromEntries(EMBEDDED.map((type) => [type, () => null])),
        resolvers: { Query: { shipments: relayPagination() } },
      }),
      fetchExchange,
    ],
    fetch: (url, options) => {
      const name = options.method === 'GET'
        ? new URL(url).searchParams.get('operationName')
        : JSON.parse(options.body).operationName;
      requests.push(`${options.method} ${name}`);
      return fetch(url, options);
    },
  });
});

after(async () => {
  console.warn = consoleWarn;
  await server?.stop();
});

test('the nested province card, then the same query from the cache', async () => {
  const fetched = await client.query(PROVINCE_CARD, { code: 'guangdong' }).toPromise();
  const cached = await client.query(PROVINCE_CARD, { code: 'guangdong' }).toPromise();

  assert.deepStrictEqual(fetched.error, undefined);
  assert.deepStrictEqual(fetched.data, { province: withoutTypenames(EXPECTED_GUANGDONG_CARD) });
  assert.deepStrictEqual(cached.data, fetched.data);
  assert.deepStrictEqual(cached.operation.context.meta.cacheOutcome, 'hit');
  assert.deepStrictEqual(requests, ['GET ProvinceCard']);
});

test('another query for the same province is answered from the normalized cache', async () => {
  const PROVINCE_NAME = gql`
    query ProvinceName($code: String!) {
      province(code: $code) { id name nameZh }
    }
  `;

  const result = await client.query(PROVINCE_NAME, { code: 'guangdong' }, { requestPolicy: 'cache-only' }).toPromise();

  assert.deepStrictEqual(result.data, { province: { id: IDS.guangdong, name: 'Guangdong', nameZh: '广东' } });
  assert.deepStrictEqual(result.operation.context.meta.cacheOutcome, 'hit');
  assert.deepStrictEqual(requests, ['GET ProvinceCard']);
});

test('the nested shipments fan-out', async () => {
  const result = await client.query(SHIPMENT_FAN_OUT, { first: 4 }).toPromise();

  assert.deepStrictEqual(result.error, undefined);
  assert.deepStrictEqual(result.data, withoutTypenames(EXPECTED_FAN_OUT));
  assert.deepStrictEqual(requests, ['GET ProvinceCard', 'GET ShipmentFanOut']);
});

test('a paginated walk through every shipment, merged by relayPagination', async () => {
  const pages = [];
  let after = null;
  let data;
  do {
    const result = await client.query(SHIPMENTS_PAGE, { first: 1, after }).toPromise();
    assert.deepStrictEqual(result.error, undefined);
    data = result.data;
    pages.push(data.shipments.edges.map((edge) => edge.node.reference));
    after = data.shipments.pageInfo.endCursor;
  } while (data.shipments.pageInfo.hasNextPage);

  // Each result holds the pages so far, in order.
  assert.deepStrictEqual(pages, [
    EXPECTED_SHIPMENT_ORDER.slice(0, 1),
    EXPECTED_SHIPMENT_ORDER.slice(0, 2),
    EXPECTED_SHIPMENT_ORDER.slice(0, 3),
    EXPECTED_SHIPMENT_ORDER.slice(0, 4),
  ]);
  assert.deepStrictEqual(data.shipments.totalCount, 4);
  assert.deepStrictEqual(requests.slice(2), [
    'GET ShipmentsPage',
    'GET ShipmentsPage',
    'GET ShipmentsPage',
    'GET ShipmentsPage',
  ]);
});

test('the keys config names every object type without an id', () => {
  const schema = buildSchema(readFileSync(join(root, 'schema.graphql'), 'utf8'));
  const withoutId = Object.values(schema.getTypeMap())
    .filter((type) => isObjectType(type) && !type.getFields().id)
    .map((type) => type.name)
    .filter((name) => !/^__|^(Query|Mutation|Subscription)$|PageInfo|(Connection|Edge)$/.test(name));

  assert.deepStrictEqual(withoutId.sort(), [...EMBEDDED].sort());
});

test('Graphcache had nothing to warn about', () => {
  assert.deepStrictEqual(warnings, []);
});
