# bench/many_tenants.sh: bench/run's many-tenants rows (issue 26, item 2), sourced by bench/run.
#
# N RLS tenants, one client each, through a pool of BENCH_SHARED_POOL server connections shared by all
# of them: pgtenant with a `shared_pool: true` backend (tenant t<i> and user u<i>, who logs in as
# u<i>.t<i>) against PgBouncer with one pool (a database whose forced user makes one pool of all the
# users u<i>). bench/tenant_load drives both and checks the owner of every row it reads. PgBouncer
# does no isolation, so there its clients set their tenant themselves, in the same Query message as
# each SELECT ("SET app.current_organization_id = ...; SELECT ..."): a SET made once at connect would,
# under transaction pooling, stay on whichever server connection ran it. RLS filters rows in both.
#
# Uses bench/run's variables and helpers (workdir, pg_port, backend_host, password, scram_secret,
# superuser_psql, free_port, wait_for_port, stop_pid, cpu_ticks, median, cpu_stat, log, failed, ...).
# Reads tenant_rows ("name|tenants"), max_tenants, shared_pool_size, tenant_pairs, tenant_segment, tenant_warmup.
# BENCH_SEQUENCES: revoked (default: lastval() and currval() revoked from PUBLIC in the bench database,
# so pgtenant's tenant switch skips DISCARD SEQUENCES, README "What a shared server connection keeps")
# or granted (PostgreSQL's default).

many_pgtenant_pid=""
many_pgbouncer_pid=""
readonly many_rows_per_tenant=10

tenant_id() { printf '00000000-0000-4000-8000-%012d' "$1"; }

stop_many_tenants() {
  stop_pid "$many_pgtenant_pid"
  stop_pid "$many_pgbouncer_pid"
}

