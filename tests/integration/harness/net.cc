// Loopback TCP for the integration suite: reachability and a raw wire-protocol client.
#include "tests/integration/harness/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace pgtenant::integration {
namespace {

// Protocol numbers (PostgreSQL "Message Formats").
constexpr uint32_t kProtocolVersion3 = 196608;
constexpr uint32_t kAuthOk = 0;
constexpr uint32_t kAuthSasl = 10;
constexpr uint32_t kAuthSaslContinue = 11;
constexpr uint32_t kAuthSaslFinal = 12;
constexpr size_t kHeaderSize = 5;
constexpr auto kLoginStep = std::chrono::seconds(10);  // the longest wait for each answer while logging in
constexpr size_t kScramKeySize = 32;

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

uint32_t ReadInt32(std::string_view bytes, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(bytes.at(at + i));
  return v;
}

std::string Base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Unbase64(std::string_view text) {
  std::string out(3 * (text.size() / 4) + 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) throw std::runtime_error("bad base64 from server");
  size_t size = static_cast<size_t>(n);
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --size;  // EVP_DecodeBlock keeps padding bytes
  out.resize(size);
  return out;
}

std::string Hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &size);
  return std::string(reinterpret_cast<char*>(out), size);
}

std::string Sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
}

// The value of attribute `name` ("r", "s", "i") in a SCRAM message such as "r=...,s=...,i=4096".
std::string ScramAttribute(const std::string& message, char name) {
  size_t at = 0;
  while (at < message.size()) {
    size_t end = message.find(',', at);
    if (end == std::string::npos) end = message.size();
    if (end - at >= 2 && message[at] == name && message[at + 1] == '=') return message.substr(at + 2, end - at - 2);
    at = end + 1;
  }
  throw std::runtime_error("SCRAM message without '" + std::string(1, name) + "': " + message);
}

}  // namespace

bool CanConnect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr = Loopback(port);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::map<char, std::string> ParseErrorFields(std::string_view body) {
  std::map<char, std::string> fields;
  size_t at = 0;
  while (at < body.size() && body[at] != '\0') {
    const char code = body[at++];
    const size_t end = body.find('\0', at);
    if (end == std::string_view::npos) break;
    fields[code] = std::string(body.substr(at, end - at));
    at = end + 1;
  }
  return fields;
}

std::string Int32(uint32_t value) {
  std::string out(4, '\0');
  for (int i = 3; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

std::string StartupPacket(const std::vector<std::pair<std::string, std::string>>& parameters) {
  std::string body = Int32(kProtocolVersion3);
  for (const auto& [name, value] : parameters) {
    body += name;
    body += '\0';
    body += value;
    body += '\0';
  }
  body += '\0';
  return Int32(static_cast<uint32_t>(body.size() + 4)) + body;
}

std::string Message(char type, std::string_view body) {
  return std::string(1, type) + Int32(static_cast<uint32_t>(body.size() + 4)) + std::string(body);
}

RawClient::RawClient(int port) {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error(std::string("socket: ") + strerror(errno));
  sockaddr_in addr = Loopback(port);
  if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const std::string reason = strerror(errno);
    close(fd_);
    throw std::runtime_error("connect 127.0.0.1:" + std::to_string(port) + ": " + reason);
  }
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawClient::~RawClient() { close(fd_); }

bool RawClient::Send(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::optional<BackendMessage> RawClient::Read(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (buffer_.size() >= kHeaderSize) {
      const uint32_t length = ReadInt32(buffer_, 1);
      if (length < 4) throw std::runtime_error("backend message with length " + std::to_string(length));
      if (buffer_.size() >= 1 + static_cast<size_t>(length)) {
        BackendMessage message{buffer_[0], buffer_.substr(kHeaderSize, length - 4)};
        buffer_.erase(0, 1 + static_cast<size_t>(length));
        return message;
      }
    }
    if (closed_) return std::nullopt;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{fd_, POLLIN, 0};
    const int ready = poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;  // the deadline check above ends the loop
    char chunk[65536];
    const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      closed_ = true;
    }
  }
}

std::optional<std::map<char, std::string>> RawClient::ReadError(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto message = Read(std::max(left, std::chrono::milliseconds(0)));
    if (!message) return std::nullopt;
    if (message->type == 'E') return ParseErrorFields(message->body);
  }
}

bool RawClient::WaitForClose(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!closed_ && std::chrono::steady_clock::now() < deadline) {
    buffer_.clear();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    (void)Read(std::max(left, std::chrono::milliseconds(1)));
  }
  return closed_;
}

