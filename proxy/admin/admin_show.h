// The admin console's SHOW answers: columns and rows, sent as RowDescription, the DataRows (text
// format) and CommandComplete "SHOW". Column names and order follow PgBouncer's console (1.18, plus
// the prepared_statements and id columns of later versions) where the concepts match, pgtenant's own
// columns after them; counts are int8 columns, everything else text. Nothing shown is a secret: no
// passwords, tokens or query text.
//
// What PgBouncer calls a database is, in pgtenant, a tenant: the thing a client names to be
// pooled, paused, disabled, reconnected. So the `database` column of SHOW POOLS, STATS, DATABASES,
// CLIENTS and SERVERS holds the tenant (ServerPool::kSharedLabel for a pool shared by tenants), and
// tools written for PgBouncer (prometheus-pgbouncer-exporter) label their series by tenant. The
// PostgreSQL database a pool's server connections use is in `backend_database`.
//
// SHOW BACKENDS has one row per host of each backend: its health (up, down, unknown; why and since
// when it is down) and whether new server connections go to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "proxy/io/loop_clock.h"

namespace pgtenant::proxy {

class ProxyServer;

// One SHOW answer: columns and text rows, written to the client as RowDescription (section 55.7),
// DataRows and CommandComplete "SHOW".
class Table {
 public:
  struct Column {
    const char* name;
    bool numeric = false;  // int8, otherwise text
  };
  using Row = std::vector<std::optional<std::string>>;

  void SetColumns(std::initializer_list<Column> columns) { columns_.assign(columns); }
  // The columns of one list followed by those of another (a head several SHOWs share, then their own).
  void SetColumns(std::span<const Column> head, std::initializer_list<Column> tail) {
    columns_.assign(head.begin(), head.end());
    columns_.insert(columns_.end(), tail);
  }
  void Add(Row values) {
    values.resize(columns_.size());
    rows_.push_back(std::move(values));
  }
  void Write(std::string& out) const;
  const std::vector<Column>& columns() const { return columns_; }
  const std::vector<Row>& rows() const { return rows_; }

  // Every worker's part of the same SHOW as one table. With `key_columns` 0 the rows are
  // concatenated; otherwise rows equal in their first `key_columns` columns become one: the
  // first one's, with the `sum` columns added up and the `max` columns taken from the row where
  // they are greatest (compared together, in the order named: maxwait, then maxwait_us).
  static Table Merge(std::vector<Table> parts, size_t key_columns = 0, std::vector<std::string> sum = {},
                     std::vector<std::string> max = {});

 private:
  std::vector<Column> columns_;
  std::vector<Row> rows_;
};

// Each fills `rows` with what one worker knows (REQUIRES: on that worker's loop thread; they read
// its sessions and pools). The console merges the workers' parts (AdminConsole).
void ShowHelp(ProxyServer& proxy, Table& rows);
void ShowTenants(ProxyServer& proxy, Table& rows);
void ShowPools(ProxyServer& proxy, Table& rows);
void ShowClients(ProxyServer& proxy, Table& rows);
void ShowServers(ProxyServer& proxy, Table& rows);
void ShowLists(ProxyServer& proxy, Table& rows);
void ShowBackends(ProxyServer& proxy, Table& rows);
void ShowDatabases(ProxyServer& proxy, Table& rows);
void ShowUsers(ProxyServer& proxy, Table& rows);
void ShowConfig(ProxyServer& proxy, Table& rows);
void ShowVersion(ProxyServer& proxy, Table& rows);
// These two gather every worker's figures themselves (REQUIRES: on a worker's loop thread).
void ShowStats(ProxyServer& proxy, Table& rows);
void ShowTotals(ProxyServer& proxy, Table& rows);

// (command, what it does), in the order SHOW HELP lists them.
const std::vector<std::pair<std::string, std::string>>& AdminCommandHelp();
// The SHOW items, for the hint of an unknown one: "HELP, TENANTS, ...".
std::string ShowItemList();

// Cell text shared by the SHOW answers.
namespace admin_text {
std::string Num(int64_t n);
int64_t Number(const std::optional<std::string>& text);
// A steady-clock instant as wall time, "2026-01-31 12:00:00" (UTC), as PgBouncer shows times.
std::optional<std::string> WallTime(Clock::time_point t);
int64_t Micros(Clock::duration d);
}  // namespace admin_text

}  // namespace pgtenant::proxy
