// Checks that the peer answers as tradegraph does: every read scenario of
// benches/scenarios.json, every page of a paged scenario walked to its end
// (so Q3's deep page, at whatever cursor the load script picks, is among
// them), and a few more queries over the rest of the schema. Answers must
// be equal as JSON values; `extensions`, which tradegraph adds, is left
// out. Starts nothing: give it the URLs of two running servers.
//
//   node check.mjs --tradegraph http://127.0.0.1:8000 --peer http://127.0.0.1:8080
//
// Exits 1 with the first difference, 0 when every answer is equal.

import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { isDeepStrictEqual } from 'node:util'

const SCENARIOS = JSON.parse(readFileSync(new URL('../scenarios.json', import.meta.url), 'utf8'))

/// Queries beyond the scenarios, over the parts of the schema they leave
/// out: other lists, orders and filters, backward pages, ids, search.
const EXTRA = {
  provincesByTrade: ['{ provinces(orderBy: {field: TOTAL_TRADE, direction: DESC}, first: 5) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id code nationalRank totalTrade { amount display } growthPercent } } } }'],
  provincesByNameLast: ['{ provinces(last: 4) { pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { code name nameZh } } }'],
  national: ['{ nationalSummary { year growthPercent totalTrade { amount currency qualifier forecast display source { title publisher publishedOn quote } } totalTradeUsd { display } indicators { key label display year percent percentQualifier changePercent note money { amount display } quantity { value display } provinces { code } hub { code } source { quote } } source { title } } }'],
  provinceCards: ['{ a: province(code: "gd") { code indicators { display hub { code name } provinces { code } } hubs { code kind city province { code } country { code } } tradeFlows { totalCount nodes { id year value { display } growthPercent note partner { code } province { code } } } freightRoutes { totalCount nodes { code } } } b: province(code: "广东") { code } c: province(code: "zhejiang") { code shipments(first: 3, orderBy: {field: QUANTITY, direction: DESC}) { totalCount edges { cursor node { reference quantity { value unit display qualifier } } } } } d: province(code: "XX") { code } }'],
  partners: ['{ tradePartners(first: 100) { totalCount nodes { id code name kind region members { code } memberOf { code } hubs { code } tradeFlows { totalCount edges { cursor } } freightRoutes { nodes { code } } shipments(first: 2) { totalCount nodes { reference } } } } }'],
  hubsAndRoutes: ['{ hubs(first: 100) { totalCount nodes { id code name kind city note source { quote } province { code } country { code } version shipments(first: 2) { totalCount pageInfo { endCursor } nodes { reference } } } } freightRoutes { totalCount nodes { id code name mode typicalTransitDays note origin { code } destination { code } via { code } provinces { code } partners { code } shipments(last: 2) { totalCount pageInfo { hasNextPage hasPreviousPage } nodes { reference } } } } companies { totalCount nodes { id code name note province { code } shipments(first: 1) { totalCount } } } }'],
  shipmentFilters: ['query ($from: Date, $to: Date) { a: shipments(filter: {departedFrom: $from, departedTo: $to, mode: RAIL}, first: 5) { totalCount pageInfo { hasNextPage endCursor } nodes { reference departedOn mode } } b: shipments(filter: {synthetic: false}) { totalCount nodes { id reference shipper { id } cargo quantity { value unit qualifier forecast display source { quote } } mode carrierName originProvince { code } origin { code } destinationPartner { code } destination { code } route { code } departedOn arrivedOn transitDays synthetic note source { title } version } } c: shipments(filter: {hub: "yiwu-market", shipper: "BYD"}, orderBy: {field: QUANTITY, direction: ASC}, first: 4) { totalCount edges { cursor node { reference } } } d: shipments(filter: {destinationPartner: "central-asia", originProvince: "CN-ZJ"}, last: 3) { totalCount pageInfo { hasPreviousPage startCursor } nodes { reference } } }', { from: '2025-03-01', to: '2025-03-31' }],
  search: ['{ a: search(text: "gd") { __typename ... on Province { code } } b: search(text: "a", first: 20) { __typename ... on Province { code } ... on TradePartner { code } ... on Hub { code } ... on Company { code } ... on FreightRoute { code } } c: search(text: " syn-00000042 ") { __typename ... on Shipment { reference } } d: search(text: "广") { __typename ... on Province { code } } }'],
  nodes: ['{ nodes(ids: ["UHJvdmluY2U6Q04tR0Q=", "U2hpcG1lbnQ6Nw==", "SHViOllJV1UtTUFSS0VU", "Q29tcGFueTpCWUQ=", "VHJhZGVQYXJ0bmVyOkFS", "RnJlaWdodFJvdXRlOllJV1UtWElOSklBTkctRVVST1BF", "U2hpcG1lbnQ6OTk5OTk5"]) { __typename id ... on Shipment { reference } ... on Province { code } } shipment(reference: "syn-00000007") { id reference } }'],
}

