// A local HTTP server speaking just enough of the OpenAI and Ollama wire formats for client tests.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingMessage['headers']
  body: any
}

export type Reply =
  | { status?: number, json?: unknown, text?: string, headers?: Record<string, string> }
  | 'hang'

export type Handler = (request: ReceivedRequest, index: number) => Reply | Promise<Reply>

export interface FakeProvider {
  url: string
  requests: ReceivedRequest[]
  /** Requests being served now (not those waiting for one of the `concurrency` places). */
  readonly inFlight: number
  /** The most requests that were ever being received or served at once (waiting ones included). */
  readonly maxOpen: number
  close: () => Promise<void>
}

export interface FakeProviderOptions {
  /** Serves at most this many requests at once, as Ollama does; the others wait their turn. Default: all at once. */
  concurrency?: number
  /** How long serving each request takes, in ms. Default 0. */
  serveMs?: number
}

export async function startFakeProvider (handler: Handler, options: FakeProviderOptions = {}): Promise<FakeProvider> {
  const requests: ReceivedRequest[] = []
  const hanging = new Set<ServerResponse>()
  const limit = options.concurrency ?? Infinity
  const waiting: Array<() => void> = []
  let inFlight = 0
  let open = 0
  let maxOpen = 0
  const place = async (): Promise<void> => {
    if (inFlight < limit) { inFlight++; return }
    await new Promise<void>((resolve) => waiting.push(resolve))
  }
  const release = (): void => {
    const next = waiting.shift()
    if (next !== undefined) next()
    else inFlight--
  }
  const server = createServer((req, res) => {
    open++
    maxOpen = Math.max(maxOpen, open)
    res.on('close', () => { open-- })
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8')
      let body: unknown = raw
      try {
        body = raw === '' ? undefined : JSON.parse(raw)
      } catch {}
      const received: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body }
      requests.push(received)
      const index = requests.length - 1
      const serve = async (): Promise<Reply> => {
        await place()
        try {
          if (options.serveMs !== undefined && options.serveMs > 0) await new Promise((resolve) => setTimeout(resolve, options.serveMs))
          return await handler(received, index)
        } finally {
          release()
        }
      }
      serve().then((reply) => {
        if (reply === 'hang') {
          hanging.add(res)
          return
        }
        const headers = { ...(reply.text === undefined ? { 'content-type': 'application/json' } : {}), ...reply.headers }
        res.writeHead(reply.status ?? 200, headers)
        res.end(reply.text ?? JSON.stringify(reply.json ?? {}))
      }, (err: Error) => {
        res.writeHead(500)
        res.end(err.message)
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get inFlight () { return inFlight },
    get maxOpen () { return maxOpen },
    close: async () => {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

/** A chat completion; `tokens` are the counts the reply reports (what a budget is charged). */
export function chatReply (content: string | null, extra: Record<string, unknown> = {}, tokens = { prompt: 12, completion: 5 }): Reply {
  return {
    json: {
      id: 'chatcmpl-test',
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content, ...extra }, finish_reason: 'stop' }],
      usage: { prompt_tokens: tokens.prompt, completion_tokens: tokens.completion, total_tokens: tokens.prompt + tokens.completion }
    }
  }
}

export function embeddingReply (vectors: number[][], promptTokens = 3): Reply {
  return {
    json: {
      object: 'list',
      data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
      usage: { prompt_tokens: promptTokens, total_tokens: promptTokens }
    }
  }
}

export function vectorOf (dimension: number, seed = 1): number[] {
  return Array.from({ length: dimension }, (_, i) => Math.sin(seed * (i + 1)))
}
