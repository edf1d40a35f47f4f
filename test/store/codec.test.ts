// The embedded store's JSON text: embeddings are written with a placeholder that their base64 replaces
// (JSON.stringify is slow on long strings); the text must be exactly what packing them in place gives.
import { test } from 'tap'
import { decodeDoc, decodeRow, encodeDoc, encodeRow } from '../../src/store/codec.ts'

/** The straightforward encoding: long fractional number arrays as {"$f64": base64} in place. */
function reference (value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value
  if (ArrayBuffer.isView(value)) return { $binary: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (Array.isArray(value)) {
    if (value.length >= 64 && value.every((x) => typeof x === 'number' && Number.isFinite(x)) && value.some((x) => Math.floor(x) !== x)) {
      return { $f64: Buffer.from(Float64Array.from(value).buffer).toString('base64') }
    }
    return value.map(reference)
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reference(v)]))
}

const vector = (n: number, seed: number): number[] => Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i) / 3)

test('documents with packed arrays encode as packing them in place would', async (t) => {
  const docs: unknown[] = [
    { _id: 'a', embedding: vector(1024, 1), worldId: 'w' },
    { _id: 'b', first: vector(64, 2), nested: { list: [vector(100, 3), [1, 2, 3]], bytes: Buffer.from('hi') }, last: vector(70, 4) },
    { _id: 'c', ints: Array.from({ length: 100 }, (_, i) => i), short: [0.5, 1.5], mixed: [...vector(80, 5), 'x'] },
    { _id: 'd', notFinite: [...vector(80, 6), Infinity], negativeZero: [-0, ...vector(80, 7)] },
    { _id: 'e', text: '{"$f64":"\\u0000f64:"} and quotes " \\ \u2028', embedding: vector(128, 8) }
  ]
  for (const doc of docs) {
    t.equal(encodeDoc(doc), JSON.stringify(reference(doc)), `document ${(doc as { _id: string })._id}`)
    t.same(decodeDoc(encodeDoc(doc)), decodeDoc(JSON.stringify(reference(doc))), 'and decodes the same')
  }
})

test('an object of the document\'s own shaped like a packed array is written as it is', async (t) => {
  // The placeholder holds random characters per process, so an object of the document's own never matches it.
  const doc = { own: { $f64: 'AAAAAAAA8D8=' }, embedding: vector(64, 9) }
  t.equal(encodeDoc(doc), JSON.stringify(reference(doc)))
})

test('a row keeps packed arrays as float64 bytes beside the text, and decodes to the same document', async (t) => {
  const docs: Array<Record<string, unknown>> = [
    { _id: 'a', embedding: vector(1024, 1), worldId: 'w' },
    { _id: 'b', first: vector(64, 2), nested: { list: [vector(100, 3), [1, 2, 3]], bytes: Buffer.from('hi') }, last: vector(70, 4) },
    { _id: 'c', ints: Array.from({ length: 100 }, (_, i) => i), short: [0.5, 1.5] },
    { _id: 'd', negativeZero: [-0, ...vector(80, 7)], tiny: [5e-324, ...vector(63, 8)] }
  ]
  for (const doc of docs) {
    const { text, bin } = encodeRow(doc)
    const expected = decodeDoc(JSON.stringify(reference(doc)))
    t.same(decodeRow(text, bin), expected, `document ${doc._id as string} decodes as it was`)
    t.notMatch(text, /\$f64"/, 'no base64 in the text')
    const packed = JSON.stringify(reference(doc)).match(/"\$f64"/g)?.length ?? 0
    t.equal(bin === null ? 0 : bin.length, packed === 0 ? 0 : [...text.matchAll(/"\$f64at":\[\d+,(\d+)\]/g)].reduce((s, m) => s + 8 * Number(m[1]), 0), `${packed} packed arrays, their bytes in the binary column`)
  }
  // Bit for bit: -0 stays -0, the smallest subnormal stays itself.
  const d = decodeRow<{ negativeZero: number[], tiny: number[] }>(encodeRow(docs[3]).text, encodeRow(docs[3]).bin)
  t.ok(Object.is(d.negativeZero[0], -0))
  t.equal(d.tiny[0], 5e-324)
  // Bytes that are not 8-aligned (as SQLite may hand them over) decode the same.
  const { text, bin } = encodeRow(docs[0])
  const shifted = Buffer.alloc(bin!.length + 3)
  bin!.copy(shifted, 3)
  t.same(decodeRow(text, shifted.subarray(3)), docs[0])
  // A row written before the binary column (base64 in the text, no bytes) reads as before.
  t.same(decodeRow(encodeDoc(docs[1]), null), decodeDoc(JSON.stringify(reference(docs[1]))))
})

test('a Float64Array is written as the array of numbers it holds', async (t) => {
  const numbers = vector(1024, 10)
  const arena = new Float64Array(3000)
  arena.set(numbers, 700)
  const view = arena.subarray(700, 1724) // as the import hands embeddings over: views of one buffer
  const asArray = { _id: 'a', embedding: numbers }
  const asTyped = { _id: 'a', embedding: view }
  t.equal(encodeDoc(asTyped), encodeDoc(asArray), 'the same JSON text as the plain array')
  const row = encodeRow(asTyped)
  t.equal(row.text, encodeRow(asArray).text)
  t.same(decodeRow(row.text, row.bin), asArray, 'and reads back as a plain array')
  // Too short, or no fraction: a plain JSON array, as the array would be.
  t.equal(encodeDoc({ v: new Float64Array([0.5, 1.5]) }), '{"v":[0.5,1.5]}')
  t.equal(encodeRow({ v: Float64Array.from({ length: 100 }, (_, i) => i) }).bin, null)
  t.same(decodeRow(encodeRow({ v: Float64Array.from({ length: 100 }, (_, i) => i) }).text, null), { v: Array.from({ length: 100 }, (_, i) => i) })
})
