// Readers for where backends and instances live: backends.NAME.hosts, health_check: and peers:.
//
// Internal to config/ (exposes YamlDocument nodes through yaml_reader.h). Each reads one value with the
// loader's reader, so errors are located and the first one wins like everywhere else in the loader.
#pragma once

#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace pgtenant::config {

// backends.NAME.hosts: [ {host: H, port: P}, ... ]: at least one, none twice; port defaults to 5432.
std::vector<BackendHost> ReadBackendHosts(YamlReader& reader, const Field& field);

// Unix-domain socket hosts (a directory, as in libpq) of a backend read from `map`: each socket path
// fits a socket address, and sslmode does not demand TLS (a local socket is never encrypted).
void CheckSocketHosts(YamlReader& reader, const Mapping& map, const BackendConfig& backend);

// health_check: { interval: 5s, timeout: 2s } (both optional); its presence turns checks on.
HealthCheckConfig ReadHealthCheckSection(YamlReader& reader, const Field& field);

// peers: [ {id: N, address: "host:port"}, ... ]: ids 0..kMaxInstanceId, ids and addresses unique.
// IPv6 addresses are written in brackets: "[::1]:6432".
std::vector<PeerConfig> ReadPeersSection(YamlReader& reader, const Field& field);

}  // namespace pgtenant::config
