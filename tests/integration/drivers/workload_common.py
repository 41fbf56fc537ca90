"""What the Python workload programs of the driver suite share: arguments, counts, checks, the report.

Arguments (the same for every program of this folder, in any language), each key=value:
  host, port             pgtenant
  driver                 the first word of every row written and of the RESULT line
  connections            client connections per application (its pool's size)
  workers                workers per application (more than its connections)
  transactions           transactions per worker
  default_timezone       the database's TimeZone: what a client that asks for none must see
  app=TENANT,LOGIN,PASSWORD,ORG_ID,TIMEZONE,APPLICATION_NAME   once per application; TIMEZONE may be empty

A program prints one line per error ("FAILURE <where>: <SQLSTATE> <message>") and, at its end,
"RESULT transactions=N rows_written=N foreign_rows=N wrong_tenant=N wrong_timezone=N
wrong_application_name=N failures=N".
"""

import os
import sys
import threading
from dataclasses import dataclass

# The statements every workload runs, whatever its library (placeholders are each library's own).
SETTINGS_SQL = ("SELECT current_setting('app.current_organization_id'), current_setting('TimeZone'), "
                "current_setting('application_name')")


@dataclass
class App:
    tenant: str
    login: str
    password: str
    org_id: str
    timezone: str  # "" when the application asks for none
    application_name: str
    index: int

    def expected_timezone(self, spec):
        return self.timezone or spec.default_timezone


@dataclass
class Spec:
    host: str
    port: int
    driver: str
    connections: int
    workers: int
    transactions: int
    default_timezone: str
    apps: list

    def row_name(self, app, worker, transaction, extra=""):
        """The name of a row: "<driver> <tenant> ..." (the test checks its organization by the tenant)."""
        return f"{self.driver} {app.tenant} app{app.index} w{worker} t{transaction}{extra}"


def parse_args(argv=None):
    values = {}
    apps = []
    for arg in (sys.argv[1:] if argv is None else argv):
        key, _, value = arg.partition("=")
        if key == "app":
            fields = value.split(",")
            if len(fields) != 6:
                raise SystemExit(f"bad app argument: {arg}")
            apps.append(App(*fields, index=len(apps)))
        else:
            values[key] = value
    return Spec(host=values["host"], port=int(values["port"]), driver=values["driver"],
                connections=int(values["connections"]), workers=int(values["workers"]),
                transactions=int(values["transactions"]), default_timezone=values["default_timezone"], apps=apps)


class Tally:
    """Counts of a run, safe to update from several threads."""

    COUNTS = ("transactions", "rows_written", "foreign_rows", "wrong_tenant", "wrong_timezone",
              "wrong_application_name", "failures")

    def __init__(self):
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.COUNTS, 0)

    def add(self, name, n=1):
        with self._lock:
            self._counts[name] += n

    def failure(self, where, error):
        """Records an error raised by the library, with its SQLSTATE when it carries one."""
        sqlstate = ""
        # ORMs wrap the driver's error: SQLAlchemy in .orig, Django in __cause__.
        for cause in (error, getattr(error, "orig", None), error.__cause__):
            sqlstate = sqlstate or getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None) or ""
        message = " ".join(str(error).split())
        with self._lock:
            self._counts["failures"] += 1
        print(f"FAILURE {where}: {sqlstate} {type(error).__name__}: {message}".replace("  ", " "), flush=True)

    def check_settings(self, app, spec, row, where):
        """`row` is (organization, TimeZone, application_name) as the session sees them."""
        org, timezone, application_name = (str(v) for v in row)
        if org != app.org_id:
            self.add("wrong_tenant")
            print(f"WRONG {where}: tenant context {org}, expected {app.org_id}", flush=True)
        if timezone != app.expected_timezone(spec):
            self.add("wrong_timezone")
            print(f"WRONG {where}: TimeZone {timezone}, expected {app.expected_timezone(spec)}", flush=True)
        if application_name != app.application_name:
            self.add("wrong_application_name")
            print(f"WRONG {where}: application_name {application_name}, expected {app.application_name}", flush=True)

    def check_orgs(self, app, orgs):
        foreign = sum(1 for org in orgs if str(org) != app.org_id)
        if foreign:
            self.add("foreign_rows", foreign)

    def report(self):
        with self._lock:
            counts = " ".join(f"{name}={self._counts[name]}" for name in self.COUNTS)
        print(f"RESULT {counts}", flush=True)


# libpq reads PGTZ when it builds a startup packet: the way a libpq client (psycopg, psycopg2) asks for a
# TimeZone. It is process-wide, so connections of applications with different zones are made one at a
# time with the variable set to theirs.
_libpq_environment = threading.Lock()


def libpq_connect_with_timezone(timezone, connect):
    with _libpq_environment:
        saved = os.environ.get("PGTZ")
        if timezone:
            os.environ["PGTZ"] = timezone
        else:
            os.environ.pop("PGTZ", None)
        try:
            return connect()
        finally:
            if saved is None:
                os.environ.pop("PGTZ", None)
            else:
                os.environ["PGTZ"] = saved
