// The townhall command's verbs, their usage text and its two errors: all main.ts needs before it knows the command,
// so a command loads only its own module (the data verbs' readers and the MongoDB driver cost more than a second).

/** A bad command line: the usage, then one line; exit 2 (main.ts prints it). */
export class UsageError extends Error {}

/** A bad command line or file: one line, exit 2 (main.ts prints it). */
export class WorldCommandError extends Error {}

export const worldCommands = new Set(['create', 'list', 'archive', 'delete'])

export const worldsUsage = `  world create --map <file> --cast <file>
        [--name <name>] [--agents N] [--seed S]
                                 create a world (map: townhall's or AI Town's format; cast: JSON)
  world list [--json]            every world with its name and status
  world archive --world <id>     stop a world for good; its data stays, read-only
  world delete --world <id> --yes
                                 delete a world and all it owns (rerun to finish a cut-short delete)`

export const replayCommands = new Set(['replay', 'snapshot', 'fork'])

export const replayUsage = `  world replay <worldId> [--from-step N] [--to-step M] --verify [--json]
                                 rebuild the world from the snapshot at or before N and the inputs
                                 after it, comparing every later snapshot and the committed world:
                                 prints "identical" (exit 0) or the first difference (exit 1)
  world snapshot <worldId>       store a snapshot of the world's committed state now
  world fork <worldId> --at-step N [--name <name>] [--json]
                                 a new world from the state after step N (any kept step), with its
                                 own engine and copies of the messages and memories it had by then`

export const historyCommands = new Set(['export-history', 'import-history'])

export const historyUsage = `  world export-history <worldId> [--out FILE]
                                 write the world's snapshots, the inputs after the oldest, its
                                 messages, map and descriptions to one file (default
                                 history-<worldId>.jsonl.gz), readable by either store
  world import-history <FILE>    check the whole file, then load it as an archived world under its
                                 ids (refused if that world exists); then world replay --verify`

export const transferCommands = new Set(['import-convex', 'validate-import', 'backup', 'restore'])

export const usage = `Usage: townhall <command> [options]

Commands:
  start                          start the server (same as npm start)
  world status [--json]          the world's status, engine, players and conversations
  world stop                     stop the world's engine (stays stopped until resumed)
  world resume                   resume a stopped or inactive world
  world kick                     restart the world's engine with a fresh runner
  world debug-players <N>        add N debug players that wander the town
${worldsUsage}
${replayUsage}
${historyUsage}
  llm pause|resume [--world <id>]  pause or resume all LLM use of a world, or of the deployment
  llm status [--world <id>] [--json]  paused or not, the budget in force and what was spent
  llm budget [--world <id>] <limit>=<value>...  set a world's budget: tokens-per-hour,
        tokens-per-day, usd-per-hour, usd-per-day = a number, none, or default
  wipe --yes                     delete all data except the embeddings cache
  import-convex <export>         import an AI Town Convex export (.zip or directory)
        [--dry-run] [--allow-skips] [--json]
  validate-import [--json]       counts, checksums and reference checks of what is stored
  backup <file>                  write every collection to a gzip'd snapshot file
  restore <file>                 restore a backup into an empty deployment

Options:
  --world <id>                   act on this world instead of the default one
  --dry-run                      import-convex: read and check everything, write nothing
  --allow-skips                  import-convex: exit 0 even when documents were skipped
  --from-step N, --to-step M     world replay: the steps to rebuild (default: all kept)
  --at-step N                    world fork: the step to fork at
  --verify                       world replay: compare with the snapshots and the committed world
  --out FILE                     world export-history: the file to write
  --json                         print the report as JSON
  -h, --help                     show this help

Configuration comes from the environment and .env, as for the server (see .env.example).`
