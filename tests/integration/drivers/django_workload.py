"""The Django ORM (over psycopg2) with USE_TZ=True: the driver suite's workload (see workload_common.py).

One database alias per application (its login and application_name in OPTIONS), Django's default
CONN_MAX_AGE=0: each worker thread handles "requests", and like Django's request_finished signal,
close_old_connections() closes its connection after each one, so every request logs in anew. With USE_TZ
Django asks for TimeZone UTC on every connection whose server says otherwise (`SET TIME ZONE 'UTC'`): the
test database's TimeZone is not UTC. A request writes a Project through the ORM in transaction.atomic()
and reads it back: its aware datetime must come back as written.
"""

import sys
import threading
import uuid
from datetime import timedelta

import django
from django.conf import settings

import workload_common as common

spec = common.parse_args()
databases = {"default": {}}
for app in spec.apps:
    databases[f"app{app.index}"] = {
        "ENGINE": "django.db.backends.postgresql", "NAME": "app", "HOST": spec.host, "PORT": str(spec.port),
        "USER": app.login, "PASSWORD": app.password, "OPTIONS": {"application_name": app.application_name}}
settings.configure(DATABASES=databases, USE_TZ=True, TIME_ZONE="UTC", INSTALLED_APPS=[])
django.setup()

from django.db import close_old_connections, connections, models, transaction  # noqa: E402  (after setup)
from django.utils import timezone  # noqa: E402


class Project(models.Model):
    """The tenant table, created by the test (row-level security on org_id)."""
    org_id = models.UUIDField()
    name = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        app_label = "driver_suite"
        db_table = "projects"
        managed = False


def request(tally, app, w, t):
    alias = f"app{app.index}"
    where = f"app{app.index} w{w} t{t}"
    try:
        with transaction.atomic(using=alias):
            with connections[alias].cursor() as cursor:
                cursor.execute(common.SETTINGS_SQL)
                tally.check_settings(app, spec, cursor.fetchone(), where)
            tally.check_orgs(app, Project.objects.using(alias).exclude(name="").values_list("org_id", flat=True))
            written_at = timezone.now() - timedelta(days=t)
            project = Project.objects.using(alias).create(org_id=uuid.UUID(app.org_id), name=spec.row_name(app, w, t),
                                                          created_at=written_at)
            read = Project.objects.using(alias).get(pk=project.pk)
            if read.created_at != written_at:
                raise RuntimeError(f"wrote created_at {written_at.isoformat()}, read {read.created_at.isoformat()}")
        tally.add("rows_written")
        tally.add("transactions")
        return True
    except Exception as error:  # the library's errors are what the test reports
        tally.failure(where, error)
        return False
    finally:
        close_old_connections()  # what request_finished does


def worker(tally, app, w):
    for t in range(spec.transactions):
        if not request(tally, app, w, t):
            return


def main():
    tally = common.Tally()
    threads = [threading.Thread(target=worker, args=(tally, app, w)) for app in spec.apps for w in range(spec.workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tally.report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
