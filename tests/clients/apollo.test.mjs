// Apollo Client 4 with InMemoryCache against a real tradegraph server:
// normalization by `__typename` and `id`, a second query answered from the
// cache, `relayStylePagination` merging two pages of `shipments`, and a
// mutation's payload updating the cached shipment with no refetch.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { relayStylePagination } from '@apollo/client/utilities';
import { filter, firstValueFrom } from 'rxjs';

import { WRITE_TOKEN, exampleOperations, startServer } from './server.mjs';
import { EXPECTED_FAN_OUT, EXPECTED_GUANGDONG_CARD, EXPECTED_SHIPMENT_ORDER, IDS } from './expected.mjs';

const operations = exampleOperations();
const PROVINCE_CARD = gql(operations.ProvinceCard);
const SHIPMENT_FAN_OUT = gql(operations.ShipmentFanOut);
const SHIPMENTS_PAGE = gql(operations.ShipmentsPage);
const UPDATE_SHIPMENT = gql(operations.UpdateShipment);
// A different document for an object the first one already fetched.
const PROVINCE_NAME = gql`
  query ProvinceName($code: String!) {
    province(code: $code) { id name nameZh }
  }
`;

let server;
let client;
/** The operation name of every request that reached the server, in order. */
const requests = [];

before(async () => {
  server = await startServer();
  client = new ApolloClient({
    link: new HttpLink({
      uri: server.http,
      fetch: (uri, options) => {
        requests.push(JSON.parse(options.body).operationName);
        return fetch(uri, options);
      },
    }),
    cache: new InMemoryCache({
      typePolicies: {
        Query: {
          fields: {
            // Pages of one list differ only in first/after/last/before; a
            // list with another filter or order is another list.
            shipments: relayStylePagination(['filter', 'orderBy']),
          },
        },
      },
    }),
  });
});

after(async () => {
  client?.stop();
  await server?.stop();
});

test('a nested query is normalized: every object is stored once under __typename:id', async () => {
  const { data } = await client.query({ query: PROVINCE_CARD, variables: { code: 'guangdong' } });

  const cache = client.cache.extract();
  assert.deepStrictEqual(data, { province: EXPECTED_GUANGDONG_CARD });
  assert.deepStrictEqual(Object.keys(cache).sort(), [
    `Hub:${IDS.portGuangzhou}`,
    `Province:${IDS.guangdong}`,
    'ROOT_QUERY',
  ]);
  assert.deepStrictEqual(cache.ROOT_QUERY['province({"code":"guangdong"})'], { __ref: `Province:${IDS.guangdong}` });
  // Objects without an id (Money, Indicator) stay inside their parent.
  assert.deepStrictEqual(cache[`Province:${IDS.guangdong}`].hubs, [{ __ref: `Hub:${IDS.portGuangzhou}` }]);
  assert.deepStrictEqual(cache[`Province:${IDS.guangdong}`].totalTrade, EXPECTED_GUANGDONG_CARD.totalTrade);
  assert.deepStrictEqual(cache[`Hub:${IDS.portGuangzhou}`], EXPECTED_GUANGDONG_CARD.hubs[0]);
  assert.deepStrictEqual(requests, ['ProvinceCard']);
});

test('a second query for the same object is answered from the cache', async () => {
  const cached = await client.query({ query: PROVINCE_NAME, variables: { code: 'guangdong' } });
  const cacheOnly = await client.query({
    query: PROVINCE_NAME,
    variables: { code: 'guangdong' },
    fetchPolicy: 'cache-only',
  });

  const expected = { province: { __typename: 'Province', id: IDS.guangdong, name: 'Guangdong', nameZh: '广东' } };
  assert.deepStrictEqual(cached.data, expected);
  assert.deepStrictEqual(cacheOnly.data, expected);
  assert.deepStrictEqual(requests, ['ProvinceCard'], 'no request left the client');
});

