import { test } from 'tap'
import { llmEnvProperties, LlmEnvSchema, parseLlmEnv, readCustomProviders, resolveProviders } from '../../src/llm/config.ts'
import { LlmError } from '../../src/llm/errors.ts'

function resolve (env: Record<string, string | undefined>) {
  return resolveProviders(env, parseLlmEnv(env))
}

function configError (fn: () => unknown): LlmError {
  try {
    fn()
  } catch (err) {
    if (err instanceof LlmError) return err
    throw err
  }
  throw new Error('expected a configuration error')
}

test('every property is described and the defaults are the documented ones', async (t) => {
  for (const [key, schema] of Object.entries(llmEnvProperties)) {
    t.type((schema as { description?: string }).description, 'string', `${key} has a description`)
  }
  t.equal(LlmEnvSchema.type, 'object')
  const parsed = parseLlmEnv({})
  t.match(parsed, {
    LLM_PROVIDER: 'auto',
    OPENAI_CHAT_MODEL: 'gpt-4o-mini',
    OPENAI_EMBEDDING_MODEL: 'text-embedding-3-small',
    OLLAMA_HOST: 'http://127.0.0.1:11434',
    OLLAMA_MODEL: 'llama3',
    OLLAMA_EMBEDDING_MODEL: 'mxbai-embed-large',
    EMBEDDING_DIMENSION: 1024,
    LLM_TIMEOUT_MS: 60000,
    LLM_MAX_RETRIES: 3
  })
  t.equal(parseLlmEnv({ EMBEDDING_DIMENSION: '768', LLM_MAX_RETRIES: '0' }).EMBEDDING_DIMENSION, 768)
})

test('bad values are one configuration error naming each variable', async (t) => {
  const err = configError(() => parseLlmEnv({ EMBEDDING_DIMENSION: 'lots', LLM_PROVIDER: 'claude' }))
  t.equal(err.code, 'TOWNHALL_ERR_LLM_CONFIG')
  t.match(err.message, /EMBEDDING_DIMENSION/)
  t.match(err.message, /LLM_PROVIDER/)
})

test('nothing configured: the offline provider, said out loud', async (t) => {
  const resolved = resolve({ PATH: '/usr/bin' })
  t.equal(resolved.chat.kind, 'offline')
  t.equal(resolved.embedding.kind, 'offline')
  t.equal(resolved.embedding.dimension, 1024)
  t.match(resolved.notes.join('\n'), /no LLM provider is configured/)
})

test('empty strings count as unset', async (t) => {
  t.equal(resolve({ OPENAI_API_KEY: '', OLLAMA_HOST: ' ' }).chat.kind, 'offline')
})

test('an explicit Ollama setting selects Ollama, never offline', async (t) => {
  const resolved = resolve({ OLLAMA_HOST: 'http://ollama:11434' })
  t.match(resolved.chat, { kind: 'ollama', name: 'ollama', baseUrl: 'http://ollama:11434', model: 'llama3' })
  t.match(resolved.embedding, { kind: 'ollama', model: 'mxbai-embed-large', dimension: 1024 })
  t.equal(resolve({ OLLAMA_MODEL: 'qwen2.5' }).chat.model, 'qwen2.5')
  t.equal(resolve({ LLM_PROVIDER: 'ollama' }).chat.baseUrl, 'http://127.0.0.1:11434')
  t.equal(resolve({ OLLAMA_HOST: 'http://o:1', OLLAMA_EMBEDDING_MODEL: 'nomic-embed-text' }).embedding.dimension, 768, 'known model dimension')
})

