// Loopback TCP for the integration suite: reachability and a raw wire-protocol client.
//
// RawClient speaks just enough of the PostgreSQL frontend protocol (v3, "Message Formats") to send
// hand-made, possibly malformed packets and to read what comes back, including a SCRAM-SHA-256 login
// (RFC 5802/7677, no channel binding) so malformed messages can be sent after authentication.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/integration/harness/free_port.h"

namespace pgtenant::integration {

// True when 127.0.0.1:port accepts a TCP connection.
bool CanConnect(int port);

// One backend message: its type byte and its body (without the type and length).
struct BackendMessage {
  char type = 0;
  std::string body;
};

// ErrorResponse/NoticeResponse fields by code: 'S' severity, 'C' SQLSTATE, 'M' message, ...
std::map<char, std::string> ParseErrorFields(std::string_view body);

// Protocol builders.
std::string Int32(uint32_t value);
std::string StartupPacket(const std::vector<std::pair<std::string, std::string>>& parameters);
std::string Message(char type, std::string_view body);  // type + length + body

class RawClient {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error when it cannot.
  explicit RawClient(int port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Sends all bytes; false when the peer has gone (EPIPE/ECONNRESET).
  bool Send(std::string_view bytes);
  // The next whole message, or nullopt on EOF, reset or timeout (see closed()).
  std::optional<BackendMessage> Read(std::chrono::milliseconds timeout);
  // Reads until an ErrorResponse arrives; returns its fields, or nullopt if none came in time.
  std::optional<std::map<char, std::string>> ReadError(std::chrono::milliseconds timeout);
  // True once the peer closed the connection (read returned 0 or an error).
  bool closed() const { return closed_; }
  // Waits until the peer closes; true if it did within `timeout`.
  bool WaitForClose(std::chrono::milliseconds timeout);

  // Startup + SCRAM-SHA-256 (or trust) until ReadyForQuery. Returns the ErrorResponse fields if the
  // server refused, an empty map on success; throws on a protocol surprise or a timeout.
  std::map<char, std::string> Login(const std::string& user, const std::string& password, const std::string& database);
  // Login in two steps, for a test that acts in between: BeginLogin sends the startup packet and waits
  // for the first authentication request (the connection is accepted and logging in); FinishLogin
  // answers it and reads on to ReadyForQuery. Each returns what Login returns.
  std::map<char, std::string> BeginLogin(const std::string& user, const std::string& database);
  std::map<char, std::string> FinishLogin(const std::string& password);
  // The socket, for a test that drives it itself after Login (e.g. non-blocking, with poll).
  int fd() const { return fd_; }
  // The (process id, secret key) of the BackendKeyData the last successful Login received.
  std::optional<std::pair<int32_t, int32_t>> backend_key() const { return backend_key_; }

 private:
  BackendMessage Expect(char type, std::chrono::milliseconds timeout);

  int fd_ = -1;
  bool closed_ = false;
  std::string buffer_;
  std::optional<std::pair<int32_t, int32_t>> backend_key_;
  std::optional<BackendMessage> login_request_;  // BeginLogin's authentication request
};

}  // namespace pgtenant::integration