# The table, both proxies (config, userlist) for max_tenants tenants, and a check of what each tenant sees.
start_many_tenants() {
  local i
  log "many tenants: tenant_accounts with $max_tenants tenants x $many_rows_per_tenant rows (RLS)"
  superuser_psql -d bench <<SQL
CREATE TABLE tenant_accounts (aid int PRIMARY KEY, org_id uuid NOT NULL, abalance int NOT NULL DEFAULT 0);
INSERT INTO tenant_accounts (aid, org_id)
  SELECT a, ('00000000-0000-4000-8000-' || lpad(((a - 1) / $many_rows_per_tenant + 1)::text, 12, '0'))::uuid
  FROM generate_series(1, $((max_tenants * many_rows_per_tenant))) AS a;
ALTER TABLE tenant_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_only ON tenant_accounts
  USING (org_id = NULLIF(current_setting('app.current_organization_id', true), '')::uuid);
GRANT SELECT ON tenant_accounts TO bench;
VACUUM ANALYZE tenant_accounts;
SQL
  # As the README suggests for shared pools: without currval()/lastval() a tenant switch needs no
  # DISCARD SEQUENCES. BENCH_SEQUENCES=granted keeps PostgreSQL's default grants (and the reset).
  if [[ "${BENCH_SEQUENCES:-revoked}" == revoked ]]; then
    superuser_psql -d bench -c "REVOKE EXECUTE ON FUNCTION pg_catalog.lastval(), pg_catalog.currval(regclass) FROM PUBLIC"
  fi

  many_pgtenant_port="$(free_port)"
  many_pgbouncer_port="$(free_port)"
  # PgBouncer: users u1..uN (the bench role's SCRAM secret), all in one pool through the forced user.
  awk -v n="$max_tenants" -v secret="$scram_secret" 'BEGIN { for (i = 1; i <= n; i++) printf "\"u%d\" \"%s\"\n", i, secret }' \
    >"$workdir/userlist-tenants.txt"
  cat >"$workdir/pgbouncer-tenants.ini" <<INI
[databases]
bench = host=$backend_host port=$pg_port dbname=bench user=bench password=$password pool_size=$shared_pool_size

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $many_pgbouncer_port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $workdir/userlist-tenants.txt
pool_mode = transaction
default_pool_size = $shared_pool_size
max_client_conn = $((max_tenants + 100))
logfile = $workdir/pgbouncer-tenants.log
log_connections = 0
log_disconnections = 0
ignore_startup_parameters = extra_float_digits
INI
  ((EUID == 0)) && chown postgres: "$workdir/userlist-tenants.txt" "$workdir/pgbouncer-tenants.ini"
  "${exec_as_postgres[@]}" "$pgbouncer_binary" -q "$workdir/pgbouncer-tenants.ini" >"$workdir/pgbouncer-tenants.out" 2>&1 &
  many_pgbouncer_pid=$!
  wait_for_port "$many_pgbouncer_port" 10 || { log "PgBouncer (many tenants) did not start"; exit 1; }

  # pgtenant: tenants t1..tN on a shared_pool backend, user u<i> a member of t<i> only.
  {
    echo "listen: { address: 127.0.0.1, port: $many_pgtenant_port }"
    echo "auth: { method: scram-sha-256 }"
    echo "limits: { max_client_connections: $((max_tenants + 100)) }"
    echo "pool: { mode: transaction, size: $shared_pool_size }"
    echo "tenant_identification: [username_suffix]"
    if [ -n "${BENCH_WORKERS:-}" ]; then echo "workers: $BENCH_WORKERS"; fi
    echo "backends:"
    echo "  shared: { host: $backend_host, port: $pg_port, database: bench, user: bench, password: \"\${BENCH_PASSWORD}\", shared_pool: true }"
    awk -v n="$max_tenants" -v secret="$scram_secret" 'BEGIN {
      print "tenants:"
      for (i = 1; i <= n; i++) printf "  t%d: { id: 00000000-0000-4000-8000-%012d, isolation: rls, backend: shared }\n", i, i
      print "users:"
      for (i = 1; i <= n; i++) printf "  u%d: { password: \"%s\", tenants: { t%d: member } }\n", i, secret, i
    }'
  } >"$workdir/pgtenant-tenants.yaml"
  "$pgtenant_binary" --config "$workdir/pgtenant-tenants.yaml" >"$workdir/pgtenant-tenants.log" 2>&1 &
  many_pgtenant_pid=$!
  wait_for_port "$many_pgtenant_port" 30 || { log "pgtenant (many tenants) did not start"; exit 1; }
  log "many tenants: PgBouncer on :$many_pgbouncer_port (pid $many_pgbouncer_pid), pgtenant on :$many_pgtenant_port (pid $many_pgtenant_pid), $max_tenants tenants, pools of $shared_pool_size"

  # Each proxy shows the first and the last tenant its own rows only.
  local seen sql="SELECT count(*), count(DISTINCT org_id), min(org_id::text) FROM tenant_accounts"
  for i in 1 "$max_tenants"; do
    seen="$(PGPASSWORD="$password" "$bindir/psql" -X -At -h 127.0.0.1 -p "$many_pgtenant_port" -U "u$i.t$i" -d bench -c "$sql")"
    [[ "$seen" == "$many_rows_per_tenant|1|$(tenant_id "$i")" ]] || { log "pgtenant: tenant t$i sees '$seen'"; exit 1; }
    seen="$(PGPASSWORD="$password" "$bindir/psql" -X -q -At -h 127.0.0.1 -p "$many_pgbouncer_port" -U "u$i" -d bench \
      -c "SET app.current_organization_id = '$(tenant_id "$i")'; $sql")"
    [[ "$seen" == "$many_rows_per_tenant|1|$(tenant_id "$i")" ]] || { log "PgBouncer: tenant t$i sees '$seen'"; exit 1; }
  done
}