const { values: options } = parseArgs({
  options: {
    tradegraph: { type: 'string' },
    peer: { type: 'string' },
  },
})
if (!options.tradegraph || !options.peer) {
  console.error('usage: node check.mjs --tradegraph URL --peer URL')
  process.exit(2)
}
const endpoint = (url) => new URL(url).pathname === '/' ? new URL('/graphql', url).href : url
const servers = { tradegraph: endpoint(options.tradegraph), peer: endpoint(options.peer) }

async function ask (url, query, variables) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query, variables }),
  })
  const answer = await response.json()
  delete answer.extensions
  return { status: response.status, answer }
}

/// The first place two JSON values differ, or null.
function firstDifference (expected, actual, path = '$') {
  if (isDeepStrictEqual(expected, actual)) return null
  const isObject = (value) => value !== null && typeof value === 'object'
  if (Array.isArray(expected) && Array.isArray(actual)) {
    for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
      const found = firstDifference(expected[i], actual[i], `${path}[${i}]`)
      if (found) return found
    }
  } else if (isObject(expected) && isObject(actual) && !Array.isArray(expected) && !Array.isArray(actual)) {
    for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
      const found = firstDifference(expected[key], actual[key], `${path}.${key}`)
      if (found) return found
    }
  }
  return { path, tradegraph: expected, peer: actual }
}

let compared = 0

/// Sends one request to both servers; exits at the first difference.
async function compare (label, query, variables = {}) {
  const [expected, actual] = await Promise.all([
    ask(servers.tradegraph, query, variables),
    ask(servers.peer, query, variables),
  ])
  compared += 1
  if (expected.answer.errors) {
    fail(label, `tradegraph answered with errors (status ${expected.status}): ${JSON.stringify(expected.answer.errors)}`)
  }
  const difference = firstDifference(expected.answer, actual.answer)
  if (difference) {
    fail(label, `answers differ at ${difference.path}\n  tradegraph: ${JSON.stringify(difference.tradegraph)}\n  peer:       ${JSON.stringify(difference.peer)}`)
  }
  return expected.answer
}

function fail (label, message) {
  console.error(`FAIL ${label}: ${message}`)
  process.exit(1)
}

/// The connection in an answer whose pageInfo has an end cursor.
function pagedConnection (value) {
  if (value === null || typeof value !== 'object') return null
  if (value.pageInfo && 'endCursor' in value.pageInfo) return value
  for (const child of Object.values(value)) {
    const found = pagedConnection(child)
    if (found) return found
  }
  return null
}

for (const [name, scenario] of Object.entries(SCENARIOS)) {
  if (/^\s*mutation\b/.test(scenario.query)) {
    console.log(`skip  ${name}: a mutation`)
    continue
  }
  // Twice: mercurius compiles a query with graphql-jit once it has run it
  // (`jit: 1`), so the second answer is the compiled query's.
  await compare(name, scenario.query, scenario.variables)
  const answer = await compare(`${name} compiled`, scenario.query, scenario.variables)
  let pages = 1
  // A scenario that takes `after` is walked to the end of its list.
  if ('after' in scenario.variables) {
    let list = pagedConnection(answer.data)
    while (list?.pageInfo.hasNextPage) {
      const next = await compare(`${name} page ${pages + 1}`, scenario.query, { ...scenario.variables, after: list.pageInfo.endCursor })
      list = pagedConnection(next.data)
      pages += 1
    }
  }
  console.log(`equal ${name}: ${scenario.title}${pages > 1 ? ` (all ${pages} pages)` : ''}`)
}

for (const [name, [query, variables]] of Object.entries(EXTRA)) {
  await compare(`extra ${name}`, query, variables)
  await compare(`extra ${name} compiled`, query, variables)
  console.log(`equal extra ${name}`)
}

// Q3's list walked backwards from its end, with `last` and `before`.
const backwards = 'query ($before: String) { shipments(filter: {originProvince: "guangdong"}, orderBy: {field: DEPARTED_ON, direction: DESC}, last: 50, before: $before) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { reference departedOn } } } }'
let before = null
let pages = 0
do {
  const answer = await compare(`extra backwards page ${pages + 1}`, backwards, { before })
  const info = answer.data.shipments.pageInfo
  before = info.hasPreviousPage ? info.startCursor : null
  pages += 1
} while (before)
console.log(`equal extra backwards: Q3's list in descending order, all ${pages} pages with last/before`)

console.log(`ok: ${compared} requests, every answer equal`)
