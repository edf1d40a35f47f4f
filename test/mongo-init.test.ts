// The compose stack's init script must create exactly the collections and indexes the service ensures.
import { test } from 'tap'
import { readFileSync } from 'node:fs'
import { runInNewContext } from 'node:vm'
import { collections, indexName } from '../src/store/collections.ts'

test('mongo-init creates every collection with the same indexes as src/store/collections.ts', async (t) => {
  const source = readFileSync(new URL('../mongo-init/01-townhall.js', import.meta.url), 'utf8')
  const created: string[] = []
  const indexes: Record<string, Array<{ name: string, unique: boolean }>> = {}
  // Records what the script asks of mongosh's API; no database is involved.
  const town = {
    getCollectionNames: () => [],
    createCollection: (name: string) => { created.push(name) },
    getCollection: (name: string) => ({
      createIndex: (keys: Record<string, 1 | -1>, options: { unique: boolean, name: string }) => {
        (indexes[name] ??= []).push({ name: options.name, unique: options.unique })
        t.equal(options.name, indexName(keys))
      }
    })
  }
  runInNewContext(source, { db: { getSiblingDB: () => town }, process: { env: {} }, print: () => {} })
  t.same(created.sort(), Object.keys(collections).sort())
  for (const [name, specs] of Object.entries(collections)) {
    t.same(indexes[name] ?? [], specs.map((s) => ({ name: indexName(s.keys), unique: s.unique === true })), name)
  }
})
