// Running a relay scenario whole and again split at every byte, Envoy-style: the client's writes
// cut in two at every point of their concatenation, and the server's answers cut into pieces of
// every small size. What the client receives and what the session is told must not change.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "protocol/frame_reader.h"
#include "tests/relay/relay_driver.h"

namespace pgtenant::relay::testing {

struct RunResult {
  std::string to_client;
  std::vector<std::string> events;  // without "release" / "end-of-transaction", which depend on timing
  bool forwarded_without_server = false;
};

struct RunOptions {
  size_t client_split = 0;  // 0: every write whole
  size_t server_split = 0;  // 0: every batch of answers whole
  bool shutdown_requested = false;
  Settings startup;  // the client's startup parameters
  Relay::Limits limits;
  std::vector<std::string> context_statements;  // a shared pool changing tenants (RelayDriver)
};

inline RunResult RunScenario(Relay::PoolMode mode, const std::vector<std::string>& writes, RunOptions options = {}) {
  RelayDriver driver(mode, options.server_split, options.limits);
  driver.shutdown_requested = options.shutdown_requested;
  driver.context_statements = options.context_statements;
  if (!options.startup.empty()) driver.Startup(options.startup);
  size_t offset = 0;
  for (const std::string& write : writes) {
    const size_t split = options.client_split;
    if (split > offset && split < offset + write.size()) {
      driver.ClientSends(std::string_view(write).substr(0, split - offset));
      driver.ClientSends(std::string_view(write).substr(split - offset));
    } else {
      driver.ClientSends(write);
    }
    offset += write.size();
  }
  RunResult result;
  result.to_client = driver.to_client;
  for (const std::string& e : driver.events)
    if (e != "release" && e != "end-of-transaction" && e != "await-context") result.events.push_back(e);
  result.forwarded_without_server = driver.forwarded_without_server;
  return result;
}

inline RunOptions WithStartup(Settings startup) {
  RunOptions options;
  options.startup = std::move(startup);
  return options;
}

// The baseline run; REQUIREs every split run to match it (bytes to the client only when
// `same_client_bytes`: a session that ends mid-read may end before or after answers arrive).
inline RunResult RunEverySplit(Relay::PoolMode mode, const std::vector<std::string>& writes,
                               bool same_client_bytes = true, const RunOptions& base = {}) {
  const RunResult whole = RunScenario(mode, writes, base);
  REQUIRE_FALSE(whole.forwarded_without_server);
  size_t total = 0;
  for (const std::string& w : writes) total += w.size();
  for (size_t split = 1; split < total; ++split) {
    RunOptions options = base;
    options.client_split = split;
    const RunResult r = RunScenario(mode, writes, options);
    INFO("client bytes split at " << split);
    REQUIRE_FALSE(r.forwarded_without_server);
    REQUIRE(r.events == whole.events);
    if (same_client_bytes) REQUIRE(r.to_client == whole.to_client);
  }
  for (size_t piece = 1; piece <= 8; ++piece) {
    RunOptions options = base;
    options.server_split = piece;
    const RunResult r = RunScenario(mode, writes, options);
    INFO("server answers cut every " << piece << " bytes");
    REQUIRE(r.events == whole.events);
    if (same_client_bytes) REQUIRE(r.to_client == whole.to_client);
  }
  return whole;
}

// The client's bytes as message tags: "1 2 T D C Z(I)", errors with their SQLSTATE: "E(42501)",
// ParameterStatus with its name and value: "S(timezone=UTC)".
inline std::string Tags(const std::string& bytes) {
  std::string out;
  size_t pos = 0;
  while (pos < bytes.size()) {
    auto d = protocol::DecodeFrameHeader(AsBytes(std::string_view(bytes).substr(pos)), protocol::kMaxMessageLength);
    if (d.status != protocol::DecodeStatus::kReady || bytes.size() - pos < d.header.total()) {
      out += out.empty() ? "<partial>" : " <partial>";
      break;
    }
    if (!out.empty()) out += ' ';
    out += static_cast<char>(d.header.tag);
    std::string_view body = std::string_view(bytes).substr(pos + 5, d.header.body_size());
    if (d.header.tag == 'Z' && !body.empty()) out += std::string("(") + body[0] + ")";
    if (d.header.tag == 'S') {  // ParameterStatus: S(name=value)
      const size_t nul = body.find('\0');
      out += "(" + std::string(body.substr(0, nul)) + "=" +
             std::string(body.substr(nul + 1, body.find('\0', nul + 1) - nul - 1)) + ")";
    }
    if (d.header.tag == 'E') {
      size_t c = body.find(std::string_view("\0C", 2));
      if (body.substr(0, 1) == "C") c = std::string_view::npos - 1;
      if (c != std::string_view::npos) {
        const size_t at = c == std::string_view::npos - 1 ? 1 : c + 2;
        out += "(" + std::string(body.substr(at, 5)) + ")";
      }
    }
    pos += d.header.total();
  }
  return out;
}

}  // namespace pgtenant::relay::testing

namespace pgtenant::relay::testing {
// The first column of every DataRow the client received, in order.
inline std::vector<std::string> FirstColumns(const std::string& bytes) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos + 5 <= bytes.size()) {
    auto d = protocol::DecodeFrameHeader(AsBytes(std::string_view(bytes).substr(pos)), protocol::kMaxMessageLength);
    if (d.status != protocol::DecodeStatus::kReady || bytes.size() - pos < d.header.total()) break;
    if (d.header.tag == 'D' && d.header.body_size() >= 6) {
      const std::string_view body = std::string_view(bytes).substr(pos + 5, d.header.body_size());
      const int32_t length = (static_cast<uint8_t>(body[2]) << 24) | (static_cast<uint8_t>(body[3]) << 16) |
                             (static_cast<uint8_t>(body[4]) << 8) | static_cast<uint8_t>(body[5]);
      out.push_back(length < 0 ? "NULL" : std::string(body.substr(6, static_cast<size_t>(length))));
    }
    pos += d.header.total();
  }
  return out;
}
}  // namespace pgtenant::relay::testing
