// Readers for backends.NAME.hosts, health_check: and peers: (config_loader_backends.h).
#include "config/config_loader_backends.h"

#include <algorithm>
#include <string>

#include "config/config_loader.h"
#include "config/value_parsers.h"

namespace pgtenant::config {

namespace {

constexpr Duration kPositive{1};
constexpr int kDefaultPostgresPort = 5432;

// "host:port" or "[v6 address]:port" into a peer's host and port; false after reporting an error.
bool ParseAddress(YamlReader& reader, const Field& field, const std::string& text, PeerConfig& peer) {
  std::string host;
  std::string port;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close != std::string::npos && close + 1 < text.size() && text[close + 1] == ':') {
      host = text.substr(1, close - 1);
      port = text.substr(close + 2);
    }
  } else if (const size_t colon = text.rfind(':'); colon != std::string::npos && text.find(':') == colon) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  Result<int64_t> number = ParseInteger(port);
  if (host.empty() || !number.ok() || *number < 1 || *number > 65535) {
    reader.Fail(field, "expected host:port (IPv6 as [address]:port, port 1..65535), got " + Quoted(text));
    return false;
  }
  peer.host = std::move(host);
  peer.port = static_cast<int>(*number);
  return true;
}

}  // namespace

std::vector<BackendHost> ReadBackendHosts(YamlReader& reader, const Field& field) {
  const std::vector<Field> items = reader.ReadSequence(field);
  if (!reader.failed() && items.empty()) reader.Fail(field, "must list at least one host");
  std::vector<BackendHost> hosts;
  for (const Field& item : items) {
    const Mapping map = reader.ReadMapping(item, ConfigSection::kBackendHost, {"host"});
    if (reader.failed()) break;
    BackendHost host;
    host.port = kDefaultPostgresPort;
    if (auto f = map.Get("host")) SetIfPresent(host.host, reader.ReadNonEmptyString(*f));
    if (auto f = map.Get("port")) SetIfPresent(host.port, reader.ReadInt(*f, 1, 65535));
    if (reader.failed()) break;
    if (std::find(hosts.begin(), hosts.end(), host) != hosts.end()) {
      reader.Fail(item, DescribeAddress(host.host, host.port) + " is listed twice");
      break;
    }
    hosts.push_back(std::move(host));
  }
  return hosts;
}

void CheckSocketHosts(YamlReader& reader, const Mapping& map, const BackendConfig& backend) {
  const std::optional<Field> where = map.Get("hosts") ? map.Get("hosts") : map.Get("host");
  for (const BackendHost& host : backend.hosts) {
    if (!IsSocketDirectory(host.host) || !where || reader.failed()) continue;
    const std::string path = SocketPath(host.host, host.port);
    if (path.size() > kMaxSocketPathBytes) {
      reader.Fail(*where, "socket path " + Quoted(path) + " is longer than " + std::to_string(kMaxSocketPathBytes) +
                              " bytes, more than a Unix-domain socket address holds; use a shorter directory");
    } else if (backend.sslmode != "disable" && backend.sslmode != "allow" && backend.sslmode != "prefer") {
      const Field mode = map.Get("sslmode") ? *map.Get("sslmode") : *where;
      reader.Fail(mode, "sslmode " + backend.sslmode + " demands TLS, but " + Quoted(host.host) +
                            " is a Unix-domain socket directory, which PostgreSQL never encrypts; "
                            "use sslmode: disable (or prefer) for it, or a TCP host");
    }
  }
}

HealthCheckConfig ReadHealthCheckSection(YamlReader& reader, const Field& field) {
  HealthCheckConfig health;
  health.enabled = true;
  if (field.node.IsNull()) return health;  // `health_check:` alone: on, with the defaults
  const Mapping map = reader.ReadMapping(field, ConfigSection::kHealthCheck);
  if (auto f = map.Get("interval")) SetIfPresent(health.interval, reader.ReadDuration(*f, kPositive));
  if (auto f = map.Get("timeout")) SetIfPresent(health.timeout, reader.ReadDuration(*f, kPositive));
  return health;
}

std::vector<PeerConfig> ReadPeersSection(YamlReader& reader, const Field& field) {
  const std::vector<Field> items = reader.ReadSequence(field);
  std::vector<PeerConfig> peers;
  for (const Field& item : items) {
    const Mapping map = reader.ReadMapping(item, ConfigSection::kPeer, {"id", "address"});
    if (reader.failed()) break;
    PeerConfig peer;
    const Field id_field = *map.Get("id");
    const Field address_field = *map.Get("address");
    std::optional<int> id = reader.ReadInt(id_field, 0, kMaxInstanceId);
    std::optional<std::string> address = reader.ReadNonEmptyString(address_field);
    if (!id || !address || !ParseAddress(reader, address_field, *address, peer)) break;
    peer.id = *id;
    for (const PeerConfig& other : peers) {
      if (other.id == peer.id) {
        reader.Fail(id_field, "instance id " + std::to_string(peer.id) + " is listed twice");
        return peers;
      }
      if (other.host == peer.host && other.port == peer.port) {
        reader.Fail(address_field, Quoted(*address) + " is listed twice (instance " + std::to_string(other.id) + ")");
        return peers;
      }
    }
    peers.push_back(std::move(peer));
  }
  return peers;
}

}  // namespace pgtenant::config
