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
  close: () => Promise<void>
}

export async function startFakeProvider (handler: Handler): Promise<FakeProvider> {
  const requests: ReceivedRequest[] = []
  const hanging = new Set<ServerResponse>()
  const server = createServer((req, res) => {
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
      Promise.resolve(handler(received, requests.length - 1)).then((reply) => {
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
    close: async () => {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}

export function chatReply (content: string | null, extra: Record<string, unknown> = {}): Reply {
  return {
    json: {
      id: 'chatcmpl-test',
      object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content, ...extra }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 }
    }
  }
}

export function embeddingReply (vectors: number[][]): Reply {
  return {
    json: {
      object: 'list',
      data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
      usage: { prompt_tokens: 3, total_tokens: 3 }
    }
  }
}

export function vectorOf (dimension: number, seed = 1): number[] {
  return Array.from({ length: dimension }, (_, i) => Math.sin(seed * (i + 1)))
}
