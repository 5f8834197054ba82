// The same-work peer: mercurius with graphql-jit serving tradegraph's own
// schema.graphql (read as SDL, unchanged) over a `tradegraph export` held
// in memory. See README.md in this folder.
//
//   node server.mjs --export FILE [--port 8080] [--host 127.0.0.1]

import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { fileURLToPath } from 'node:url'

import Fastify from 'fastify'
import mercurius from 'mercurius'

import { loadExport } from './data.mjs'
import { resolversFor } from './resolvers.mjs'

const SCHEMA = fileURLToPath(new URL('../../schema.graphql', import.meta.url))

const { values: options } = parseArgs({
  options: {
    export: { type: 'string' },
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
  },
})
if (!options.export) {
  console.error('usage: node server.mjs --export FILE [--port 8080] [--host 127.0.0.1]')
  process.exit(2)
}

const db = loadExport(options.export)
const app = Fastify({ logger: false, bodyLimit: 1 << 20 })
app.register(mercurius, {
  schema: readFileSync(SCHEMA, 'utf8'),
  resolvers: resolversFor(db),
  // Compile a query to JavaScript the first time it is seen.
  jit: 1,
  path: '/graphql',
  graphiql: false,
})
app.get('/health', async () => 'ok')

await app.listen({ port: Number(options.port), host: options.host })
console.log(`peer: ${db.shipments.size} shipments from ${options.export}; serving /graphql on http://${options.host}:${options.port}`)
