// graphql-ws against a real tradegraph server: a client subscribes to
// `shipmentEvents` over `graphql-transport-ws`, mutations create shipments
// (over HTTP, and over the same socket with the token in
// `connectionParams`), and each event arrives with the right data; a
// shipment the filter leaves out never arrives.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

import { WRITE_TOKEN, exampleOperations, post, startServer } from './server.mjs';

const operations = exampleOperations();

let server;
let client;

before(async () => {
  server = await startServer();
  client = createClient({
    url: server.ws,
    webSocketImpl: WebSocket,
    connectionParams: { Authorization: `Bearer ${WRITE_TOKEN}` },
    retryAttempts: 0,
  });
});

after(async () => {
  await client?.dispose();
  await server?.stop();
});

/** Runs a mutation over the WebSocket (graphql-ws `subscribe` with one result). */
function overSocket(query, variables) {
  return new Promise((resolve, reject) => {
    let result;
    client.subscribe({ query, variables }, {
      next: (value) => { result = value; },
      error: reject,
      complete: () => resolve(result),
    });
  });
}

// A lost event would leave `events.next()` waiting: the timeout fails it.
test('a created shipment arrives as an event with the right data', { timeout: 60_000 }, async () => {
  const events = client.iterate({
    query: operations.ShipmentEvents,
    variables: { filter: { originProvince: 'jiangsu' } },
  });
  // A subscription starts listening a moment after it is sent, and
  // graphql-transport-ws does not say when. So first change a seeded Jiangsu
  // shipment until its event arrives: from then on nothing can be missed.
  const blades = await post(server.http, '{ shipment(reference: "ENVISION-JIANGYIN-BLADES") { id } }');
  const bladesId = blades.data.shipment.id;
  let listening = false;
  const warmUp = (async () => {
    for (let attempt = 1; attempt <= 50; attempt += 1) {
      await post(
        server.http,
        operations.UpdateShipment,
        { id: bladesId, input: { note: `warm-up ${attempt}` } },
        WRITE_TOKEN,
      );
      await new Promise((wait) => setTimeout(wait, 100));
      if (listening) return;
    }
  })();
  const first = await events.next();
  listening = true;
  await warmUp;
  assert.deepStrictEqual(first.value.data.shipmentEvents.kind, 'UPDATED');
  assert.deepStrictEqual(first.value.data.shipmentEvents.shipment.reference, 'ENVISION-JIANGYIN-BLADES');
  // Drain the updates that were on their way when the loop stopped. On a
  // fresh server only these updates made events, so the last one's sequence
  // number is the number of updates: the shipment's version less one.
  let sequence = first.value.data.shipmentEvents.sequence;
  const updated = await post(server.http, '{ shipment(reference: "ENVISION-JIANGYIN-BLADES") { version } }');
  const lastUpdateSequence = updated.data.shipment.version - 1;
  while (sequence < lastUpdateSequence) {
    const next = await events.next();
    sequence = next.value.data.shipmentEvents.sequence;
  }

  // Guangdong's shipment does not meet the filter; Jiangsu's does.
  const skipped = await post(
    server.http,
    operations.CreateShipment,
    { input: { cargo: 'televisions', originProvince: 'Guangdong' }, idempotencyKey: 'clients-gd-1' },
    WRITE_TOKEN,
  );
  const created = await post(
    server.http,
    operations.CreateShipment,
    {
      input: {
        reference: 'CLIENTS-JS-BLADES',
        cargo: 'wind turbine blades',
        originProvince: 'Jiangsu',
        quantity: { value: '48', unit: 'blades' },
      },
      idempotencyKey: 'clients-js-1',
    },
    WRITE_TOKEN,
  );
  const event = await events.next();

  assert.deepStrictEqual(skipped.errors, undefined);
  assert.deepStrictEqual(created.errors, undefined);
  const shipment = created.data.createShipment.shipment;
  assert.deepStrictEqual(shipment, {
    id: shipment.id,
    reference: 'CLIENTS-JS-BLADES',
    version: 1,
    cargo: 'wind turbine blades',
    quantity: { value: '48', unit: 'blades', display: '48 blades' },
    originProvince: { id: shipment.originProvince.id, code: 'CN-JS', name: 'Jiangsu' },
  });
  assert.deepStrictEqual(event, {
    done: false,
    value: {
      data: {
        shipmentEvents: {
          kind: 'CREATED',
          // One after the last update; the Guangdong shipment took one too.
          sequence: sequence + 2,
          shipment,
        },
      },
      // Every result reports its cost, events too.
      extensions: { cost: { requested: 16, limit: 50000 } },
    },
  });

  // A mutation over the socket itself, authorized by connectionParams.
  const overWebSocket = await overSocket(operations.CreateShipment, {
    input: { reference: 'CLIENTS-JS-TURBINES', cargo: 'wind turbines', originProvince: 'JS' },
  });
  const second = await events.next();

  const turbines = overWebSocket.data.createShipment.shipment;
  assert.deepStrictEqual(overWebSocket.errors, undefined);
  assert.deepStrictEqual(second.value.data.shipmentEvents, {
    kind: 'CREATED',
    sequence: sequence + 3,
    shipment: {
      id: turbines.id,
      reference: 'CLIENTS-JS-TURBINES',
      version: 1,
      cargo: 'wind turbines',
      quantity: null,
      originProvince: { id: shipment.originProvince.id, code: 'CN-JS', name: 'Jiangsu' },
    },
  });
  await events.return();
});
