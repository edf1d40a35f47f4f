import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['dist/**', 'coverage/**', 'data/**', '.tap/**', 'test/mongo-wire/target/**', 'node_modules/**'] })
]
