// The admin console's SHOW answers: columns and rows, sent as RowDescription, the DataRows (text
// format) and CommandComplete "SHOW". Column names follow PgBouncer's console where the concepts
// match (SHOW POOLS: cl_active, cl_waiting, sv_active, sv_idle, sv_login, maxwait, maxwait_us,
// pool_mode); counts are int8 columns, everything else text. Nothing shown is a secret: no
// passwords, tokens or query text.
//
// SHOW BACKENDS has one row per host of each backend: its health (up, down, unknown; why and since
// when it is down) and whether new server connections go to it.
#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

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
  void Add(Row values) {
    values.resize(columns_.size());
    rows_.push_back(std::move(values));
  }
  void Write(std::string& out) const;

  // Every worker's part of the same SHOW as one table. With `key_columns` 0 the rows are
  // concatenated; otherwise rows equal in their first `key_columns` columns become one: the
  // first worker's, with the `sum` columns added up and the `max` columns at their maximum.
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
void ShowBackends(ProxyServer& proxy, Table& rows);
void ShowStats(ProxyServer& proxy, Table& rows);
void ShowConfig(ProxyServer& proxy, Table& rows);
void ShowVersion(ProxyServer& proxy, Table& rows);

// (command, what it does), in the order SHOW HELP lists them.
const std::vector<std::pair<std::string, std::string>>& AdminCommandHelp();

}  // namespace pgtenant::proxy