test('the same object reached by another path merges into the one entry', async () => {
  const { data } = await client.query({ query: SHIPMENT_FAN_OUT, variables: { first: 4 } });

  assert.deepStrictEqual(data, EXPECTED_FAN_OUT);
  // Guangdong again, as the province the Greater Bay Area train serves.
  assert.deepStrictEqual(
    client.cache.extract()['FreightRoute:RnJlaWdodFJvdXRlOkNFUi1HQkEtTUFMQVNaRVdJQ1pF'].provinces,
    [{ __ref: `Province:${IDS.guangdong}` }],
  );
  const provinceKeys = Object.keys(client.cache.extract()).filter((key) => key.startsWith('Province:'));
  assert.deepStrictEqual(provinceKeys.sort(), [`Province:${IDS.guangdong}`, `Province:${IDS.jiangsu}`]);
  // The card's fields and the route's are one object now.
  const merged = client.cache.readFragment({
    id: client.cache.identify({ __typename: 'Province', id: IDS.guangdong }),
    fragment: gql`fragment GuangdongCard on Province { code name nameZh nationalRank }`,
  });
  assert.deepStrictEqual(merged, {
    __typename: 'Province',
    code: 'CN-GD',
    name: 'Guangdong',
    nameZh: '广东',
    nationalRank: 1,
  });
  assert.deepStrictEqual(requests, ['ProvinceCard', 'ShipmentFanOut']);
});

let firstShipment;

test('relayStylePagination merges two pages of shipments in order', async () => {
  const observable = client.watchQuery({ query: SHIPMENTS_PAGE, variables: { first: 2 } });
  const emissions = [];
  const subscription = observable.subscribe((result) => {
    // Apollo also tells the watcher when fetchMore starts (`loading`).
    if (!result.loading) emissions.push(result.data.shipments.edges.map((edge) => edge.node.reference));
  });
  try {
    const first = await settled(observable);
    const { endCursor } = first.data.shipments.pageInfo;
    await observable.fetchMore({ variables: { after: endCursor } });

    const merged = client.readQuery({ query: SHIPMENTS_PAGE, variables: { first: 2 } });
    assert.deepStrictEqual(
      merged.shipments.edges.map((edge) => edge.node.reference),
      EXPECTED_SHIPMENT_ORDER,
    );
    assert.deepStrictEqual(merged.shipments.totalCount, 4);
    assert.deepStrictEqual(merged.shipments.pageInfo.hasNextPage, false);
    // The watcher sees the merged list too (it is told asynchronously).
    await waitFor(() => emissions.length === 2);
    assert.deepStrictEqual(emissions, [EXPECTED_SHIPMENT_ORDER.slice(0, 2), EXPECTED_SHIPMENT_ORDER]);
    assert.deepStrictEqual(requests.slice(2), ['ShipmentsPage', 'ShipmentsPage']);
    firstShipment = merged.shipments.edges[0].node;
  } finally {
    subscription.unsubscribe();
  }
});

test("a mutation's payload updates the cached shipment without a refetch", async () => {
  const observable = client.watchQuery({ query: SHIPMENTS_PAGE, variables: { first: 2 } });
  const notes = [];
  const subscription = observable.subscribe((result) => {
    if (!result.loading) notes.push(result.data.shipments.edges[0].node.note);
  });
  try {
    await settled(observable);
    const note = 'checked by the Apollo Client test';

    const { data } = await client.mutate({
      mutation: UPDATE_SHIPMENT,
      variables: { id: firstShipment.id, input: { note }, expectedVersion: firstShipment.version },
      context: { headers: { authorization: `Bearer ${WRITE_TOKEN}` } },
    });
    // The watcher sees the change from the cache.
    await waitFor(() => notes.at(-1) === note);

    assert.deepStrictEqual(data.updateShipment.shipment, {
      __typename: 'Shipment',
      id: firstShipment.id,
      version: firstShipment.version + 1,
      note,
    });
    const cached = client.readQuery({ query: SHIPMENTS_PAGE, variables: { first: 2 } });
    assert.deepStrictEqual(cached.shipments.edges[0].node, {
      ...firstShipment,
      note,
      version: firstShipment.version + 1,
    });
    assert.deepStrictEqual(notes, [firstShipment.note, note]);
    assert.deepStrictEqual(requests, [
      'ProvinceCard',
      'ShipmentFanOut',
      'ShipmentsPage',
      'ShipmentsPage',
      'UpdateShipment',
    ]);
  } finally {
    subscription.unsubscribe();
  }
});

/** The first result of a watched query that is not loading. */
function settled(observable) {
  return firstValueFrom(observable.pipe(filter((result) => !result.loading)));
}

/** Waits (up to two seconds) until `condition()` holds. */
async function waitFor(condition) {
  for (let attempt = 0; attempt < 200 && !condition(); attempt += 1) {
    await new Promise((wait) => setTimeout(wait, 10));
  }
  assert.ok(condition(), 'the condition held within two seconds');
}
