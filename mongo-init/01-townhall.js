/* global db, print */
// MongoDB init script (mongosh), run once by the mongodb-atlas-local image on an empty data volume.
// It creates townhall's collections with light validators and the indexes the service also ensures at start
// (the service's own ensureIndexes is idempotent, so either may run first).
const dbName = process.env.MONGODB_DB || 'townhall'
const town = db.getSiblingDB(dbName)

const validators = {
  worlds: { $jsonSchema: { bsonType: 'object', required: ['_creationTime'], properties: { nextId: { bsonType: ['int', 'long', 'double'] } } } },
  engines: { $jsonSchema: { bsonType: 'object', required: ['_creationTime'], properties: { generationNumber: { bsonType: ['int', 'long', 'double'] } } } },
  inputs: { $jsonSchema: { bsonType: 'object', required: ['engineId', 'number', 'name', '_creationTime'], properties: { number: { bsonType: ['int', 'long', 'double'] } } } },
  messages: { $jsonSchema: { bsonType: 'object', required: ['worldId', 'conversationId', 'messageUuid', 'author', 'text'] } },
  memories: { $jsonSchema: { bsonType: 'object', required: ['playerId', 'description', 'importance'] } }
}

const indexes = {
  worlds: [],
  worldStatus: [[{ worldId: 1 }, true], [{ isDefault: 1 }], [{ status: 1, lastViewed: 1 }], [{ engineId: 1 }]],
  engines: [[{ running: 1, 'runner.until': 1 }]],
  inputs: [[{ engineId: 1, number: 1 }, true], [{ received: 1 }]],
  maps: [[{ worldId: 1 }, true]],
  playerDescriptions: [[{ worldId: 1, playerId: 1 }, true]],
  agentDescriptions: [[{ worldId: 1, agentId: 1 }, true]],
  archivedPlayers: [[{ worldId: 1, id: 1 }, true]],
  archivedAgents: [[{ worldId: 1, id: 1 }, true]],
  archivedConversations: [[{ worldId: 1, id: 1 }, true]],
  participatedTogether: [[{ worldId: 1, player1: 1, conversationId: 1 }, true], [{ worldId: 1, player1: 1, player2: 1, ended: 1 }], [{ worldId: 1, player1: 1, ended: 1 }]],
  messages: [[{ worldId: 1, conversationId: 1, messageUuid: 1 }, true], [{ worldId: 1, conversationId: 1, _creationTime: 1 }]],
  memories: [[{ worldId: 1, playerId: 1, _creationTime: 1 }], [{ embeddingId: 1 }]],
  memoryEmbeddings: [[{ worldId: 1, playerId: 1 }]],
  embeddingsCache: [[{ model: 1, textHash: 1 }, true]],
  llmUsage: [[{ worldId: 1, hour: 1 }]],
  llmControls: [[{ worldId: 1 }]],
  instances: [[{ until: 1 }]],
  snapshots: [[{ worldId: 1, step: 1 }, true]],
  convexMutations: [[{ _creationTime: 1 }]]
}

const existing = new Set(town.getCollectionNames())
for (const [name, specs] of Object.entries(indexes)) {
  if (!existing.has(name)) {
    const options = validators[name] ? { validator: validators[name], validationLevel: 'moderate' } : {}
    town.createCollection(name, options)
  }
  for (const [keys, unique] of specs) {
    const indexName = Object.entries(keys).map(([k, d]) => `${k.replace(/\./g, '_')}_${d}`).join('_')
    town.getCollection(name).createIndex(keys, { unique: unique === true, name: indexName })
  }
}
print(`townhall: collections and indexes ready in ${dbName}`)
