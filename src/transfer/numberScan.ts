// A scanner for JSON arrays of numbers (embeddings) straight from UTF-8 bytes into a Float64Array, without
// JSON.parse building 1,024 boxed numbers per document: most of an import's parsing time went there.
// It gives the same doubles as JSON.parse for every input: where its exact fast paths do not apply (more
// than 19 significant digits, exponents out of range, a result too close to the midpoint between two
// doubles to decide cheaply) it hands the number's text to Number(), which rounds correctly like JSON.parse.
// Anything that is not a plain, compact array of valid JSON numbers makes it give up (-1), and the caller
// parses the whole line with JSON.parse as before.
//
// The reading worker runs this from source (numberScanner.toString()), so the factory is self-contained:
// no imports, no references to anything outside it.

export interface NumberScanner {
  /**
   * Reads the array that starts at `buf[start]` (a `[`) into the scanner's scratch `values`; returns how
   * many numbers it holds, or -1 when the bytes are not a compact array of JSON numbers. `end` is then the
   * index after the closing `]`. `buf` is one line: reading past its end gives undefined, which ends a number.
   */
  scanArray: (buf: Uint8Array, start: number) => number
  values: Float64Array
  end: number
}

export function numberScanner (): NumberScanner {
  // 10^k for k ≤ 22 are exact doubles (5^22 < 2^53): the range where one correctly rounded division is exact.
  const POW10: number[] = []
  for (let k = 0; k <= 22; k++) POW10.push(Number(`1e${k}`))
  // Dekker's split of each power, for the exact product q·10^k below.
  const SPLIT = 134217729 // 2^27 + 1
  const POW10_HI: number[] = []
  const POW10_LO: number[] = []
  for (const p of POW10) {
    const c = SPLIT * p
    const hi = c - (c - p)
    POW10_HI.push(hi)
    POW10_LO.push(p - hi)
  }
  const POW5: number[] = []
  const POW2: number[] = []
  for (let k = 0; k <= 11; k++) { POW5.push(5 ** k); POW2.push(2 ** k) }

  /** The number's text, for Number(): the rare inputs the fast paths leave. */
  function slow (buf: Uint8Array, from: number, to: number): number {
    let text = ''
    for (let i = from; i < to; i++) text += String.fromCharCode(buf[i]!)
    return Number(text)
  }

  /**
   * digits = a·10^nb + b, where a holds the first 8 significant digits and b the next nb (≤ 11); the value
   * is digits·10^exp10. 16 to 19 digits do not fit a double exactly: they are carried as the exact sum H + L,
   * divided by 10^k in double-double arithmetic, and the rounding is kept only when the remainder is clearly
   * away from half an ulp (else NaN: the caller asks Number()).
   */
  function wide (a: number, b: number, nb: number, exp10: number): number {
    const x = a * POW5[nb]! * POW2[nb]! // a < 10^8 and 5^11 < 2^26: exact
    const h = x + b
    const bv = h - x
    const l = (x - (h - bv)) + (b - bv) // TwoSum: h + l is the digits exactly
    if (exp10 === 0) return h
    if (exp10 > 0 || exp10 < -22) return NaN
    const k = -exp10
    const p = POW10[k]!
    const q1 = h / p
    // TwoProduct(q1, p) = pi + e exactly (Dekker, no FMA in JavaScript).
    const c = SPLIT * q1
    const qh = c - (c - q1)
    const ql = q1 - qh
    const pi = q1 * p
    const e = ((qh * POW10_HI[k]! - pi) + qh * POW10_LO[k]! + ql * POW10_HI[k]!) + ql * POW10_LO[k]!
    const r = ((h - pi) - e) + l // h - pi is exact (Sterbenz): r is the remainder to within ~2^-50 ulp
    const q2 = r / p
    const s = q1 + q2
    // The true remainder lies within q1·2^-96 of q2 (64 times the worst error above). Rounding is monotonic:
    // when both ends of that interval round to s, so does the true value; else (near a midpoint) Number().
    const delta = q1 * 1.2621774483536189e-29 // 2^-96
    return q1 + (q2 + delta) === s && q1 + (q2 - delta) === s ? s : NaN
  }

  const scanner: NumberScanner = {
    values: new Float64Array(1024),
    end: 0,
    scanArray (buf, start) {
      const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
      const length = buf.byteLength
      let i = start + 1
      let count = 0
      if (buf[i] === 0x5d) { scanner.end = i + 1; return 0 } // []
      for (;;) {
        const from = i
        let c = buf[i]!
        const negative = c === 0x2d
        if (negative) c = buf[++i]!
        let a = 0
        let b = 0
        let nb = 0
        let digits = 0
        let exp10 = 0
        if (c === 0x30) {
          c = buf[++i]!
        } else if (c >= 0x31 && c <= 0x39) {
          do {
            if (digits < 8) a = a * 10 + (c - 0x30)
            else if (digits < 19) { b = b * 10 + (c - 0x30); nb++ } else exp10++
            digits++
            c = buf[++i]!
          } while (c >= 0x30 && c <= 0x39)
        } else {
          return -1
        }
        if (c === 0x2e) { // .
          c = buf[++i]!
          if (!(c >= 0x30 && c <= 0x39)) return -1
          if (digits === 0) while (c === 0x30) { exp10--; c = buf[++i]! }
          // Four digits per 32-bit read while they last (an embedding's bytes are mostly these): one check
          // that all four are digits, and their value in four integer operations.
          while ((digits + 4 <= 8 || (digits >= 8 && digits + 4 <= 19)) && i + 4 <= length) {
            const w = view.getUint32(i, true)
            if (((w & 0xf0f0f0f0) | (((w + 0x06060606) & 0xf0f0f0f0) >>> 4)) !== 0x33333333) break
            const d = w & 0x0f0f0f0f // the digits, first in the lowest byte
            const pairs = Math.imul(d, 10) + (d >>> 8) // bytes 0 and 2: the two pairs
            const four = Math.imul(pairs & 0xff, 100) + ((pairs >>> 16) & 0xff)
            if (digits < 8) a = a * 10000 + four
            else { b = b * 10000 + four; nb += 4 }
            digits += 4
            exp10 -= 4
            i += 4
          }
          c = buf[i]!
          while (c >= 0x30 && c <= 0x39) {
            if (digits < 8) { a = a * 10 + (c - 0x30); exp10--; digits++ } else if (digits < 19) { b = b * 10 + (c - 0x30); nb++; exp10--; digits++ } else digits++
            c = buf[++i]!
          }
        }
        if ((c === 0x65 || c === 0x45)) { // e E
          c = buf[++i]!
          let sign = 1
          if (c === 0x2b || c === 0x2d) { if (c === 0x2d) sign = -1; c = buf[++i]! }
          if (!(c >= 0x30 && c <= 0x39)) return -1
          let e = 0
          do {
            if (e < 100_000) e = e * 10 + (c - 0x30)
            c = buf[++i]!
          } while (c >= 0x30 && c <= 0x39)
          exp10 += sign * e
        }
        let v: number
        if (digits === 0) v = 0
        else if (digits > 19) v = NaN
        else if (digits <= 15) {
          const m = nb === 0 ? a : a * POW10[nb]! + b // < 10^15: exact
          // Clinger's fast path: an exact integer and an exact power of ten, one correctly rounded operation.
          v = exp10 === 0 ? m : exp10 < 0 ? (exp10 >= -22 ? m / POW10[-exp10]! : NaN) : (exp10 <= 22 ? m * POW10[exp10]! : NaN)
        } else {
          v = wide(a, b, nb, exp10)
        }
        if (v !== v) v = slow(buf, negative ? from + 1 : from, i) // eslint-disable-line no-self-compare
        if (count === scanner.values.length) {
          const grown = new Float64Array(count * 2)
          grown.set(scanner.values)
          scanner.values = grown
        }
        scanner.values[count++] = negative ? -v : v
        if (c === 0x2c) { i++; continue } // ,
        if (c === 0x5d) { scanner.end = i + 1; return count } // ]
        return -1
      }
    }
  }
  return scanner
}
