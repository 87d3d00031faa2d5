// Starts the atproto team's local test network (PLC + PDS + AppView + Ozone, from @atproto/dev-env)
// for runbook's Bluesky tests and `runbook demo --network bluesky`. Prints one JSON line with the
// service URLs once it is ready, then serves until stdin closes or it gets SIGTERM/SIGINT.
// Needs Node 22, PostgreSQL (DB_POSTGRES_URL, a schema name in DB_POSTGRES_SCHEMA) and Redis (REDIS_HOST).
// ATPROTO_DEV_ENV: the installed package's entry file (tests/networks/install.sh keeps node_modules
// in a cache outside the clone); a dynamic import resolves its dependencies from where it lives.
const { TestNetwork } = await import(process.env.ATPROTO_DEV_ENV || '@atproto/dev-env')

const schema = process.env.DB_POSTGRES_SCHEMA || "runbook" // letters and _ only (bsync refuses others)
const network = await TestNetwork.create({
  dbPostgresUrl: process.env.DB_POSTGRES_URL,
  dbPostgresSchema: schema,
  plc: {},
  // PDS_PORT: a fixed port for `runbook demo --network bluesky` (default: a free one)
  pds: process.env.PDS_PORT ? { port: Number(process.env.PDS_PORT) } : {},
  bsky: {},
  ozone: {},
})

let closing = false
async function close () {
  if (closing) return
  closing = true
  try { await network.close() } finally { process.exit(0) }
}
process.on('SIGTERM', close)
process.on('SIGINT', close)
process.stdin.on('end', close)
process.stdin.resume()

process.stdout.write(JSON.stringify({
  ready: true,
  pds: network.pds.url,
  appview: network.bsky.url,
  plc: network.plc.url,
  appviewDid: network.bsky.ctx.cfg.serverDid,
  schema,
}) + '\n')
