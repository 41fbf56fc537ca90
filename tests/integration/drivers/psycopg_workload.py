"""psycopg 3 with its defaults: the driver suite's workload (arguments and output: workload_common.py).

Applications of even index keep psycopg's default prepare_threshold (5: a query is prepared on the
server at its fifth run on a connection), odd ones set prepare_threshold=0 (prepared at the first). Every
eighth transaction of a connection is rolled back on purpose after its INSERT: by then its statements are
prepared (seven runs each since the last rollback, which resets psycopg's counts), so psycopg deallocates
them (DEALLOCATE ALL) and prepares them again. Each application's connections form a small pool that its
workers take turns on; a connection's TimeZone comes from PGTZ (libpq's startup parameter), its
application_name from the connection string.
"""

import queue
import sys
import threading

import psycopg

import workload_common as common

SELECT_ORGS = "SELECT org_id FROM projects WHERE name <> %s"
INSERT = "INSERT INTO projects (org_id, name) VALUES (%s, %s)"
# Past prepare_threshold (5) between two rollbacks of a connection.
ROLLBACK_EVERY = 8


class Client:
    """A pooled connection and how many transactions it has run."""

    def __init__(self, conn):
        self.conn = conn
        self.transactions = 0


def connect(spec, app):
    kwargs = dict(host=spec.host, port=spec.port, dbname="app", user=app.login, password=app.password,
                  application_name=app.application_name)
    if app.index % 2 == 1:
        kwargs["prepare_threshold"] = 0
    return Client(common.libpq_connect_with_timezone(app.timezone, lambda: psycopg.connect(**kwargs)))


def transaction(spec, tally, app, client, worker, t):
    conn = client.conn
    client.transactions += 1
    rollback = client.transactions % ROLLBACK_EVERY == 0
    name = spec.row_name(app, worker, t, " rolled back" if rollback else "")
    with conn.cursor() as cur:
        cur.execute(common.SETTINGS_SQL)
        tally.check_settings(app, spec, cur.fetchone(), f"app{app.index} w{worker} t{t}")
        cur.execute(SELECT_ORGS, ("",))
        tally.check_orgs(app, [row[0] for row in cur.fetchall()])
        cur.execute(INSERT, (app.org_id, name))
    if rollback:
        conn.rollback()
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM projects WHERE name = %s", (name,))
            if cur.fetchone()[0] != 0:
                raise RuntimeError(f"the rolled back row {name!r} is there")
        conn.commit()
    else:
        conn.commit()
        tally.add("rows_written")
    tally.add("transactions")


def worker_loop(spec, tally, app, pool, worker):
    for t in range(spec.transactions):
        client = pool.get()
        try:
            transaction(spec, tally, app, client, worker, t)
        except Exception as error:  # the library's errors are what the test reports
            tally.failure(f"app{app.index} w{worker} t{t}", error)
            try:
                client.conn.rollback()
            except Exception:
                pass
            return
        finally:
            pool.put(client)


def main():
    spec = common.parse_args()
    tally = common.Tally()
    pools = []
    try:
        for app in spec.apps:
            pool = queue.Queue()
            for _ in range(spec.connections):
                pool.put(connect(spec, app))
            pools.append(pool)
    except Exception as error:
        tally.failure("connect", error)
        tally.report()
        return 1
    threads = [threading.Thread(target=worker_loop, args=(spec, tally, app, pool, w))
               for app, pool in zip(spec.apps, pools) for w in range(spec.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for pool in pools:
        while not pool.empty():
            pool.get().conn.close()
    tally.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
