// Who is calling: a human player (a token returned by joinWorld), the admin (ADMIN_API_KEY), or anyone.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'

export type Caller =
  | { kind: 'anonymous' }
  | { kind: 'player', tokenIdentifier: string }
  | { kind: 'admin' }

export function newPlayerToken (): { token: string, tokenIdentifier: string } {
  const token = `th_${randomBytes(24).toString('base64url')}`
  return { token, tokenIdentifier: tokenIdentifier(token) }
}

/** Only a hash of the token is stored with the player, so a database dump never holds usable tokens. */
export function tokenIdentifier (token: string): string {
  return createHash('sha256').update(token).digest('hex')
}

function sameSecret (a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest()
  const y = createHash('sha256').update(b).digest()
  return timingSafeEqual(x, y)
}

/** Reads a bearer token (or x-admin-key) and says who it belongs to; never throws. */
export function identify (credential: string | undefined, adminKey: string | undefined): Caller {
  if (credential === undefined || credential === '') return { kind: 'anonymous' }
  if (adminKey !== undefined && sameSecret(credential, adminKey)) return { kind: 'admin' }
  return { kind: 'player', tokenIdentifier: tokenIdentifier(credential) }
}

export function credentialFrom (headers: Record<string, string | string[] | undefined>, query?: unknown): string | undefined {
  const auth = headers.authorization
  if (typeof auth === 'string') {
    // "Convex <key>" is ConvexHttpClient.setAdminAuth's scheme: the key is the credential, as with Bearer.
    const match = /^(?:Bearer|Convex)\s+(\S+)$/i.exec(auth.trim())
    if (match !== null) return match[1]
  }
  const adminHeader = headers['x-admin-key']
  if (typeof adminHeader === 'string' && adminHeader !== '') return adminHeader
  const token = (query as { token?: unknown } | undefined)?.token
  return typeof token === 'string' && token !== '' ? token : undefined
}
