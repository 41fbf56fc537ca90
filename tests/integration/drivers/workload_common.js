// What the node workload programs of the driver suite share: arguments, counts, checks, the report.
// The arguments and the output are those of workload_common.py (its docstring describes them).
'use strict';

const SETTINGS_SQL =
  "SELECT current_setting('app.current_organization_id') AS org, current_setting('TimeZone') AS timezone, " +
  "current_setting('application_name') AS application_name";

function parseArgs(argv = process.argv.slice(2)) {
  const values = {};
  const apps = [];
  for (const arg of argv) {
    const at = arg.indexOf('=');
    const key = arg.slice(0, at);
    const value = arg.slice(at + 1);
    if (key === 'app') {
      const fields = value.split(',');
      if (fields.length !== 6) throw new Error(`bad app argument: ${arg}`);
      const [tenant, login, password, orgId, timezone, applicationName] = fields;
      apps.push({ tenant, login, password, orgId, timezone, applicationName, index: apps.length });
    } else {
      values[key] = value;
    }
  }
  return {
    host: values.host,
    port: Number(values.port),
    driver: values.driver,
    connections: Number(values.connections),
    workers: Number(values.workers),
    transactions: Number(values.transactions),
    defaultTimezone: values.default_timezone,
    apps,
    rowName(app, worker, transaction) {
      return `${this.driver} ${app.tenant} app${app.index} w${worker} t${transaction}`;
    },
  };
}

class Tally {
  constructor(spec) {
    this.spec = spec;
    this.counts = {
      transactions: 0, rows_written: 0, foreign_rows: 0, wrong_tenant: 0, wrong_timezone: 0,
      wrong_application_name: 0, failures: 0,
    };
  }

  failure(where, error) {
    this.counts.failures += 1;
    const message = String(error && error.message ? error.message : error).replace(/\s+/g, ' ');
    const sqlstate = error && error.code ? `${error.code} ` : '';
    console.log(`FAILURE ${where}: ${sqlstate}${error && error.name ? error.name : 'Error'}: ${message}`);
  }

  // `row` has org, timezone and application_name as the session sees them.
  checkSettings(app, row, where) {
    const timezone = app.timezone || this.spec.defaultTimezone;
    if (row.org !== app.orgId) {
      this.counts.wrong_tenant += 1;
      console.log(`WRONG ${where}: tenant context ${row.org}, expected ${app.orgId}`);
    }
    if (row.timezone !== timezone) {
      this.counts.wrong_timezone += 1;
      console.log(`WRONG ${where}: TimeZone ${row.timezone}, expected ${timezone}`);
    }
    if (row.application_name !== app.applicationName) {
      this.counts.wrong_application_name += 1;
      console.log(`WRONG ${where}: application_name ${row.application_name}, expected ${app.applicationName}`);
    }
  }

  checkOrgs(app, orgs) {
    this.counts.foreign_rows += orgs.filter((org) => org !== app.orgId).length;
  }

  report() {
    const counts = Object.entries(this.counts).map(([name, n]) => `${name}=${n}`).join(' ');
    console.log(`RESULT ${counts}`);
  }
}

module.exports = { SETTINGS_SQL, parseArgs, Tally };
