// The database in memory: a `tradegraph export` (JSON lines, a header
// first; src/store/backup.rs) read into plain JS objects, and the sorted
// lists tradegraph keeps as index trees, built on first use.
//
// Records keep their fields under their GraphQL names where a field is a
// plain value, so the default resolvers answer them; links to other records
// stay codes (`shipperCode`) that resolvers look up, as tradegraph's
// loaders do. Derived fields (ids, display strings, cursors) are not
// stored: resolvers compute them on every request, as tradegraph does.

import { readFileSync } from 'node:fs'

import { TAG, textKey, i32Key, idKey, dateKey, decimalKey, BadInput } from './keys.mjs'

/// The shipment lists: one facet per condition a filter may set, in
/// tradegraph's order (src/store/shipments.rs `FACETS`), which breaks ties
/// when the narrowest list is chosen.
export const FACETS = [
  { name: 'all', id: 0x10, tag: 0x20, values: () => [''], wanted: () => null },
  { name: 'origin', id: 0x11, tag: 0x21, values: (s) => codes(s.originProvinceCode), wanted: (f) => f.originProvince },
  { name: 'partner', id: 0x12, tag: 0x22, values: (s) => codes(s.destinationPartnerCode), wanted: (f) => f.destinationPartner },
  { name: 'route', id: 0x13, tag: 0x23, values: (s) => codes(s.routeCode), wanted: (f) => f.route },
  { name: 'shipper', id: 0x14, tag: 0x24, values: (s) => codes(s.shipperCode), wanted: (f) => f.shipper },
  { name: 'hub', id: 0x15, tag: 0x25, values: (s) => shipmentHubs(s), wanted: (f) => f.hub },
  { name: 'mode', id: 0x16, tag: 0x26, values: (s) => codes(s.mode), wanted: (f) => f.mode },
  { name: 'synthetic', id: 0x17, tag: 0x27, values: (s) => [String(s.synthetic)], wanted: (f) => f.synthetic == null ? null : String(f.synthetic) },
]

const BY_DEPARTURE = 'd'.charCodeAt(0)
const BY_QUANTITY = 'q'.charCodeAt(0)

function codes (code) {
  return code == null ? [] : [code]
}

/// `Shipment::hubs`: origin then destination, once if they are the same.
export function shipmentHubs (shipment) {
  const hubs = codes(shipment.originCode).concat(codes(shipment.destinationCode))
  return hubs.length === 2 && hubs[0] === hubs[1] ? [hubs[0]] : hubs
}

function source (source) {
  return source == null
    ? null
    : { title: source.title, publisher: source.publisher, publishedOn: source.published_on, quote: source.quote }
}

function money (money) {
  return money == null
    ? null
    : { amount: money.amount, currency: money.currency, qualifier: money.qualifier, forecast: money.forecast, source: source(money.source) }
}

function quantity (quantity) {
  return quantity == null
    ? null
    : { value: quantity.value, unit: quantity.unit, qualifier: quantity.qualifier, forecast: quantity.forecast, source: source(quantity.source) }
}

function indicator (indicator) {
  return {
    key: indicator.key,
    label: indicator.label,
    year: indicator.year,
    money: money(indicator.money),
    quantity: quantity(indicator.quantity),
    percentFigure: indicator.percent,
    changePercent: indicator.change_percent,
    provinceCodes: indicator.provinces,
    hubCode: indicator.hub,
    note: indicator.note,
    source: source(indicator.source),
  }
}

