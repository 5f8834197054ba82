// How figures read out as text, as tradegraph's src/domain/figures.rs
// reads them: "about 6.59 trillion US dollars", "over 5,800 new energy
// vehicles", "over 70 percent". Decimals are exact (BigInt), rounded as
// rust_decimal's `round_dp` rounds (half to even).

import { parseDecimal } from './keys.mjs'

const PREFIX = { EXACT: '', ABOUT: 'about ', MORE_THAN: 'over ' }
const CURRENCY_UNIT = { CNY: 'yuan', USD: 'US dollars' }

/// A decimal in canonical form: no exponent, no trailing zeros.
export function normalizeDecimal (text) {
  const { negative, mantissa, scale } = parseDecimal(text)
  return decimalText(negative, mantissa, scale)
}

function decimalText (negative, mantissa, scale) {
  const digits = mantissa.toString().padStart(scale + 1, '0')
  const integer = digits.slice(0, digits.length - scale)
  const fraction = digits.slice(digits.length - scale).replace(/0+$/, '')
  const sign = negative && mantissa !== 0n ? '-' : ''
  return sign + integer + (fraction ? '.' + fraction : '')
}

/// `number / 10^shift`, rounded to two decimals, half to even.
function shiftedAndRounded (negative, mantissa, scale, shift) {
  const totalScale = scale + shift
  if (totalScale <= 2) return decimalText(negative, mantissa, totalScale)
  const unit = 10n ** BigInt(totalScale - 2)
  let quotient = mantissa / unit
  const remainder = mantissa % unit
  const twice = remainder * 2n
  if (twice > unit || (twice === unit && quotient % 2n === 1n)) quotient += 1n
  return decimalText(negative, quotient, 2)
}

/// A number as a news text writes it: trillions or billions with up to two
/// decimals from a billion up, thousands separators below.
function formatNumber (text) {
  const { negative, mantissa, scale } = parseDecimal(text)
  const whole = mantissa / 10n ** BigInt(scale)
  if (whole >= 10n ** 12n) return shiftedAndRounded(negative, mantissa, scale, 12) + ' trillion'
  if (whole >= 10n ** 9n) return shiftedAndRounded(negative, mantissa, scale, 9) + ' billion'
  return groupThousands(decimalText(negative, mantissa, scale))
}

function groupThousands (text) {
  const sign = text.startsWith('-') ? '-' : ''
  const [integer, fraction] = text.slice(sign.length).split('.')
  const grouped = integer.replace(/\B(?=(\d{3})+$)/g, ',')
  return sign + grouped + (fraction !== undefined ? '.' + fraction : '')
}

function readOut (qualifier, forecast, number, unit) {
  return `${PREFIX[qualifier]}${formatNumber(number)} ${unit}${forecast ? ' (forecast)' : ''}`
}

/// `Money::display`.
export function moneyDisplay (money) {
  return readOut(money.qualifier, money.forecast, money.amount, CURRENCY_UNIT[money.currency])
}

/// `Quantity::display`.
export function quantityDisplay (quantity) {
  return readOut(quantity.qualifier, quantity.forecast, quantity.value, quantity.unit)
}

/// `Percent::display`.
export function percentDisplay (percent) {
  return `${PREFIX[percent.qualifier]}${f64Display(percent.value)} percent`
}

/// Rust's `{:+}` of an f64.
export function signedF64Display (value) {
  return (value < 0 || Object.is(value, -0) ? '-' : '+') + f64Display(Math.abs(value))
}

/// Rust's `{}` of an f64: the shortest digits that read back, never an
/// exponent ("1e21" is "1000000000000000000000"), "-0" for negative zero.
export function f64Display (value) {
  if (Object.is(value, -0)) return '-0'
  const text = String(value)
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text)
  if (!match) return text
  const [, sign, lead, rest = '', exponentText] = match
  const digits = lead + rest
  const exponent = Number(exponentText)
  if (exponent >= 0) {
    const integerLength = 1 + exponent
    return sign + (digits.length <= integerLength
      ? digits.padEnd(integerLength, '0')
      : digits.slice(0, integerLength) + '.' + digits.slice(integerLength))
  }
  return sign + '0.' + '0'.repeat(-exponent - 1) + digits
}
