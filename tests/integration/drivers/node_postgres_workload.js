// node-postgres (npm pg) with its defaults: the driver suite's workload (see workload_common.py).
//
// One pg.Pool per application (its application_name in the config; pg has no TimeZone setting, so its
// clients must see the database's), `connections` clients each, `workers` async workers per pool that
// check a client out for every transaction. The statements are named ({ name, text, values }): pg
// prepares each once per client connection and executes it by name after.
'use strict';

const { Pool } = require('pg');
const { SETTINGS_SQL, parseArgs, Tally } = require('./workload_common');

const spec = parseArgs();
const tally = new Tally(spec);

const settingsQuery = { name: 'driver-suite-settings', text: SETTINGS_SQL };

async function worker(app, pool, w) {
  for (let t = 0; t < spec.transactions; t += 1) {
    const where = `app${app.index} w${w} t${t}`;
    let client;
    try {
      client = await pool.connect();
    } catch (error) {
      tally.failure(`${where} connect`, error);
      return;
    }
    try {
      await client.query('BEGIN');
      tally.checkSettings(app, (await client.query(settingsQuery)).rows[0], where);
      const orgs = await client.query({
        name: 'driver-suite-orgs', text: 'SELECT org_id FROM projects WHERE name <> $1', values: [''],
      });
      tally.checkOrgs(app, orgs.rows.map((row) => row.org_id));
      await client.query({
        name: 'driver-suite-insert',
        text: 'INSERT INTO projects (org_id, name) VALUES ($1, $2)',
        values: [app.orgId, spec.rowName(app, w, t)],
      });
      await client.query('COMMIT');
      tally.counts.rows_written += 1;
      // A statement of its own, outside any transaction block.
      tally.checkSettings(app, (await client.query(settingsQuery)).rows[0], `${where} autocommit`);
      tally.counts.transactions += 1;
      client.release();
    } catch (error) {
      tally.failure(where, error);
      client.release(error);  // pg.Pool discards a client released with an error
      return;
    }
  }
}

async function main() {
  const pools = spec.apps.map((app) => {
    const pool = new Pool({
      host: spec.host,
      port: spec.port,
      user: app.login,
      password: app.password,
      database: 'app',
      application_name: app.applicationName,
      max: spec.connections,
    });
    pool.on('error', (error) => tally.failure(`app${app.index} idle client`, error));
    return pool;
  });
  const workers = [];
  spec.apps.forEach((app, i) => {
    for (let w = 0; w < spec.workers; w += 1) workers.push(worker(app, pools[i], w));
  });
  await Promise.all(workers);
  await Promise.all(pools.map((pool) => pool.end()));
  tally.report();
}

main().catch((error) => {
  tally.failure('main', error);
  tally.report();
  process.exitCode = 1;
});
