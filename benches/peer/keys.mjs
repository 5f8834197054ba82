// Key encodings, cursors and keyset pagination, byte for byte as
// tradegraph's store makes them (src/store/keys.rs, src/store/pages.rs,
// src/graphql/ids.rs), so that the peer's cursors are tradegraph's cursors.
//
// A position is a list's tag byte followed by the key of the item; a cursor
// is that position in unpadded base64url. Lists here are arrays of
// `{ key, item }` sorted by `key` (a Buffer), already narrowed to what the
// list holds, so pagination is two binary searches and a slice.

/// The tag bytes of tradegraph's lists (src/store/keys.rs `tag`).
export const TAG = {
  PROVINCES_BY_NAME: 0x01,
  PROVINCES_BY_TRADE_ASC: 0x02,
  PROVINCES_BY_TRADE_DESC: 0x03,
  PARTNERS: 0x04,
  HUBS: 0x05,
  COMPANIES: 0x06,
  ROUTES: 0x07,
  FLOWS_OF_PROVINCE: 0x08,
  FLOWS_OF_PARTNER: 0x09,
}

export const DEFAULT_PAGE_SIZE = 20
export const MAX_PAGE_SIZE = 100

/// An error the client caused, answered with `extensions.code`
/// BAD_USER_INPUT as tradegraph does.
export class BadInput extends Error {
  constructor (message) {
    super(message)
    this.extensions = { code: 'BAD_USER_INPUT' }
  }
}

const TEXT_END = 0

/// Text followed by a 0 byte, so that a shorter text sorts first.
export function textKey (text) {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([TEXT_END])])
}

/// A sign-flipped big-endian i32.
export function i32Key (value) {
  const key = Buffer.alloc(4)
  key.writeUInt32BE(((value >>> 0) ^ 0x80000000) >>> 0)
  return key
}

/// A shipment id as 8 big-endian bytes.
export function idKey (id) {
  const key = Buffer.alloc(8)
  key.writeBigUInt64BE(BigInt(id))
  return key
}

/// chrono's `num_days_from_ce`: 0001-01-01 is day 1.
function daysFromCe (isoDate) {
  const [year, month, day] = isoDate.split('-').map(Number)
  const date = new Date(0)
  date.setUTCFullYear(year, month - 1, day)
  return Math.round(date.getTime() / 86400000) + 719163
}

/// A departure date: 0 for none (first), else 1 and the day.
export function dateKey (isoDate) {
  if (isoDate == null) return Buffer.from([0])
  return Buffer.concat([Buffer.from([1]), i32Key(daysFromCe(isoDate))])
}

const U128_MAX = (1n << 128n) - 1n

/// A decimal: 0 for none (first), else 1 and the value times 10,000,
/// truncated, as a big-endian u128 (negatives as 0, as tradegraph does).
export function decimalKey (text) {
  if (text == null) return Buffer.from([0])
  const { negative, mantissa, scale } = parseDecimal(text)
  let scaled = (mantissa * 10000n) / 10n ** BigInt(scale)
  if (negative && scaled !== 0n) scaled = 0n
  if (scaled > U128_MAX) scaled = U128_MAX
  const key = Buffer.alloc(17)
  key[0] = 1
  key.writeBigUInt64BE(scaled >> 64n, 1)
  key.writeBigUInt64BE(scaled & 0xffffffffffffffffn, 9)
  return key
}

/// A decimal string as sign, magnitude and scale.
export function parseDecimal (text) {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?$/.exec(text.trim())
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) {
    throw new BadInput(`Decimal must be a plain decimal number such as "16.5", got ${JSON.stringify(text)}`)
  }
  const fraction = match[3] ?? ''
  return {
    negative: match[1] === '-',
    mantissa: BigInt((match[2] || '0') + fraction),
    scale: fraction.length,
  }
}

/// The key just past every key that starts with `prefix`, or null.
export function prefixEnd (prefix) {
  const end = Buffer.from(prefix)
  for (let length = end.length; length > 0; length--) {
    if (end[length - 1] < 0xff) {
      end[length - 1] += 1
      return end.subarray(0, length)
    }
  }
  return null
}

