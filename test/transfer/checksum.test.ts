// Document checksums: the import's embeddings arrive as Float64Arrays and are read back from the stores as
// arrays of numbers; both must hash the same, or an import report would never match validate-import.
import { test } from 'tap'
import { CollectionChecksum } from '../../src/transfer/checksum.ts'

const hashOf = (doc: unknown): string => new CollectionChecksum().add(doc)

test('a Float64Array hashes as the array of numbers it holds', async (t) => {
  const numbers = Array.from({ length: 1024 }, (_, i) => Math.sin(i) / 7)
  numbers[5] = -0
  numbers[6] = 0
  const doc = (embedding: unknown): unknown => ({ _id: 'e', _creationTime: 1.5, playerId: 'p:1', embedding })
  t.equal(hashOf(doc(Float64Array.from(numbers))), hashOf(doc(numbers)), '1,024 numbers, -0 among them')
  t.equal(hashOf(doc(Float64Array.from(numbers.map((x) => (Object.is(x, -0) ? 0 : x))))), hashOf(doc(numbers)), '-0 hashes as 0')
  t.equal(hashOf(doc(new Float64Array([0.5, -0, 3]))), hashOf(doc([0.5, 0, 3])), 'a short one, element by element')
  t.equal(hashOf(doc(new Float64Array(numbers.slice(0, 16)))), hashOf(doc(numbers.slice(0, 16))), '16 numbers: the packed form')
  // A view into a larger buffer (as the reading worker hands them over) hashes its own numbers only.
  const arena = new Float64Array(3000)
  arena.set(numbers, 1000)
  t.equal(hashOf(doc(arena.subarray(1000, 2024))), hashOf(doc(numbers)), 'a view at an offset')
  t.not(hashOf(doc(Float64Array.from(numbers))), hashOf(doc(Buffer.from(Float64Array.from(numbers).buffer))), 'bytes are not numbers')
  t.not(hashOf(doc(numbers.slice(1))), hashOf(doc(numbers)), 'and a different array differs')
})
