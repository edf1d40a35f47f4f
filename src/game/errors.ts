/** A rule or argument violation; becomes `{ kind: 'error', message }` for the input. */
export class GameError extends Error {
  override name = 'GameError'
}
