// Translates the port's filters and sorts into SQLite over JSON documents (json_extract on the doc column).
import type { FieldOps, Filter, Scalar, Sort } from './types.ts'
import { UnsupportedQueryError } from './errors.ts'

type Param = string | number | null

const PATH = /^[A-Za-z_$][A-Za-z0-9_$]*(\.[A-Za-z0-9_$]+)*$/

/** The SQL expression for a field; _id is a real column, everything else lives in the JSON text. */
export function fieldExpr (path: string): string {
  if (path === '_id') return '_id'
  if (!PATH.test(path)) throw new UnsupportedQueryError(`field path ${JSON.stringify(path)}`)
  return `json_extract(doc, '$.${path}')`
}

function bind (value: unknown): Param {
  if (value === null || typeof value === 'string' || typeof value === 'number') return value
  // JSON true/false come out of json_extract as 1/0.
  if (typeof value === 'boolean') return value ? 1 : 0
  throw new UnsupportedQueryError(`filter value ${JSON.stringify(value)} (only strings, numbers, booleans and null)`)
}

function isOps (cond: Scalar | FieldOps): cond is FieldOps {
  return cond !== null && typeof cond === 'object'
}

export function compileFilter (filter: Filter): { where: string, params: Param[] } {
  const clauses: string[] = []
  const params: Param[] = []
  const eq = (expr: string, value: unknown): void => {
    if (value === null) clauses.push(`${expr} IS NULL`)
    else { clauses.push(`${expr} = ?`); params.push(bind(value)) }
  }
  for (const [path, cond] of Object.entries(filter)) {
    const expr = fieldExpr(path)
    if (!isOps(cond)) { eq(expr, cond); continue }
    for (const [op, value] of Object.entries(cond)) {
      switch (op) {
        case '$eq': eq(expr, value); break
        case '$ne':
          // Like MongoDB, $ne also matches documents where the field is missing.
          if (value === null) clauses.push(`${expr} IS NOT NULL`)
          else { clauses.push(`${expr} IS NOT ?`); params.push(bind(value)) }
          break
        case '$gt': clauses.push(`${expr} > ?`); params.push(bind(value)); break
        case '$gte': clauses.push(`${expr} >= ?`); params.push(bind(value)); break
        case '$lt': clauses.push(`${expr} < ?`); params.push(bind(value)); break
        case '$lte': clauses.push(`${expr} <= ?`); params.push(bind(value)); break
        case '$in':
        case '$nin': {
          const values = (value as Scalar[]).map(bind)
          const hasNull = values.includes(null)
          const list = JSON.stringify(values.filter((v) => v !== null))
          if (op === '$in') {
            clauses.push(`(${expr} IN (SELECT value FROM json_each(?))${hasNull ? ` OR ${expr} IS NULL` : ''})`)
          } else {
            clauses.push(`(${expr} NOT IN (SELECT value FROM json_each(?))${hasNull ? ` AND ${expr} IS NOT NULL` : ` OR ${expr} IS NULL`})`)
          }
          params.push(list)
          break
        }
        case '$exists': {
          const typeExpr = path === '_id' ? '_id' : `json_type(doc, '$.${path}')`
          clauses.push(value === true ? `${typeExpr} IS NOT NULL` : `${typeExpr} IS NULL`)
          break
        }
        default: throw new UnsupportedQueryError(`operator ${op} on ${path}`)
      }
    }
  }
  return { where: clauses.length > 0 ? clauses.join(' AND ') : '1', params }
}

export function compileSort (sort: Sort | undefined): string {
  const terms = Object.entries(sort ?? {}).map(([path, dir]) => `${fieldExpr(path)} ${dir === -1 ? 'DESC' : 'ASC'}`)
  // Insertion order breaks ties, as MongoDB's natural order does for a fresh collection.
  terms.push('rowid ASC')
  return terms.join(', ')
}
