import { MongoStore } from '/work/main/src/store/mongo.ts'
const store = await MongoStore.open({ url: 'mongodb://127.0.0.1:27999/?directConnection=true', dbName: 'p' + Date.now(), feed: { minBackoffMs: 20, maxBackoffMs: 200 } })
const feed = await store.openChangeFeed()
const ev: string[] = []
feed.subscribe(['worlds'], (e) => ev.push(e.op + ':' + e.id))
await feed.ready()
const w = store.collection('worlds')
await w.insertOne({ _id: 'w', n: 0 })
await w.updateOne({ _id: 'w' }, { $inc: { n: 1 } })
await w.deleteOne({ _id: 'w' })
await new Promise(r => setTimeout(r, 2000))
console.log('committed version:', ev)
await feed.close(); await store.close()
