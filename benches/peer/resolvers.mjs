// The resolvers: tradegraph's read API (src/graphql/types/*.rs) over the
// in-memory database, rule for rule, so that every answer equals
// tradegraph's as a JSON value. Mutations and subscriptions are not served:
// the peer exists to compare reads.

import { BadInput, TAG, paginate, pageRequest, encodeCursor, textKey, decimalKey } from './keys.mjs'
import { FACETS, parseCode, parseProvinceCode } from './data.mjs'
import { moneyDisplay, quantityDisplay, percentDisplay, signedF64Display, normalizeDecimal } from './figures.mjs'

const REPORT_YEAR = 2025

/// The global id: base64 of "Type:key" (src/graphql/ids.rs).
function nodeId (plain) {
  return Buffer.from(plain, 'utf8').toString('base64')
}

/// A Relay connection over one page.
function connection (page, totalCount) {
  const edges = page.items.map(({ position, item }) => ({ cursor: encodeCursor(position), node: item }))
  return {
    edges,
    nodes: edges.map((edge) => edge.node),
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: edges.length ? edges[0].cursor : null,
      endCursor: edges.length ? edges[edges.length - 1].cursor : null,
    },
    totalCount,
  }
}

const EMPTY_PAGE = { items: [], hasNextPage: false, hasPreviousPage: false }

