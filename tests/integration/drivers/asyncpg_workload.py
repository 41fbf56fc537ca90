"""asyncpg with asyncpg.Pool and its defaults: the driver suite's workload (see workload_common.py).

One asyncpg.Pool per application (its TimeZone and application_name as server_settings: startup
parameters), `connections` connections each, and `workers` tasks per pool that acquire a connection for
every transaction and release it after. A release runs asyncpg's reset query (pg_advisory_unlock_all(),
CLOSE ALL, UNLISTEN *, RESET ALL); statements are prepared by asyncpg's statement cache.
"""

import asyncio
import sys

import asyncpg

import workload_common as common

SELECT_ORGS = "SELECT org_id FROM projects WHERE name <> $1"
INSERT = "INSERT INTO projects (org_id, name) VALUES ($1, $2)"


async def create_pool(spec, app):
    settings = {"application_name": app.application_name}
    if app.timezone:
        settings["TimeZone"] = app.timezone
    return await asyncpg.create_pool(host=spec.host, port=spec.port, user=app.login, password=app.password,
                                     database="app", min_size=spec.connections, max_size=spec.connections,
                                     server_settings=settings)


async def worker(spec, tally, app, pool, w):
    for t in range(spec.transactions):
        where = f"app{app.index} w{w} t{t}"
        try:
            async with pool.acquire() as conn:
                async with conn.transaction():
                    tally.check_settings(app, spec, await conn.fetchrow(common.SETTINGS_SQL), where)
                    tally.check_orgs(app, [row[0] for row in await conn.fetch(SELECT_ORGS, "")])
                    await conn.execute(INSERT, app.org_id, spec.row_name(app, w, t))
                tally.add("rows_written")
                # A statement of its own, outside any transaction block.
                tally.check_settings(app, spec, await conn.fetchrow(common.SETTINGS_SQL), where + " autocommit")
            tally.add("transactions")
        except Exception as error:  # the library's errors are what the test reports
            tally.failure(where, error)
            return


async def run(spec, tally):
    pools = []
    try:
        for app in spec.apps:
            pools.append(await create_pool(spec, app))
    except Exception as error:
        tally.failure("create_pool", error)
        return 1
    await asyncio.gather(*(worker(spec, tally, app, pool, w)
                           for app, pool in zip(spec.apps, pools) for w in range(spec.workers)))
    for pool in pools:
        pool.terminate()
    return 0


def main():
    spec = common.parse_args()
    tally = common.Tally()
    code = asyncio.run(run(spec, tally))
    tally.report()
    return code


if __name__ == "__main__":
    sys.exit(main())