const reading = {
  national: (r) => ({
    year: r.year,
    totalTrade: money(r.total_trade),
    totalTradeUsd: money(r.total_trade_usd),
    growthPercent: r.growth_percent,
    indicators: r.indicators.map(indicator),
    source: source(r.source),
  }),
  province: (r) => ({
    __typename: 'Province',
    code: r.code,
    name: r.name,
    nameZh: r.name_zh,
    years: r.years.map((y) => ({ year: y.year, totalTrade: money(y.total_trade), growthPercent: y.growth_percent, nationalRank: y.national_rank })),
    indicators: r.indicators.map(indicator),
    version: r.meta.version,
  }),
  partner: (r) => ({
    __typename: 'TradePartner',
    code: r.code,
    name: r.name,
    kind: r.kind,
    region: r.region,
    memberCodes: r.members,
    version: r.meta.version,
  }),
  hub: (r) => ({
    __typename: 'Hub',
    code: r.code,
    name: r.name,
    kind: r.kind,
    city: r.city,
    provinceCode: r.province,
    countryCode: r.country,
    note: r.note,
    source: source(r.source),
    version: r.meta.version,
  }),
  company: (r) => ({
    __typename: 'Company',
    code: r.code,
    name: r.name,
    provinceCode: r.province,
    note: r.note,
    source: source(r.source),
    version: r.meta.version,
  }),
  route: (r) => ({
    __typename: 'FreightRoute',
    code: r.code,
    name: r.name,
    mode: r.mode,
    originCode: r.origin,
    destinationCode: r.destination,
    viaCodes: r.via,
    typicalTransitDays: r.typical_transit_days,
    provinceCodes: r.provinces,
    partnerCodes: r.partners,
    note: r.note,
    source: source(r.source),
    version: r.meta.version,
  }),
  tradeFlow: (r) => ({
    __typename: 'TradeFlow',
    provinceCode: r.province,
    partnerCode: r.partner,
    year: r.year,
    value: money(r.value),
    growthPercent: r.growth_percent,
    note: r.note,
    source: source(r.source),
    version: r.meta.version,
  }),
  shipment: (r) => ({
    __typename: 'Shipment',
    shipmentId: r.id,
    reference: r.reference,
    shipperCode: r.shipper,
    cargo: r.cargo,
    quantity: quantity(r.quantity),
    mode: r.mode,
    carrierName: r.carrier_name,
    originProvinceCode: r.origin_province,
    originCode: r.origin,
    destinationPartnerCode: r.destination_partner,
    destinationCode: r.destination,
    routeCode: r.route,
    departedOn: r.departed_on,
    arrivedOn: r.arrived_on,
    transitDays: r.transit_days,
    synthetic: r.meta.origin === 'Synthetic',
    note: r.note,
    source: source(r.source),
    version: r.meta.version,
  }),
}

/// Reads an export file into a `Database`.
export function loadExport (path) {
  const lines = readFileSync(path, 'utf8').split('\n').filter((line) => line.trim() !== '')
  const header = JSON.parse(lines[0])
  if (header.kind !== 'header' || header.formatVersion !== 1) {
    throw new Error(`${path} is not a tradegraph export of format version 1`)
  }
  const records = { national: [], province: [], partner: [], hub: [], company: [], route: [], tradeFlow: [], shipment: [] }
  for (const [index, line] of lines.slice(1).entries()) {
    const { kind, record } = JSON.parse(line)
    if (!reading[kind]) throw new Error(`line ${index + 2} of ${path}: unknown kind ${JSON.stringify(kind)}`)
    records[kind].push(reading[kind](record))
  }
  return new Database(records)
}

/// Records by code in code order, as tradegraph's snapshots hold them.
function byCode (records) {
  const sorted = [...records].sort((a, b) => Buffer.compare(Buffer.from(a.code), Buffer.from(b.code)))
  return new Map(sorted.map((record) => [record.code, record]))
}

export class Database {
  constructor (records) {
    this.national = new Map(records.national.map((r) => [r.year, r]))
    this.provinces = byCode(records.province)
    this.partners = byCode(records.partner)
    this.hubs = byCode(records.hub)
    this.companies = byCode(records.company)
    this.routes = byCode(records.route)
    this.tradeFlows = new Map(records.tradeFlow.map((f) => [`${f.provinceCode}:${f.partnerCode}:${f.year}`, f]))
    this.shipments = new Map(records.shipment.map((s) => [s.shipmentId, s]))
    this.shipmentsByReference = new Map(records.shipment.map((s) => [s.reference, s]))
    for (const shipment of records.shipment) {
      shipment.suffix = {
        [BY_DEPARTURE]: Buffer.concat([dateKey(shipment.departedOn), idKey(shipment.shipmentId)]),
        [BY_QUANTITY]: Buffer.concat([decimalKey(shipment.quantity?.value), idKey(shipment.shipmentId)]),
      }
    }
    // What tradegraph's counters hold: entries per facet and value.
    this.counters = new Map()
    for (const facet of FACETS) {
      for (const shipment of records.shipment) {
        for (const value of facet.values(shipment)) {
          const key = counterKey(facet, value)
          this.counters.set(key, (this.counters.get(key) ?? 0) + 1)
        }
      }
    }
    this.shipmentLists = new Map()
    this.flowLists = new Map()
  }