/// A catalog list: records keyed by `sortKey` and then their code.
function catalogConnection (records, tag, args, sortKey = () => Buffer.alloc(0), descending = false) {
  const request = pageRequest(args)
  const sorted = records
    .map((record) => ({ key: Buffer.concat([sortKey(record), Buffer.from(record.code, 'utf8')]), item: record }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
  return connection(paginate({ tag, descending }, request, sorted), sorted.length)
}

/// `load_all`: the records of these codes in order, each code once,
/// unknown codes left out.
function loadAll (map, codes) {
  const seen = new Set()
  const found = []
  for (const code of codes) {
    if (seen.has(code)) continue
    seen.add(code)
    const record = map.get(code)
    if (record) found.push(record)
  }
  return found
}

function lookup (map, code) {
  return code == null ? null : (map.get(code) ?? null)
}

function yearOf (province, year) {
  return province.years.find((figures) => figures.year === year) ?? null
}

function routeConnection (db, { province = null, partner = null, mode = null }, args) {
  const request = pageRequest(args)
  const chosen = [...db.routes.values()].filter((route) =>
    (province == null || route.provinceCodes.includes(province)) &&
    (partner == null || route.partnerCodes.includes(partner)) &&
    (mode == null || route.mode === mode))
  return catalogConnectionOf(chosen, TAG.ROUTES, request)
}

function catalogConnectionOf (records, tag, request) {
  const sorted = records.map((record) => ({ key: Buffer.from(record.code, 'utf8'), item: record }))
  return connection(paginate({ tag }, request, sorted), sorted.length)
}

function tradeFlowConnection (db, code, ofPartner, args) {
  const request = pageRequest(args)
  const list = db.flowList(code, ofPartner)
  return connection(paginate({ tag: list.tag, prefix: list.prefix }, request, list), list.length)
}

/// `ShipmentFilterInput::resolve`: codes parsed, the province found by
/// code or name, the date range checked.
function resolveFilter (db, input) {
  const filter = {
    originProvince: null,
    destinationPartner: null,
    route: null,
    shipper: null,
    hub: null,
    mode: input.mode ?? null,
    departedFrom: input.departedFrom ?? null,
    departedTo: input.departedTo ?? null,
    synthetic: input.synthetic ?? null,
  }
  if (input.originProvince != null) {
    const province = db.findProvince(input.originProvince)
    if (!province) {
      throw new BadInput(`originProvince: unknown province ${JSON.stringify(input.originProvince)}; use a code such as "CN-GD" or a name such as "Guangdong"`)
    }
    filter.originProvince = province.code
  }
  if (input.destinationPartner != null) filter.destinationPartner = parseCode('trade partner', input.destinationPartner)
  if (input.route != null) filter.route = parseCode('freight route', input.route)
  if (input.shipper != null) filter.shipper = parseCode('company', input.shipper)
  if (input.hub != null) filter.hub = parseCode('hub', input.hub)
  if (filter.departedFrom != null && filter.departedTo != null && filter.departedFrom > filter.departedTo) {
    throw new BadInput(`departedFrom (${filter.departedFrom}) must not be after departedTo (${filter.departedTo})`)
  }
  return filter
}

/// `ShipmentFilter::matches`.
function matches (filter, shipment) {
  const holds = (wanted, actual) => wanted == null || wanted === actual
  return holds(filter.originProvince, shipment.originProvinceCode) &&
    holds(filter.destinationPartner, shipment.destinationPartnerCode) &&
    holds(filter.route, shipment.routeCode) &&
    holds(filter.shipper, shipment.shipperCode) &&
    holds(filter.mode, shipment.mode) &&
    holds(filter.synthetic, shipment.synthetic) &&
    (filter.hub == null || shipment.originCode === filter.hub || shipment.destinationCode === filter.hub) &&
    (filter.departedFrom == null || (shipment.departedOn != null && shipment.departedOn >= filter.departedFrom)) &&
    (filter.departedTo == null || (shipment.departedOn != null && shipment.departedOn <= filter.departedTo))
}

/// `choose_index`: the facet a cursor was made for if the filter still asks
/// for it, else the facet of the filter's conditions with the fewest
/// entries (the first of equals), else every shipment.
function chooseFacet (db, filter, request) {
  const cursors = [request.after, request.before].filter((position) => position != null)
  const pinned = FACETS.find((facet) => facet.wanted(filter) != null && cursors.some((position) => position[0] === facet.tag))
  if (pinned) return pinned
  let narrowest = FACETS[0]
  let smallest = null
  for (const facet of FACETS) {
    const value = facet.wanted(filter)
    if (value == null) continue
    const size = db.counter(facet, value)
    if (smallest == null || size < smallest) {
      narrowest = facet
      smallest = size
    }
  }
  return narrowest
}

/// `shipment_connection`: every `shipments` field, on the root or nested
/// under the record (`pinned`, `[filter field, code]`) it belongs to.
function shipmentConnection (db, pinned, args) {
  const request = pageRequest(args)
  const filter = resolveFilter(db, args.filter ?? {})
  if (pinned) {
    const [field, code] = pinned
    if (filter[field] == null) filter[field] = code
    else if (filter[field] !== code) return connection(EMPTY_PAGE, 0)
  }
  const byQuantity = args.orderBy?.field === 'QUANTITY'
  const descending = args.orderBy?.direction === 'DESC'
  const facet = chooseFacet(db, filter, request)
  const list = db.shipmentList(facet, facet.wanted(filter) ?? '', byQuantity)
  // The list already meets the facet's condition; the others are checked
  // record by record, as tradegraph's scan checks them.
  const others = FACETS.some((other) => other !== facet && other.wanted(filter) != null) ||
    filter.departedFrom != null || filter.departedTo != null
  const sorted = others ? list.filter(({ item }) => matches(filter, item)) : list
  const page = paginate({ tag: facet.tag, prefix: list.scope, descending }, request, sorted)
  return connection(page, sorted.length)
}

/// `Store::search`: codes and names of the catalogs, ranked.
function search (db, text) {
  const wanted = text.trim().toLowerCase()
  if (wanted === '') return []
  const hits = []
  const consider = (record, names) => {
    const code = record.code.toLowerCase()
    const lowered = names.map((name) => name.toLowerCase())
    let rank = null
    if (code === wanted) rank = 0
    else if (lowered.some((name) => name.startsWith(wanted))) rank = 1
    else if (code.includes(wanted) || lowered.some((name) => name.includes(wanted))) rank = 2
    if (rank != null) hits.push({ rank, name: Buffer.from(lowered[0], 'utf8'), record })
  }
  for (const province of db.provinces.values()) consider(province, [province.name, province.nameZh])
  for (const partner of db.partners.values()) consider(partner, [partner.name])
  for (const hub of db.hubs.values()) consider(hub, [hub.name])
  for (const company of db.companies.values()) consider(company, [company.name])
  for (const route of db.routes.values()) consider(route, [route.name])
  // A stable sort, as Rust's `sort_by`: equals keep their catalog order.
  hits.sort((a, b) => a.rank - b.rank || Buffer.compare(a.name, b.name))
  return hits.map((hit) => hit.record)
}

/// `NodeId::decode`: only the canonical spelling of an id is one.
function fetchNode (db, id) {
  const malformed = () => new BadInput(`malformed id ${JSON.stringify(id)}: pass an id that tradegraph returned`)
  const plain = Buffer.from(id, 'base64').toString('utf8')
  const colon = plain.indexOf(':')
  if (colon < 0) throw malformed()
  const [kind, key] = [plain.slice(0, colon), plain.slice(colon + 1)]
  const code = (parse) => {
    try {
      return parse()
    } catch {
      throw malformed()
    }
  }
  let canonical, record
  switch (kind) {
    case 'Province': {
      const parsed = parseProvinceCode(key)
      if (!parsed) throw malformed()
      canonical = parsed
      record = lookup(db.provinces, parsed)
      break
    }
    case 'TradePartner': canonical = code(() => parseCode('trade partner', key)); record = lookup(db.partners, canonical); break
    case 'Hub': canonical = code(() => parseCode('hub', key)); record = lookup(db.hubs, canonical); break
    case 'Company': canonical = code(() => parseCode('company', key)); record = lookup(db.companies, canonical); break
    case 'FreightRoute': canonical = code(() => parseCode('freight route', key)); record = lookup(db.routes, canonical); break
    case 'Shipment': {
      if (!/^\+?\d+$/.test(key) || BigInt(key) >= 1n << 64n) throw malformed()
      canonical = BigInt(key).toString()
      record = db.shipments.get(Number(key)) ?? null
      break
    }
    case 'TradeFlow': {
      const [province, partner, year] = splitThree(key)
      const provinceCode = province == null ? null : parseProvinceCode(province)
      if (!provinceCode || !/^[+-]?\d+$/.test(year ?? '') || Math.abs(Number(year)) > 2 ** 31) throw malformed()
      const partnerCode = code(() => parseCode('trade partner', partner))
      canonical = `${provinceCode}:${partnerCode}:${Number(year)}`
      record = db.tradeFlows.get(canonical) ?? null
      break
    }
    default: throw malformed()
  }
  if (nodeId(`${kind}:${canonical}`) !== id) throw malformed()
  return record
}

function splitThree (key) {
  const first = key.indexOf(':')
  const second = first < 0 ? -1 : key.indexOf(':', first + 1)
  if (second < 0) return []
  return [key.slice(0, first), key.slice(first + 1, second), key.slice(second + 1)]
}

/// The resolvers for one database.
export function resolversFor (db) {
  const typename = { resolveType: (record) => record.__typename }
  return {
    Decimal: {
      serialize: normalizeDecimal,
    },
    Node: typename,
    SearchResult: typename,
    Query: {
      province: (_, { code }) => db.findProvince(code),
      provinces: (_, args) => {
        const field = args.orderBy?.field ?? 'NAME'
        const descending = args.orderBy?.direction === 'DESC'
        const records = [...db.provinces.values()]
        if (field === 'NAME') {
          return catalogConnection(records, TAG.PROVINCES_BY_NAME, args, (p) => textKey(p.name.toLowerCase()), descending)
        }
        const tag = descending ? TAG.PROVINCES_BY_TRADE_DESC : TAG.PROVINCES_BY_TRADE_ASC
        return catalogConnection(records, tag, args, (p) => {
          const amount = yearOf(p, REPORT_YEAR)?.totalTrade?.amount ?? null
          // "No figure" goes to the end of the list in either direction.
          return Buffer.concat([Buffer.from([Number((amount != null) === descending)]), decimalKey(amount)])
        }, descending)
      },
      nationalSummary: (_, { year }) => db.national.get(year) ?? null,
      tradePartner: (_, { code }) => lookup(db.partners, parseCode('trade partner', code)),
      tradePartners: (_, args) => {
        const request = pageRequest(args)
        const chosen = [...db.partners.values()].filter((p) => args.kind == null || p.kind === args.kind)
        return catalogConnectionOf(chosen, TAG.PARTNERS, request)
      },
      hub: (_, { code }) => lookup(db.hubs, parseCode('hub', code)),
      hubs: (_, args) => {
        const request = pageRequest(args)
        const chosen = [...db.hubs.values()].filter((h) => args.kind == null || h.kind === args.kind)
        return catalogConnectionOf(chosen, TAG.HUBS, request)
      },
      company: (_, { code }) => lookup(db.companies, parseCode('company', code)),
      companies: (_, args) => catalogConnectionOf([...db.companies.values()], TAG.COMPANIES, pageRequest(args)),
      freightRoute: (_, { code }) => lookup(db.routes, parseCode('freight route', code)),
      freightRoutes: (_, args) => routeConnection(db, { mode: args.mode }, args),
      shipment: (_, { reference }) => db.shipmentsByReference.get(reference.trim().toUpperCase()) ?? null,
      shipments: (_, args) => shipmentConnection(db, null, args),
      node: (_, { id }) => fetchNode(db, id),
      nodes: (_, { ids }) => {
        if (ids.length > 100) throw new BadInput(`ids may hold at most 100 ids, got ${ids.length}`)
        return ids.map((id) => fetchNode(db, id))
      },
      search: (_, { text, first }) => {
        if (!Number.isInteger(first) || first < 1 || first > 100) {
          throw new BadInput(`first must be between 1 and 100, got ${first}`)
        }
        if (text.trim() === '') throw new BadInput('text must not be empty')
        const shipment = db.shipmentsByReference.get(text.trim().toUpperCase())
        return (shipment ? [shipment] : []).concat(search(db, text)).slice(0, first)
      },
    },
    Mutation: Object.fromEntries(
      ['createCompany', 'createFreightRoute', 'createHub', 'createShipment', 'deleteShipment', 'recordTradeFlow', 'updateShipment']
        .map((field) => [field, () => { throw new Error('the peer serves reads only') }])),
    Province: {
      id: (p) => nodeId(`Province:${p.code}`),
      totalTrade: (p, { year }) => yearOf(p, year)?.totalTrade ?? null,
      growthPercent: (p, { year }) => yearOf(p, year)?.growthPercent ?? null,
      nationalRank: (p, { year }) => yearOf(p, year)?.nationalRank ?? null,
      hubs: (p) => [...db.hubs.values()].filter((hub) => hub.provinceCode === p.code),
      tradeFlows: (p, args) => tradeFlowConnection(db, p.code, false, args),
      shipments: (p, args) => shipmentConnection(db, ['originProvince', p.code], args),
      freightRoutes: (p, args) => routeConnection(db, { province: p.code, mode: args.mode }, args),
    },
    Indicator: {
      percent: (i) => i.percentFigure?.value ?? null,
      percentQualifier: (i) => i.percentFigure?.qualifier ?? null,
      provinces: (i) => loadAll(db.provinces, i.provinceCodes),
      hub: (i) => lookup(db.hubs, i.hubCode),
      display: (i) => {
        let value = ''
        if (i.money) value = moneyDisplay(i.money)
        else if (i.quantity) value = quantityDisplay(i.quantity)
        else if (i.percentFigure) value = percentDisplay(i.percentFigure)
        else if (i.changePercent != null) value = `${signedF64Display(i.changePercent)} percent`
        return `${i.label}: ${value}`
      },
    },
    Money: {
      display: moneyDisplay,
    },
    Quantity: {
      display: quantityDisplay,
    },
    TradePartner: {
      id: (p) => nodeId(`TradePartner:${p.code}`),
      members: (p) => loadAll(db.partners, p.memberCodes),
      memberOf: (p) => [...db.partners.values()].filter((group) => group.memberCodes.includes(p.code)),
      tradeFlows: (p, args) => tradeFlowConnection(db, p.code, true, args),
      shipments: (p, args) => shipmentConnection(db, ['destinationPartner', p.code], args),
      freightRoutes: (p, args) => routeConnection(db, { partner: p.code, mode: args.mode }, args),
      hubs: (p) => [...db.hubs.values()].filter((hub) => hub.countryCode === p.code),
    },
    Hub: {
      id: (h) => nodeId(`Hub:${h.code}`),
      province: (h) => lookup(db.provinces, h.provinceCode),
      country: (h) => lookup(db.partners, h.countryCode),
      shipments: (h, args) => shipmentConnection(db, ['hub', h.code], args),
    },
    Company: {
      id: (c) => nodeId(`Company:${c.code}`),
      province: (c) => lookup(db.provinces, c.provinceCode),
      shipments: (c, args) => shipmentConnection(db, ['shipper', c.code], args),
    },
    FreightRoute: {
      id: (r) => nodeId(`FreightRoute:${r.code}`),
      origin: (r) => lookup(db.hubs, r.originCode),
      destination: (r) => lookup(db.hubs, r.destinationCode),
      via: (r) => loadAll(db.hubs, r.viaCodes),
      provinces: (r) => loadAll(db.provinces, r.provinceCodes),
      partners: (r) => loadAll(db.partners, r.partnerCodes),
      shipments: (r, args) => shipmentConnection(db, ['route', r.code], args),
    },
    TradeFlow: {
      id: (f) => nodeId(`TradeFlow:${f.provinceCode}:${f.partnerCode}:${f.year}`),
      province: (f) => lookup(db.provinces, f.provinceCode),
      partner: (f) => lookup(db.partners, f.partnerCode),
    },
    Shipment: {
      id: (s) => nodeId(`Shipment:${s.shipmentId}`),
      shipper: (s) => lookup(db.companies, s.shipperCode),
      originProvince: (s) => lookup(db.provinces, s.originProvinceCode),
      origin: (s) => lookup(db.hubs, s.originCode),
      destinationPartner: (s) => lookup(db.partners, s.destinationPartnerCode),
      destination: (s) => lookup(db.hubs, s.destinationCode),
      route: (s) => lookup(db.routes, s.routeCode),
    },
  }
}