# run_tenant_pairs TENANTS: one bench/tenant_load run with both targets, PgBouncer (A) and pgtenant (B):
# each logs in its TENANTS clients, then tenant_pairs pairs of segments of tenant_segment seconds run,
# A B B A A B ..., only one target's clients sending at a time (tenant_load.cc says more). Sets, per
# target, PAIR_TPS, PAIR_LAT, PAIR_TX, PAIR_TICKS (CPU over the counted seconds), PAIR_FOREIGN, PAIR_MISSING, PAIR_ERRORS
# (associative arrays by target name; PAIR_TPS ERR when the driver printed no result), and PAIR_RATIOS (each
# pair's pgtenant / PgBouncer tps).
declare -A PAIR_TPS PAIR_LAT PAIR_TX PAIR_TICKS PAIR_FOREIGN PAIR_MISSING PAIR_ERRORS
PAIR_RATIOS=""
run_tenant_pairs() {
  local tenants="$1" out="$workdir/tenant_load.out" seconds ok=true
  seconds="$(awk -v p="$tenant_pairs" -v s="$tenant_segment" 'BEGIN { print 2 * p * s }')"
  timeout -k 5 "$(awk -v s="$seconds" 'BEGIN { printf "%d", s + 300 }')" "$load_binary" --host 127.0.0.1 --dbname bench \
    --password "$password" --tenants "$tenants" --seconds "$seconds" --rows-per-tenant "$many_rows_per_tenant" \
    --port "$many_pgbouncer_port" --user 'u{i}' --set-context app.current_organization_id --cpu-of "$many_pgbouncer_pid" \
    --versus-port "$many_pgtenant_port" --versus-user 'u{i}.t{i}' --versus-cpu-of "$many_pgtenant_pid" \
    --segment "$tenant_segment" --warmup "$tenant_warmup" >"$out" 2>"$out.err" || ok=false
  local target letter line
  for target in pgbouncer pgtenant; do
    letter=A
    [[ "$target" == pgtenant ]] && letter=B
    line="$(grep "^tenant_load: target=$letter " "$out" || true)"
    field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    PAIR_TPS[$target]="$(field tps)" PAIR_LAT[$target]="$(field latency_ms)" PAIR_TX[$target]="$(field transactions)"
    PAIR_TICKS[$target]="$(awk -v s="$(field cpu_seconds)" -v hz="$clk_tck" 'BEGIN { if (s != "") printf "%d", s * hz + 0.5 }')"
    PAIR_FOREIGN[$target]="$(field foreign_rows)" PAIR_MISSING[$target]="$(field missing_rows)" PAIR_ERRORS[$target]="$(field errors)"
    [[ -n "${PAIR_TPS[$target]}" ]] || PAIR_TPS[$target]=ERR
  done
  PAIR_RATIOS="$(sed -n 's/^tenant_load: .*pair_ratios=\([^ ]*\).*/\1/p' "$out" | tr ',' ' ')"
  if ! $ok; then
    failed=true
    log "tenant_load ($tenants tenants) failed:"
    head -n 15 "$out.err" >&2
  fi
}

# Every many-tenants row: one paired run of both targets (run_tenant_pairs).
declare -A many_tps many_lat many_cpu many_foreign many_missing many_errors many_steal many_ratio many_ratios
run_many_tenants() {
  local row name tenants target t0 s0 t1 s1
  for row in "${tenant_rows[@]}"; do
    IFS='|' read -r name tenants <<<"$row"
    read -r t0 s0 < <(cpu_stat)
    log "$name: PgBouncer and pgtenant, $tenant_pairs pairs of ${tenant_segment}s segments"
    run_tenant_pairs "$tenants"
    read -r t1 s1 < <(cpu_stat)
    many_steal[$name]="$(awk -v t=$((t1 - t0)) -v s=$((s1 - s0)) 'BEGIN { if (t > 0) printf "%.0f", 100 * s / t; else print "-" }')"
    for target in pgbouncer pgtenant; do
      many_tps[$name,$target]="${PAIR_TPS[$target]}" many_lat[$name,$target]="${PAIR_LAT[$target]}"
      many_foreign[$name,$target]="${PAIR_FOREIGN[$target]:-0}" many_missing[$name,$target]="${PAIR_MISSING[$target]:-0}"
      many_errors[$name,$target]="${PAIR_ERRORS[$target]:-0}"
      log "  $target: ${PAIR_TPS[$target]} tps, ${PAIR_LAT[$target]} ms, foreign rows ${PAIR_FOREIGN[$target]:-?}, missing ${PAIR_MISSING[$target]:-?}, errors ${PAIR_ERRORS[$target]:-?}"
      [[ -n "${PAIR_TICKS[$target]}" && "${PAIR_TX[$target]:-0}" -gt 0 ]] && many_cpu[$name,$target]="$(awk -v d="${PAIR_TICKS[$target]}" \
        -v hz="$clk_tck" -v tx="${PAIR_TX[$target]}" 'BEGIN { printf "%.3f", d / hz / tx * 1000 }')"
    done
    many_ratios[$name]=" $PAIR_RATIOS"
    # shellcheck disable=SC2086
    [[ -n "${PAIR_RATIOS// /}" ]] && many_ratio[$name]="$(median $PAIR_RATIOS)"
  done
}

