-- Demo database "app": one shared database for the rls tenant (acme) and the schema tenant (globex).
--
-- Run as the superuser on a fresh cluster:
--   psql -v ON_ERROR_STOP=1 -v app_tenant_password=... -v globex_password=... -v initech_password=... -f demo/app.sql
-- app_owner owns everything; app_tenant (the role pgtenant logs in as for the rls tenants) owns nothing,
-- is no superuser and cannot bypass RLS, so the policies below hold even for SQL no parser sees. The schema
-- tenant globex logs in as a role of its own, globex_app (tenants.globex.server_role), which reaches its
-- schema org_globex and nothing else; app_tenant cannot reach org_globex. So the database itself keeps
-- them apart, down to the column statistics of pg_stats (pgtenant doctor checks it).

CREATE ROLE app_owner NOLOGIN;
CREATE ROLE app_tenant LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'app_tenant_password';
CREATE DATABASE app OWNER app_owner;
REVOKE CONNECT, TEMPORARY ON DATABASE app FROM PUBLIC;
GRANT CONNECT ON DATABASE app TO app_tenant;
CREATE ROLE globex_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'globex_password';
GRANT CONNECT ON DATABASE app TO globex_app;

\connect app
-- Tenant roles must not change settings by function call (pgtenant doctor: set-config).
REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) FROM PUBLIC;
SET ROLE app_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- rls tenants share public.projects; each row carries its organization.
CREATE TABLE public.projects (
  id serial PRIMARY KEY,
  org_id uuid NOT NULL,
  name text NOT NULL
);
ALTER TABLE public.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.projects FORCE ROW LEVEL SECURITY;
-- NULLIF: with no context (unset or reset to '') the policy matches no row instead of failing on ''::uuid.
CREATE POLICY projects_tenant_isolation ON public.projects
  USING (org_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid)
  WITH CHECK (org_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);

GRANT SELECT, INSERT, UPDATE, DELETE ON public.projects TO app_tenant;
GRANT USAGE, SELECT ON SEQUENCE public.projects_id_seq TO app_tenant;

-- The owner is subject to FORCE ROW LEVEL SECURITY too: insert each org's rows in its own context.
SET app.current_organization_id = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
INSERT INTO public.projects (org_id, name) VALUES
  ('7c9e6679-7425-40de-944b-e07fc1f90ae7', 'acme: rocket skates'),
  ('7c9e6679-7425-40de-944b-e07fc1f90ae7', 'acme: giant magnet'),
  ('7c9e6679-7425-40de-944b-e07fc1f90ae7', 'acme: instant tunnel');
-- A second organization in the same table (globex's id): acme must never see these.
SET app.current_organization_id = '9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d';
INSERT INTO public.projects (org_id, name) VALUES
  ('9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d', 'globex (shared table): hammock district'),
  ('9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d', 'globex (shared table): doomsday device');
RESET app.current_organization_id;

-- The schema tenant (globex) has tables of its own in org_globex.
CREATE SCHEMA org_globex AUTHORIZATION app_owner;
CREATE TABLE org_globex.projects (
  id serial PRIMARY KEY,
  org_id uuid NOT NULL DEFAULT '9b2f1c4e-5d6a-4e8b-9c0d-1e2f3a4b5c6d',
  name text NOT NULL
);
INSERT INTO org_globex.projects (name) VALUES
  ('globex: hammock district'),
  ('globex: doomsday device'),
  ('globex: volcano lair');
GRANT USAGE ON SCHEMA org_globex TO globex_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON org_globex.projects TO globex_app;
GRANT USAGE, SELECT ON SEQUENCE org_globex.projects_id_seq TO globex_app;
RESET ROLE;
