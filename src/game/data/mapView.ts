// A stored map as clients get it: townhall's own assets (paths under /assets/townhall/) become absolute URLs on
// PUBLIC_URL, so a front end on another origin loads them; any other tileSetUrl (an imported AI Town map's,
// relative to AI Town's own front end) is left as it is.
export const TOWNHALL_ASSETS = '/assets/townhall/'

export function mapForClients<T extends Record<string, unknown>> (map: T, publicUrl: string): T {
  const url = map.tileSetUrl
  if (typeof url !== 'string' || !url.startsWith(TOWNHALL_ASSETS)) return map
  return { ...map, tileSetUrl: `${publicUrl.replace(/\/+$/, '')}${url}` }
}
