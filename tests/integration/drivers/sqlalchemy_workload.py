"""The SQLAlchemy ORM over psycopg2: the driver suite's workload (arguments and output: workload_common.py).

One Engine per application, its QueuePool of `connections` (no overflow) shared by `workers` threads;
each transaction is an ORM Session: a text() query, a select() of the mapped class, and a new object
flushed at commit. A connection's TimeZone comes from PGTZ (libpq's startup parameter, set while the
pool opens it), its application_name from connect_args.
"""

import sys
import threading

from sqlalchemy import Column, DateTime, Integer, Text, create_engine, event, func, select, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, declarative_base

import workload_common as common

Base = declarative_base()


class Project(Base):
    """The tenant table, created by the test (row-level security on org_id)."""
    __tablename__ = "projects"
    id = Column(Integer, primary_key=True)
    org_id = Column(UUID(as_uuid=False), nullable=False)
    name = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, server_default=func.now())


def create(spec, app):
    url = URL.create("postgresql+psycopg2", username=app.login, password=app.password, host=spec.host,
                     port=spec.port, database="app")
    engine = create_engine(url, pool_size=spec.connections, max_overflow=0, pool_timeout=60,
                           connect_args={"application_name": app.application_name}, future=True)

    @event.listens_for(engine, "do_connect")
    def connect(dialect, connection_record, cargs, cparams):
        return common.libpq_connect_with_timezone(app.timezone, lambda: dialect.dbapi.connect(*cargs, **cparams))

    return engine


def worker(spec, tally, app, engine, w):
    for t in range(spec.transactions):
        where = f"app{app.index} w{w} t{t}"
        try:
            with Session(engine) as session, session.begin():
                tally.check_settings(app, spec, session.execute(text(common.SETTINGS_SQL)).one(), where)
                tally.check_orgs(app, session.scalars(select(Project.org_id).where(Project.name != "")).all())
                session.add(Project(org_id=app.org_id, name=spec.row_name(app, w, t)))
            tally.add("rows_written")
            tally.add("transactions")
        except Exception as error:  # the library's errors are what the test reports
            tally.failure(where, error)
            return


def main():
    spec = common.parse_args()
    tally = common.Tally()
    engines = [create(spec, app) for app in spec.apps]
    threads = [threading.Thread(target=worker, args=(spec, tally, app, engine, w))
               for app, engine in zip(spec.apps, engines) for w in range(spec.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for engine in engines:
        engine.dispose()
    tally.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