# The many-tenants table and its two targets (issue 26): tps at 0.95 of PgBouncer's, no foreign row.
print_many_tenants() {
  local row name tenants b t missed=() foreign_total=0 rows_compared=0
  echo
  echo "many tenants: RLS tenants, one client each (bench/tenant_load: point SELECTs, simple protocol, the owner of every"
  echo "row checked), $shared_pool_size server connections for all tenants in both proxies; both proxies' clients logged in"
  echo "at once, then $tenant_pairs pairs of ${tenant_segment}s segments, one target's clients sending in each (PgBouncer, pgtenant,"
  echo "pgtenant, PgBouncer, ...), the first ${tenant_warmup}s of a segment not counted;"
  echo "lastval() and currval() ${BENCH_SEQUENCES:-revoked} (BENCH_SEQUENCES)"
  echo
  printf '| %-18s | %9s | %7s | %9s | %7s | %7s | %8s | %8s | %13s | %7s |\n' \
    row pgbouncer "lat ms" pgtenant "lat ms" pgt/pgb "pgb CPU" "pgt CPU" "foreign rows" "steal %"
  printf '|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n' -------------------- ----------- --------- ----------- --------- \
    --------- ---------- ---------- --------------- ---------
  for row in "${tenant_rows[@]}"; do
    IFS='|' read -r name tenants <<<"$row"
    b="$(val "${many_tps[$name,pgbouncer]:-}")"; t="$(val "${many_tps[$name,pgtenant]:-}")"
    local paired="-"
    numeric "$t" && numeric "$b" && numeric "${many_ratio[$name]:-}" && paired="$(ratio "${many_ratio[$name]}" 1)"
    printf '| %-18s | %9s | %7s | %9s | %7s | %7s | %8s | %8s | %13s | %7s |\n' "$name" \
      "$b" "$(val "${many_lat[$name,pgbouncer]:-}")" "$t" "$(val "${many_lat[$name,pgtenant]:-}")" "$paired" \
      "$(val "${many_cpu[$name,pgbouncer]:-}")" "$(val "${many_cpu[$name,pgtenant]:-}")" \
      "${many_foreign[$name,pgbouncer]:-?} / ${many_foreign[$name,pgtenant]:-?}" "$(val "${many_steal[$name]:-}")"
    foreign_total=$((foreign_total + ${many_foreign[$name,pgbouncer]:-0} + ${many_foreign[$name,pgtenant]:-0}))
    if numeric "$paired"; then
      rows_compared=$((rows_compared + 1))
      at_least "${many_ratio[$name]}" 0.95 || missed+=("$name $paired")
    fi
    if ((${many_missing[$name,pgbouncer]:-0} + ${many_missing[$name,pgtenant]:-0} + ${many_errors[$name,pgbouncer]:-0} \
         + ${many_errors[$name,pgtenant]:-0} > 0)); then
      echo "  $name: missing own rows pgbouncer ${many_missing[$name,pgbouncer]:-0}, pgtenant ${many_missing[$name,pgtenant]:-0};" \
        "errors pgbouncer ${many_errors[$name,pgbouncer]:-0}, pgtenant ${many_errors[$name,pgtenant]:-0}"
    fi
  done
  echo
  for row in "${tenant_rows[@]}"; do
    IFS='|' read -r name tenants <<<"$row"
    [[ -n "${many_ratios[$name]:-}" ]] && echo "$name: pgtenant / PgBouncer tps of each pair:${many_ratios[$name]}"
  done
  echo "pgt/pgb: the median of the pairs' ratios (a pair: two adjacent segments, one of each target);"
  echo "tps and lat ms: over each target's counted seconds; CPU: the proxy's CPU seconds per 1,000 transactions (over"
  echo "the counted seconds, logins not included); foreign rows: rows of"
  echo "another tenant read through PgBouncer / pgtenant, over the whole run (must be 0). PgBouncer does no isolation:"
  echo "its clients (users u<i>, one pool through the database's forced user) set their tenant with"
  echo "SET app.current_organization_id in the same Query message as each SELECT, so RLS filters there too."
  local not
  not="$(join_list "${missed[@]}")"
  echo "targets: many tenants at 0.95 of PgBouncer's tps: $((rows_compared - ${#missed[@]})) of $rows_compared rows${not:+ (not: $not)}"
  if ((foreign_total == 0)); then echo "targets: no foreign row: met"; else echo "targets: no foreign row: NOT MET ($foreign_total)"; fi
}
