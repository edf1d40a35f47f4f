// The world switcher's entries: one per world, named, with its status and where a fork came from.

export interface ListedWorld {
  worldId: string
  name: string
  status: string
  isDefault: boolean
  forkedFrom?: { worldId: string, step: number }
}

export interface WorldOption { value: string, text: string }

export function worldOptions (worlds: ListedWorld[]): WorldOption[] {
  const names = new Map(worlds.map((w) => [w.worldId, w.name]))
  return worlds.map((w) => {
    const fork = w.forkedFrom === undefined ? '' : ` — fork of ${names.get(w.forkedFrom.worldId) ?? w.forkedFrom.worldId} at step ${w.forkedFrom.step}`
    return { value: w.worldId, text: `${w.name}${w.isDefault ? ' (default)' : ''} · ${w.status}${fork}` }
  })
}

/** The world the page was opened for (`?world=<id>`), or null for the default world. */
export function requestedWorld (href: string): string | null {
  const id = new URL(href).searchParams.get('world')
  return id === null || id === '' ? null : id
}

/** The page's URL showing `worldId`. */
export function worldHref (href: string, worldId: string): string {
  const url = new URL(href)
  url.searchParams.set('world', worldId)
  return url.toString()
}
