-- No-false-positive corpus: realistic application SQL that every tenant member must be able to send,
-- in transaction pooling. One statement per block; blocks are separated by a line holding only "--;".
-- pgbench's built-in scripts appear with their \set variables replaced by $n or literals.

-- pgbench tpcb-like
BEGIN;
--;
UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;
--;
SELECT abalance FROM pgbench_accounts WHERE aid = $1;
--;
UPDATE pgbench_tellers SET tbalance = tbalance + $1 WHERE tid = $2;
--;
UPDATE pgbench_branches SET bbalance = bbalance + $1 WHERE bid = $2;
--;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP);
--;
END;
--;
-- pgbench simple-update, with literals
UPDATE pgbench_accounts SET abalance = abalance + -4123 WHERE aid = 81723;
--;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (7, 1, 81723, -4123, CURRENT_TIMESTAMP);
--;
-- pgbench select-only
SELECT abalance FROM pgbench_accounts WHERE aid = 40211;
--;
-- a whole pgbench transaction as one simple Query
BEGIN; UPDATE pgbench_accounts SET abalance = abalance + 10 WHERE aid = 1; SELECT abalance FROM pgbench_accounts WHERE aid = 1; END;
--;
-- ORM-style (ActiveRecord / Django / Hibernate / Prisma)
SELECT "projects".* FROM "projects" WHERE "projects"."id" = $1 LIMIT $2
--;
SELECT "projects"."id", "projects"."name", "projects"."created_at" FROM "projects" WHERE "projects"."org_id" = $1 ORDER BY "projects"."created_at" DESC LIMIT 20 OFFSET 40
--;
INSERT INTO "projects" ("name", "org_id", "created_at", "updated_at") VALUES ($1, $2, $3, $4) RETURNING "id"
--;
UPDATE "projects" SET "name" = $1, "updated_at" = $2 WHERE "projects"."id" = $3
--;
DELETE FROM "projects" WHERE "projects"."id" = $1
--;
SELECT COUNT(*) AS "__count" FROM "tasks" WHERE ("tasks"."project_id" = $1 AND "tasks"."done" = false)
--;
SELECT t0.id, t0.title, t1.name AS project_name FROM tasks t0 LEFT OUTER JOIN projects t1 ON t0.project_id = t1.id WHERE t0.id IN ($1, $2, $3, $4)
--;
SELECT "public"."users"."id", "public"."users"."email" FROM "public"."users" WHERE "public"."users"."email" = $1 LIMIT $2 OFFSET $3
--;
SELECT 1 AS "a" FROM "users" WHERE "users"."email" = $1 LIMIT 1
--;
SELECT * FROM users WHERE id = ANY($1::uuid[])
--;
INSERT INTO users (id, email, name) VALUES ($1, $2, $3) ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name, updated_at = now() RETURNING id
--;
INSERT INTO project_members (project_id, user_id, role) VALUES ($1, $2, 'editor') ON CONFLICT DO NOTHING
--;
-- joins, aggregates, CTEs, windows
SELECT p.id, p.name, count(t.id) AS open_tasks FROM projects p LEFT JOIN tasks t ON t.project_id = p.id AND NOT t.done GROUP BY p.id, p.name HAVING count(t.id) > 0 ORDER BY open_tasks DESC
--;
WITH recent AS (SELECT * FROM tasks WHERE created_at > now() - interval '7 days') SELECT project_id, count(*) FROM recent GROUP BY project_id
--;
WITH RECURSIVE tree AS (SELECT id, parent_id, name, 1 AS depth FROM folders WHERE parent_id IS NULL UNION ALL SELECT f.id, f.parent_id, f.name, tree.depth + 1 FROM folders f JOIN tree ON f.parent_id = tree.id) SELECT * FROM tree ORDER BY depth, name
--;
SELECT id, amount, sum(amount) OVER (PARTITION BY customer_id ORDER BY created_at ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running_total FROM invoices
--;
SELECT customer_id, amount, rank() OVER w, lag(amount) OVER w, percent_rank() OVER w FROM invoices WINDOW w AS (PARTITION BY customer_id ORDER BY amount DESC)
--;
SELECT date_trunc('month', created_at) AS month, sum(amount) FILTER (WHERE status = 'paid') AS paid, sum(amount) AS total FROM invoices GROUP BY 1 ORDER BY 1
--;
SELECT * FROM (SELECT id, row_number() OVER (PARTITION BY project_id ORDER BY priority) AS rn FROM tasks) ranked WHERE rn <= 3
--;
SELECT p.name, latest.title FROM projects p CROSS JOIN LATERAL (SELECT title FROM tasks t WHERE t.project_id = p.id ORDER BY created_at DESC LIMIT 1) latest
--;
SELECT id FROM projects UNION SELECT project_id FROM archived_tasks EXCEPT SELECT project_id FROM deleted_projects
--;
SELECT id, CASE WHEN priority > 3 THEN 'high' WHEN priority > 1 THEN 'medium' ELSE 'low' END AS level FROM tasks
--;
SELECT COALESCE(NULLIF(trim(name), ''), 'untitled') AS name, GREATEST(updated_at, created_at) FROM projects
--;
SELECT DISTINCT ON (customer_id) customer_id, amount, created_at FROM invoices ORDER BY customer_id, created_at DESC
--;
SELECT * FROM tasks WHERE project_id IN (SELECT id FROM projects WHERE archived = false) AND EXISTS (SELECT 1 FROM users u WHERE u.id = tasks.assignee_id)
--;
SELECT generate_series(1, 10) AS n
--;
SELECT d::date FROM generate_series(now() - interval '30 days', now(), interval '1 day') AS d
--;
-- JSON / JSONB
SELECT data->>'name' AS name, data->'address'->>'city' AS city FROM customers WHERE data @> '{"vip": true}'
--;
SELECT id FROM events WHERE payload #>> '{user,id}' = $1 AND payload ? 'session'
--;
SELECT jsonb_build_object('id', id, 'name', name, 'tags', to_jsonb(tags)) FROM projects
--;
SELECT jsonb_agg(t ORDER BY t.created_at) FROM tasks t WHERE t.project_id = $1
--;
UPDATE customers SET data = jsonb_set(data, '{address,city}', to_jsonb($1::text)) WHERE id = $2
--;
SELECT key, value FROM customers, jsonb_each_text(data) WHERE id = $1
--;
SELECT * FROM events WHERE payload @? '$.items[*] ? (@.price > 100)'
--;
-- casts, arrays, text search, misc types
SELECT $1::uuid, $2::timestamptz, $3::numeric(12,2), $4::text[]
--;
SELECT id FROM documents WHERE to_tsvector('english', body) @@ plainto_tsquery('english', $1) ORDER BY ts_rank(to_tsvector('english', body), plainto_tsquery('english', $1)) DESC LIMIT 10
--;
SELECT array_agg(DISTINCT tag ORDER BY tag) FROM projects, unnest(tags) AS tag
--;
SELECT id FROM projects WHERE tags && ARRAY['urgent', 'client']::text[]
--;
SELECT name FROM projects WHERE name ILIKE '%' || $1 || '%' ORDER BY similarity(name, $1) DESC
--;
SELECT extract(epoch FROM now() - created_at)::int AS age_seconds FROM sessions WHERE id = $1
--;
SELECT gen_random_uuid(), now(), current_date, current_user, session_user
--;
SELECT current_setting('app.current_organization_id')::uuid AS org
--;
SELECT id FROM invoices WHERE created_at BETWEEN $1 AND $2 AND status IN ('paid', 'open') ORDER BY created_at LIMIT 100
--;
-- transaction control and per-transaction settings
BEGIN ISOLATION LEVEL REPEATABLE READ
--;
START TRANSACTION READ ONLY
--;
SET LOCAL statement_timeout = '5s'
--;
SET LOCAL app.request_id = 'req-123'
--;
SET TRANSACTION ISOLATION LEVEL SERIALIZABLE
--;
SAVEPOINT before_import
--;
ROLLBACK TO SAVEPOINT before_import
--;
RELEASE SAVEPOINT before_import
--;
COMMIT
--;
ROLLBACK
--;
LOCK TABLE invoices IN SHARE ROW EXCLUSIVE MODE
--;
SELECT pg_advisory_xact_lock(hashtext('invoice-numbering'))
--;
SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at LIMIT 10 FOR UPDATE SKIP LOCKED
--;
UPDATE jobs SET status = 'running', started_at = now() WHERE id = (SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, payload
--;
WITH moved AS (DELETE FROM tasks WHERE done AND updated_at < now() - interval '90 days' RETURNING *) INSERT INTO archived_tasks SELECT * FROM moved
--;
MERGE INTO inventory i USING incoming n ON i.sku = n.sku WHEN MATCHED THEN UPDATE SET qty = i.qty + n.qty WHEN NOT MATCHED THEN INSERT (sku, qty) VALUES (n.sku, n.qty)
--;
COPY tasks (id, title) FROM STDIN WITH (FORMAT csv)
--;
COPY (SELECT id, title FROM tasks WHERE project_id = 7) TO STDOUT WITH (FORMAT csv, HEADER)
--;
EXPLAIN SELECT * FROM tasks WHERE project_id = 7
--;
EXPLAIN (FORMAT JSON, COSTS true) SELECT count(*) FROM invoices
--;
SHOW statement_timeout
--;
SHOW TRANSACTION ISOLATION LEVEL
--;
SELECT version()
--;
SELECT pg_backend_pid(), inet_server_port()
--;
DECLARE batch CURSOR FOR SELECT id FROM tasks
--;
FETCH 100 FROM batch
--;
CLOSE batch
--;
NOTIFY task_events, 'created'
--;
SELECT pg_notify('task_events', $1)
--;
-- psql / driver introspection
SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'public'
--;
SELECT t.oid, t.typname FROM pg_type t WHERE t.typname = ANY($1)
--;
SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a WHERE a.attrelid = 'projects'::regclass AND a.attnum > 0 AND NOT a.attisdropped
--;
SELECT 'public.projects'::regclass::oid
--;
SELECT set_config_value FROM settings_audit WHERE id = $1
--;
SELECT "organization".* FROM organization WHERE id = current_setting('app.current_organization_id')::uuid
--;
-- catalog reads that stay allowed in a shared database (the catalog.* rules refuse statistics,
-- activity counters and information_schema's object lists)
SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()
--;
SELECT feature_id, is_supported FROM information_schema.sql_features WHERE feature_id = $1
--;
SELECT character_set_name FROM information_schema.character_sets
--;
SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()