test('OpenAI: key selects it; text-embedding-3 asked for EMBEDDING_DIMENSION', async (t) => {
  const resolved = resolve({ OPENAI_API_KEY: 'sk-1' })
  t.match(resolved.chat, { kind: 'openai', baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o-mini', apiKey: 'sk-1' })
  t.match(resolved.embedding, { kind: 'openai', model: 'text-embedding-3-small', dimension: 1024, requestDimensions: true })
  t.equal(resolve({ OPENAI_API_KEY: 'k', EMBEDDING_DIMENSION: '1536' }).embedding.dimension, 1536)
})

test('a named provider without its key is an error, not offline', async (t) => {
  t.match(configError(() => resolve({ LLM_PROVIDER: 'openai' })).message, /OPENAI_API_KEY/)
  t.match(configError(() => resolve({ LLM_PROVIDER: 'together' })).message, /TOGETHER_API_KEY/)
  t.match(configError(() => resolve({ LLM_PROVIDER: 'custom' })).message, /LLM_API_URL or CUSTOM_PROVIDER_N_URL/)
})

test('Together uses its embedding model\'s own dimension unless EMBEDDING_DIMENSION is set', async (t) => {
  t.equal(resolve({ TOGETHER_API_KEY: 't' }).embedding.dimension, 768)
  t.equal(resolve({ TOGETHER_API_KEY: 't', EMBEDDING_DIMENSION: '1024' }).embedding.dimension, 1024)
})

test('Gemini is chat only: embeddings from another provider, or an error saying so', async (t) => {
  const err = configError(() => resolve({ GEMINI_API_KEY: 'g' }))
  t.match(err.message, /chat only/)
  const mixed = resolve({ LLM_PROVIDER: 'gemini', GEMINI_API_KEY: 'g', OPENAI_API_KEY: 'o' })
  t.match(mixed.chat, { kind: 'gemini', baseUrl: 'https://generativelanguage.googleapis.com/v1beta/openai', model: 'gemini-2.0-flash' })
  t.equal(mixed.embedding.kind, 'openai')
  const local = resolve({ GEMINI_API_KEY: 'g', OLLAMA_HOST: 'http://o:11434' })
  t.equal(local.chat.kind, 'gemini')
  t.equal(local.embedding.kind, 'ollama')
  t.equal(resolve({ GEMINI_API_KEY: 'g', LLM_EMBEDDING_PROVIDER: 'offline' }).embedding.kind, 'offline', 'offline only when asked')
})

test('LLM_API_URL form of a custom provider', async (t) => {
  const resolved = resolve({ LLM_API_URL: 'https://llm.example/v1', LLM_MODEL: 'glm-4.6', LLM_EMBEDDING_MODEL: 'bge-m3', LLM_API_KEY: 'k' })
  t.match(resolved.chat, { kind: 'custom', name: 'custom', baseUrl: 'https://llm.example/v1', model: 'glm-4.6', apiKey: 'k' })
  t.match(resolved.embedding, { kind: 'custom', model: 'bge-m3', dimension: 1024, requestDimensions: false })
  t.match(configError(() => resolve({ LLM_API_URL: 'https://llm.example' })).message, /LLM_MODEL/)
})

test('numbered custom providers (seed 000 form)', async (t) => {
  const env = {
    CUSTOM_PROVIDER_1_NAME: 'iFlow',
    CUSTOM_PROVIDER_1_URL: 'https://apis.iflow.cn/v1/',
    CUSTOM_PROVIDER_1_API_KEY: 'your-api-key',
    CUSTOM_PROVIDER_1_CHAT_MODEL: 'glm-4.6',
    CUSTOM_PROVIDER_1_EMBEDDING_DIMENSION: '1024',
    CUSTOM_PROVIDER_2_NAME: 'Local',
    CUSTOM_PROVIDER_2_URL: 'http://localhost:11434/v1/',
    CUSTOM_PROVIDER_2_CHAT_MODEL: 'llama2',
    CUSTOM_PROVIDER_2_EMBEDDING_MODEL: 'nomic-embed-text',
    CUSTOM_PROVIDER_2_EMBEDDING_DIMENSION: '768',
    EMBEDDING_DIMENSION: '768'
  }
  const providers = readCustomProviders(env)
  t.same(providers.map((p) => [p.index, p.name]), [[1, 'iFlow'], [2, 'Local']])
  t.equal(providers[0].embeddingDimension, 1024)

  const resolved = resolve(env)
  t.match(resolved.chat, { kind: 'custom', name: 'iFlow', baseUrl: 'https://apis.iflow.cn/v1/', apiKey: 'your-api-key', model: 'glm-4.6' })
  t.match(resolved.embedding, { kind: 'custom', name: 'Local', model: 'nomic-embed-text', dimension: 768 }, 'embeddings from the provider that has a model')

  const chosen = resolve({ ...env, LLM_CUSTOM_PROVIDER: 'Local' })
  t.match(chosen.chat, { name: 'Local', model: 'llama2' })
  t.equal(resolve({ ...env, LLM_CUSTOM_PROVIDER: '2' }).chat.name, 'Local')
  t.match(configError(() => resolve({ ...env, LLM_CUSTOM_PROVIDER: 'nope' })).message, /matches no CUSTOM_PROVIDER_N_NAME/)
})

test('a custom provider with no embedding model and nothing else configured is an error', async (t) => {
  const err = configError(() => resolve({ CUSTOM_PROVIDER_1_NAME: 'iFlow', CUSTOM_PROVIDER_1_URL: 'https://apis.iflow.cn/v1/', CUSTOM_PROVIDER_1_CHAT_MODEL: 'glm-4.6' }))
  t.match(err.message, /iFlow glm-4\.6: the custom provider has no embedding model/)
  const withOllama = resolve({ CUSTOM_PROVIDER_1_URL: 'https://x/v1', CUSTOM_PROVIDER_1_CHAT_MODEL: 'm', OLLAMA_HOST: 'http://o:11434' })
  t.match(withOllama.chat, { name: 'custom-1', model: 'm' })
  t.equal(withOllama.embedding.kind, 'ollama')
})

test('custom provider dimension: declared one used, conflicting EMBEDDING_DIMENSION refused', async (t) => {
  const env = { CUSTOM_PROVIDER_1_URL: 'http://x/v1', CUSTOM_PROVIDER_1_CHAT_MODEL: 'c', CUSTOM_PROVIDER_1_EMBEDDING_MODEL: 'e', CUSTOM_PROVIDER_1_EMBEDDING_DIMENSION: '384' }
  t.equal(resolve(env).embedding.dimension, 384)
  t.match(configError(() => resolve({ ...env, EMBEDDING_DIMENSION: '1024' })).message, /EMBEDDING_DIMENSION=1024 disagrees with CUSTOM_PROVIDER_1_EMBEDDING_DIMENSION=384/)
  t.match(configError(() => readCustomProviders({ CUSTOM_PROVIDER_3_NAME: 'x' })).message, /CUSTOM_PROVIDER_3_URL is required/)
  t.match(configError(() => readCustomProviders({ CUSTOM_PROVIDER_1_URL: 'u', CUSTOM_PROVIDER_1_EMBEDDING_DIMENSION: 'big' })).message, /positive integer/)
})

test('auto order: custom URL, numbered custom, OpenAI, Together, Gemini, Ollama', async (t) => {
  const all = { LLM_API_URL: 'http://u', LLM_MODEL: 'm', LLM_EMBEDDING_MODEL: 'e', OPENAI_API_KEY: 'o', TOGETHER_API_KEY: 't', OLLAMA_HOST: 'http://o:1' }
  t.equal(resolve(all).chat.kind, 'custom')
  t.equal(resolve({ ...all, LLM_API_URL: undefined }).chat.kind, 'openai')
  t.equal(resolve({ TOGETHER_API_KEY: 't', OLLAMA_HOST: 'http://o:1' }).chat.kind, 'together')
  t.equal(resolve({ OPENAI_API_KEY: 'o', LLM_PROVIDER: 'offline' }).chat.kind, 'offline', 'offline when named')
})

test('timeouts and retries come through', async (t) => {
  const resolved = resolve({ LLM_TIMEOUT_MS: '5000', LLM_MAX_RETRIES: '1' })
  t.equal(resolved.timeoutMs, 5000)
  t.equal(resolved.maxRetries, 1)
})
