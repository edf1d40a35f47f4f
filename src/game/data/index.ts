export * from './map.ts'
export * from './characters.ts'