/// A position as a cursor: unpadded base64url.
export function encodeCursor (position) {
  return position.toString('base64url')
}

/// A cursor as a position; refuses what tradegraph's strict decoder refuses.
export function decodeCursor (argument, cursor) {
  const position = Buffer.from(cursor, 'base64url')
  if (!/^[A-Za-z0-9_-]*$/.test(cursor) || position.length === 0 || position.toString('base64url') !== cursor) {
    throw new BadInput(`${argument} is not a cursor: pass a cursor that this field returned`)
  }
  return position
}

/// What a client asks of a list (src/domain/listing.rs `PageRequest`).
export function pageRequest ({ first, after, last, before }) {
  const afterPosition = after == null ? null : decodeCursor('after', after)
  const beforePosition = before == null ? null : decodeCursor('before', before)
  if (first != null && last != null) throw new BadInput('give either first or last, not both')
  const size = (argument, value) => {
    if (!Number.isInteger(value) || value < 1 || value > MAX_PAGE_SIZE) {
      throw new BadInput(`${argument} must be between 1 and ${MAX_PAGE_SIZE}, got ${value}`)
    }
    return value
  }
  const limit = last != null
    ? { last: size('last', last) }
    : { first: first != null ? size('first', first) : DEFAULT_PAGE_SIZE }
  return { after: afterPosition, before: beforePosition, ...limit }
}

/// The first index whose key is greater than `key` (`orEqual`: not less).
function search (sorted, key, orEqual) {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const middle = (low + high) >>> 1
    const order = Buffer.compare(sorted[middle].key, key)
    if (order < 0 || (order === 0 && !orEqual)) low = middle + 1
    else high = middle
  }
  return low
}

/// One page of `sorted` (ascending by key) in the list's direction, as
/// tradegraph's `paginate` makes it: `{ items, hasNextPage,
/// hasPreviousPage }`, each item `{ position, item }`.
export function paginate ({ tag, prefix = Buffer.alloc(0), descending = false }, request, sorted) {
  const keyOf = (position) => {
    if (position == null) return null
    const key = position.subarray(1)
    if (position[0] !== tag || !key.subarray(0, prefix.length).equals(prefix)) {
      throw new BadInput('cursor does not belong to this list: pass a cursor that this field returned for the same arguments')
    }
    return key
  }
  const after = keyOf(request.after)
  const before = keyOf(request.before)
  // In key space `after` bounds the low end of an ascending list and the
  // high end of a descending one; `before` the other way round.
  const [lowCursor, highCursor] = descending ? [before, after] : [after, before]
  const low = lowCursor ? search(sorted, lowCursor, false) : 0
  const high = highCursor ? search(sorted, highCursor, true) : sorted.length
  // Whether the list holds a key <= `key` (`atOrBelow`) or >= `key`.
  const existsAtOrBelow = (key) => search(sorted, key, false) > 0
  const existsAtOrAbove = (key) => search(sorted, key, true) < sorted.length
  // `n` items from the low end of the range (`fromLow`) or the high end,
  // in the order they are met.
  const take = (fromLow, n) => {
    const taken = []
    if (fromLow) for (let i = low; i < high && taken.length < n; i++) taken.push(sorted[i])
    else for (let i = high - 1; i >= low && taken.length < n; i--) taken.push(sorted[i])
    return taken
  }
  let items, hasNextPage, hasPreviousPage
  if (request.first != null) {
    const n = request.first
    items = take(!descending, n + 1)
    hasNextPage = items.length > n
    items.length = Math.min(items.length, n)
    hasPreviousPage = after == null ? false : descending ? existsAtOrAbove(after) : existsAtOrBelow(after)
  } else {
    const n = request.last
    items = take(descending, n + 1)
    hasPreviousPage = items.length > n
    items.length = Math.min(items.length, n)
    items.reverse()
    hasNextPage = before == null ? false : descending ? existsAtOrBelow(before) : existsAtOrAbove(before)
  }
  const tagByte = Buffer.from([tag])
  return {
    items: items.map(({ key, item }) => ({ position: Buffer.concat([tagByte, key]), item })),
    hasNextPage,
    hasPreviousPage,
  }
}
