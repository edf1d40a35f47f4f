import type { Config } from '../config.ts'
import { EmbeddedStore } from './embedded.ts'
import type { MongoChangeFeedOptions } from './mongoChangeFeed.ts'
import type { Store } from './types.ts'

export type { Store, Collection, ChangeFeed, ChangeEvent, Doc, Filter, Update } from './types.ts'
export { collectionNames, type CollectionName } from './collections.ts'

/** Opens the store the configuration selects. */
export async function openStore (config: Pick<Config, 'STORE' | 'DATA_DIR' | 'MONGODB_URL' | 'MONGODB_DB'>, feed: MongoChangeFeedOptions = {}): Promise<Store> {
  if (config.STORE === 'mongodb') {
    // Loaded only here: the driver is a quarter of a second of every embedded `townhall` command's start.
    const { MongoStore } = await import('./mongo.ts')
    return await MongoStore.open({ url: config.MONGODB_URL!, dbName: config.MONGODB_DB, feed })
  }
  return new EmbeddedStore({ dataDir: config.DATA_DIR })
}
