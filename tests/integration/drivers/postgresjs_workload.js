// postgres.js (npm postgres) with its defaults: the driver suite's workload (see workload_common.py).
//
// One postgres() instance per application (its TimeZone and application_name in `connection`: startup
// parameters), at most `connections` connections, `workers` async workers that each run their
// transactions with sql.begin(). postgres.js prepares every tagged-template query (prepare: true).
'use strict';

const postgres = require('postgres');
const { parseArgs, Tally } = require('./workload_common');

const spec = parseArgs();
const tally = new Tally(spec);

async function worker(app, sql, w) {
  for (let t = 0; t < spec.transactions; t += 1) {
    const where = `app${app.index} w${w} t${t}`;
    try {
      await sql.begin(async (tx) => {
        const [settings] = await tx`
          SELECT current_setting('app.current_organization_id') AS org, current_setting('TimeZone') AS timezone,
                 current_setting('application_name') AS application_name`;
        tally.checkSettings(app, settings, where);
        const orgs = await tx`SELECT org_id FROM projects WHERE name <> ${''}`;
        tally.checkOrgs(app, orgs.map((row) => row.org_id));
        await tx`INSERT INTO projects (org_id, name) VALUES (${app.orgId}, ${spec.rowName(app, w, t)})`;
      });
      tally.counts.rows_written += 1;
      // A statement of its own, outside any transaction block.
      const [settings] = await sql`
        SELECT current_setting('app.current_organization_id') AS org, current_setting('TimeZone') AS timezone,
               current_setting('application_name') AS application_name`;
      tally.checkSettings(app, settings, `${where} autocommit`);
      tally.counts.transactions += 1;
    } catch (error) {
      tally.failure(where, error);
      return;
    }
  }
}

async function main() {
  const instances = spec.apps.map((app) => {
    const connection = { application_name: app.applicationName };
    if (app.timezone) connection.TimeZone = app.timezone;
    return postgres({
      host: spec.host,
      port: spec.port,
      username: app.login,
      password: app.password,
      database: 'app',
      max: spec.connections,
      connection,
    });
  });
  const workers = [];
  spec.apps.forEach((app, i) => {
    for (let w = 0; w < spec.workers; w += 1) workers.push(worker(app, instances[i], w));
  });
  await Promise.all(workers);
  await Promise.all(instances.map((sql) => sql.end({ timeout: 5 })));
  tally.report();
}

main().catch((error) => {
  tally.failure('main', error);
  tally.report();
  process.exitCode = 1;
});
