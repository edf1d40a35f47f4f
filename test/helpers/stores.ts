// The stores every contract test runs against: always the embedded store; the Mongo store when MONGODB_URL is set.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { EmbeddedStore } from '../../src/store/embedded.ts'
import { MongoStore } from '../../src/store/mongo.ts'
import type { Store } from '../../src/store/types.ts'

export interface Teardownable {
  teardown: (fn: () => unknown) => void
}

export interface StoreTarget {
  name: 'embedded' | 'mongodb'
  /** Opens a fresh, empty store; `reopen` opens the same data again (a restart). */
  fresh: (t: Teardownable) => Promise<{ store: Store, reopen: () => Promise<Store>, config: Record<string, string> }>
}

export async function tempDir (t: Teardownable, prefix = 'townhall-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(async () => { await rm(dir, { recursive: true, force: true }) })
  return dir
}

export const mongoUrl = process.env.MONGODB_URL

export function storeTargets (): StoreTarget[] {
  const targets: StoreTarget[] = [{
    name: 'embedded',
    async fresh (t) {
      const dir = await tempDir(t)
      const opened: Store[] = []
      const open = async (): Promise<Store> => {
        const store = new EmbeddedStore({ dataDir: dir })
        opened.push(store)
        return store
      }
      t.teardown(async () => { for (const s of opened) await s.close() })
      return { store: await open(), reopen: open, config: { STORE: 'embedded', DATA_DIR: dir } }
    }
  }]
  if (mongoUrl !== undefined && mongoUrl !== '') {
    targets.push({
      name: 'mongodb',
      async fresh (t) {
        const dbName = `townhall_test_${randomBytes(6).toString('hex')}`
        const opened: MongoStore[] = []
        const open = async (): Promise<Store> => {
          const store = await MongoStore.open({ url: mongoUrl, dbName, feed: { minBackoffMs: 20, maxBackoffMs: 200 }, socketTimeoutMS: 20_000 })
          opened.push(store)
          return store
        }
        const store = await open()
        t.teardown(async () => {
          await (opened[0]!).db.dropDatabase().catch(() => {})
          for (const s of opened) await s.close()
        })
        const dir = await tempDir(t)
        return { store, reopen: open, config: { STORE: 'mongodb', MONGODB_URL: mongoUrl, MONGODB_DB: dbName, DATA_DIR: dir } }
      }
    })
  }
  return targets
}
