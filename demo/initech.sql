-- Demo database "initech": the dedicated database of the database tenant (initech).
--
-- Run as the superuser on a fresh cluster:
--   psql -v ON_ERROR_STOP=1 -v app_tenant_password=... -v initech_password=... -f demo/initech.sql
-- Only initech_app may connect; it owns nothing.

CREATE ROLE initech_owner NOLOGIN;
CREATE ROLE initech_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD :'initech_password';
CREATE DATABASE initech OWNER initech_owner;
REVOKE CONNECT, TEMPORARY ON DATABASE initech FROM PUBLIC;
GRANT CONNECT ON DATABASE initech TO initech_app;

\connect initech
-- Tenant roles must not change settings by function call (pgtenant doctor: set-config).
REVOKE EXECUTE ON FUNCTION pg_catalog.set_config(text, text, boolean) FROM PUBLIC;
SET ROLE initech_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

CREATE TABLE public.projects (
  id serial PRIMARY KEY,
  org_id uuid NOT NULL DEFAULT '3d1a7b2c-8e9f-4a0b-b1c2-d3e4f5a6b7c8',
  name text NOT NULL
);
INSERT INTO public.projects (name) VALUES
  ('initech: TPS report cover sheets'),
  ('initech: Y2K remediation'),
  ('initech: stapler inventory');
GRANT SELECT, INSERT, UPDATE, DELETE ON public.projects TO initech_app;
GRANT USAGE, SELECT ON SEQUENCE public.projects_id_seq TO initech_app;
RESET ROLE;
