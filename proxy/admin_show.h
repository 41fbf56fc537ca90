// The admin console's SHOW answers: each appends RowDescription, the DataRows (text format) and
// CommandComplete "SHOW" to `out`. Column names follow PgBouncer's console where the concepts
// match (SHOW POOLS: cl_active, cl_waiting, sv_active, sv_idle, sv_login, maxwait, maxwait_us,
// pool_mode); counts are int8 columns, everything else text. Nothing shown is a secret: no
// passwords, tokens or query text.
//
// SHOW BACKENDS has one row per host of each backend: its health (up, down, unknown; why and since
// when it is down) and whether new server connections go to it.
//
// REQUIRES: called on the loop thread (they read the proxy's sessions and pools).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace pgtenant::proxy {

class ProxyServer;

void ShowHelp(ProxyServer& proxy, std::string& out);
void ShowTenants(ProxyServer& proxy, std::string& out);
void ShowPools(ProxyServer& proxy, std::string& out);
void ShowClients(ProxyServer& proxy, std::string& out);
void ShowServers(ProxyServer& proxy, std::string& out);
void ShowBackends(ProxyServer& proxy, std::string& out);
void ShowStats(ProxyServer& proxy, std::string& out);
void ShowConfig(ProxyServer& proxy, std::string& out);
void ShowVersion(ProxyServer& proxy, std::string& out);

// (command, what it does), in the order SHOW HELP lists them.
const std::vector<std::pair<std::string, std::string>>& AdminCommandHelp();

}  // namespace pgtenant::proxy