BackendMessage RawClient::Expect(char type, std::chrono::milliseconds timeout) {
  auto message = Read(timeout);
  if (!message) throw std::runtime_error(std::string("expected message '") + type + "', got " + (closed_ ? "EOF" : "timeout"));
  if (message->type != type && message->type != 'E') {
    throw std::runtime_error(std::string("expected message '") + type + "', got '" + message->type + "'");
  }
  return *message;
}

std::map<char, std::string> RawClient::Login(const std::string& user, const std::string& password,
                                             const std::string& database) {
  std::map<char, std::string> refused = BeginLogin(user, database);
  if (!refused.empty()) return refused;
  return FinishLogin(password);
}

std::map<char, std::string> RawClient::BeginLogin(const std::string& user, const std::string& database) {
  if (!Send(StartupPacket({{"user", user}, {"database", database}}))) throw std::runtime_error("send startup failed");
  BackendMessage auth = Expect('R', kLoginStep);
  if (auth.type == 'E') return ParseErrorFields(auth.body);
  login_request_ = std::move(auth);
  return {};
}

std::map<char, std::string> RawClient::FinishLogin(const std::string& password) {
  if (!login_request_) throw std::runtime_error("FinishLogin without a BeginLogin that was answered");
  BackendMessage auth = *std::exchange(login_request_, std::nullopt);
  if (ReadInt32(auth.body, 0) == kAuthSasl) {
    unsigned char nonce_bytes[18];
    RAND_bytes(nonce_bytes, sizeof nonce_bytes);
    const std::string client_nonce = Base64(std::string_view(reinterpret_cast<char*>(nonce_bytes), sizeof nonce_bytes));
    const std::string client_first_bare = "n=,r=" + client_nonce;
    const std::string client_first = "n,," + client_first_bare;
    std::string initial = std::string("SCRAM-SHA-256") + '\0' + Int32(static_cast<uint32_t>(client_first.size())) + client_first;
    if (!Send(Message('p', initial))) throw std::runtime_error("send SASLInitialResponse failed");

    BackendMessage server_first_message = Expect('R', kLoginStep);
    if (server_first_message.type == 'E') return ParseErrorFields(server_first_message.body);
    if (ReadInt32(server_first_message.body, 0) != kAuthSaslContinue) throw std::runtime_error("expected SASLContinue");
    const std::string server_first = server_first_message.body.substr(4);
    const std::string nonce = ScramAttribute(server_first, 'r');
    const std::string salt = Unbase64(ScramAttribute(server_first, 's'));
    const int iterations = std::stoi(ScramAttribute(server_first, 'i'));
    if (!nonce.starts_with(client_nonce)) throw std::runtime_error("server nonce does not extend the client's");

    unsigned char salted[kScramKeySize];
    PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                      reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()), iterations,
                      EVP_sha256(), sizeof salted, salted);
    const std::string salted_password(reinterpret_cast<char*>(salted), sizeof salted);
    const std::string client_key = Hmac(salted_password, "Client Key");
    const std::string stored_key = Sha256(client_key);
    const std::string client_final_without_proof = "c=biws,r=" + nonce;
    const std::string auth_message = client_first_bare + "," + server_first + "," + client_final_without_proof;
    std::string proof = Hmac(stored_key, auth_message);
    for (size_t i = 0; i < proof.size(); ++i) proof[i] = static_cast<char>(proof[i] ^ client_key[i]);
    if (!Send(Message('p', client_final_without_proof + ",p=" + Base64(proof)))) {
      throw std::runtime_error("send SASLResponse failed");
    }

    BackendMessage final_message = Expect('R', kLoginStep);
    if (final_message.type == 'E') return ParseErrorFields(final_message.body);
    if (ReadInt32(final_message.body, 0) != kAuthSaslFinal) throw std::runtime_error("expected SASLFinal");
    auth = Expect('R', kLoginStep);
    if (auth.type == 'E') return ParseErrorFields(auth.body);
  }
  if (ReadInt32(auth.body, 0) != kAuthOk) {
    throw std::runtime_error("unsupported authentication request " + std::to_string(ReadInt32(auth.body, 0)));
  }
  for (;;) {
    auto message = Read(kLoginStep);
    if (!message) throw std::runtime_error("no ReadyForQuery after AuthenticationOk");
    if (message->type == 'E') return ParseErrorFields(message->body);
    if (message->type == 'K' && message->body.size() == 8) {
      backend_key_ = {static_cast<int32_t>(ReadInt32(message->body, 0)), static_cast<int32_t>(ReadInt32(message->body, 4))};
    }
    if (message->type == 'Z') return {};
  }
}

}  // namespace pgtenant::integration