  /// `spelled`: a province by code ("CN-GD", "gd") or by name, any case.
  findProvince (spelling) {
    const code = parseProvinceCode(spelling)
    if (code && this.provinces.has(code)) return this.provinces.get(code)
    const wanted = spelling.trim().toLowerCase()
    for (const province of this.provinces.values()) {
      if (province.name.toLowerCase() === wanted || province.nameZh === spelling.trim()) return province
    }
    return null
  }

  counter (facet, value) {
    return this.counters.get(counterKey(facet, value)) ?? 0
  }

  /// One sorted shipment list: the entries of one facet's value in one
  /// order, `{ key, item }` with tradegraph's index key (scope, sort key,
  /// id). Built once, as tradegraph keeps its index trees.
  shipmentList (facet, value, byQuantity) {
    const order = byQuantity ? BY_QUANTITY : BY_DEPARTURE
    const id = `${facet.id}:${value}:${order}`
    let list = this.shipmentLists.get(id)
    if (!list) {
      const scope = shipmentScope(facet, value, order)
      list = []
      for (const shipment of this.shipments.values()) {
        if (facet.values(shipment).includes(value)) {
          list.push({ key: Buffer.concat([scope, shipment.suffix[order]]), item: shipment })
        }
      }
      list.sort((a, b) => Buffer.compare(a.key, b.key))
      list.scope = scope
      this.shipmentLists.set(id, list)
    }
    return list
  }

  /// The flows of a province (`ofPartner` false) or of a partner, sorted
  /// by tradegraph's key: the code, the other code and the year.
  flowList (code, ofPartner) {
    const id = `${ofPartner}:${code}`
    let list = this.flowLists.get(id)
    if (!list) {
      list = []
      for (const flow of this.tradeFlows.values()) {
        const [mine, other] = ofPartner ? [flow.partnerCode, flow.provinceCode] : [flow.provinceCode, flow.partnerCode]
        if (mine === code) list.push({ key: Buffer.concat([textKey(mine), textKey(other), i32Key(flow.year)]), item: flow })
      }
      list.sort((a, b) => Buffer.compare(a.key, b.key))
      list.tag = ofPartner ? TAG.FLOWS_OF_PARTNER : TAG.FLOWS_OF_PROVINCE
      list.prefix = textKey(code)
      this.flowLists.set(id, list)
    }
    return list
  }
}

function counterKey (facet, value) {
  return `${facet.id}:${value}`
}

/// The start of every key of one facet's value in one order.
function shipmentScope (facet, value, order) {
  return Buffer.concat([Buffer.from([facet.id]), Buffer.from(value, 'utf8'), Buffer.from([0, order])])
}

/// `ProvinceCode::parse`: "CN-GD" or "GD", any case; null when neither.
export function parseProvinceCode (text) {
  const upper = asciiUpper(text.trim())
  const part = upper.startsWith('CN-') ? upper.slice(3) : upper
  return /^[A-Z]{2}$/.test(part) ? `CN-${part}` : null
}

/// `normalize_code`: letters and digits in words joined by hyphens, any
/// case; the result upper-case.
export function parseCode (kind, text) {
  const code = asciiUpper(text.trim())
  const wellFormed = code !== '' && Buffer.byteLength(code) <= 48 &&
    code.split('-').every((word) => /^[A-Za-z0-9]+$/.test(word))
  if (!wellFormed) {
    throw new BadInput(`${kind} code must be 1 to 48 letters and digits in words joined by hyphens, got ${JSON.stringify(text)}`)
  }
  return code
}

function asciiUpper (text) {
  return text.replace(/[a-z]+/g, (letters) => letters.toUpperCase())
}
