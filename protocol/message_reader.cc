// Reading fields of received messages (PostgreSQL docs, "Message Formats").
#include "protocol/message_reader.h"

#include <charconv>
#include <cstring>

#include "protocol/sqlstate.h"

namespace pgtenant::protocol {
namespace {

Status Malformed(std::string_view message_name, std::string_view what) {
  return Status::Error(sqlstate::kProtocolViolation,
                       "malformed " + std::string(message_name) + " message: " + std::string(what));
}

std::string ToString(std::span<const uint8_t> bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

}  // namespace

MessageReader::MessageReader(std::span<const uint8_t> body) : body_(body) {}

bool MessageReader::Int8(uint8_t& v) {
  if (remaining() < 1) return false;
  v = body_[pos_++];
  return true;
}

bool MessageReader::Int16(int16_t& v) {
  if (remaining() < 2) return false;
  v = static_cast<int16_t>((uint16_t(body_[pos_]) << 8) | body_[pos_ + 1]);
  pos_ += 2;
  return true;
}

bool MessageReader::Int32(int32_t& v) {
  if (remaining() < 4) return false;
  const uint32_t u = (uint32_t(body_[pos_]) << 24) | (uint32_t(body_[pos_ + 1]) << 16) |
                     (uint32_t(body_[pos_ + 2]) << 8) | uint32_t(body_[pos_ + 3]);
  v = static_cast<int32_t>(u);
  pos_ += 4;
  return true;
}

bool MessageReader::CString(std::string_view& s) {
  if (remaining() == 0) return false;  // also keeps memchr away from a null data()
  const uint8_t* start = body_.data() + pos_;
  const void* nul = std::memchr(start, 0, remaining());
  if (nul == nullptr) return false;
  const size_t n = static_cast<size_t>(static_cast<const uint8_t*>(nul) - start);
  s = std::string_view(reinterpret_cast<const char*>(start), n);
  pos_ += n + 1;
  return true;
}

bool MessageReader::Bytes(size_t n, std::span<const uint8_t>& bytes) {
  if (remaining() < n) return false;
  bytes = body_.subspan(pos_, n);
  pos_ += n;
  return true;
}

std::span<const uint8_t> MessageReader::Rest() {
  std::span<const uint8_t> rest = body_.subspan(pos_);
  pos_ = body_.size();
  return rest;
}

Result<ErrorFields> ParseErrorResponse(std::span<const uint8_t> body) {
  constexpr std::string_view kName = "ErrorResponse/NoticeResponse";
  MessageReader reader(body);
  ErrorFields fields;
  std::string severity_s, severity_v;
  bool have_v = false;
  for (;;) {
    uint8_t type = 0;
    if (!reader.Int8(type)) return Malformed(kName, "missing terminator");
    if (type == 0) break;
    std::string_view value;
    if (!reader.CString(value)) return Malformed(kName, "unterminated field");
    switch (type) {
      case 'S': severity_s = value; break;
      case 'V': severity_v = value; have_v = true; break;
      case 'C': fields.sqlstate = value; break;
      case 'M': fields.message = value; break;
      case 'D': fields.detail = value; break;
      case 'H': fields.hint = value; break;
      case 'P': (void)std::from_chars(value.data(), value.data() + value.size(), fields.position); break;
      default: break;  // where, schema, ...: not needed by pgtenant
    }
  }
  if (!reader.AtEnd()) return Malformed(kName, "data after terminator");
  fields.severity = have_v ? severity_v : severity_s;
  return fields;
}

Result<AuthenticationMessage> ParseAuthentication(std::span<const uint8_t> body) {
  constexpr std::string_view kName = "Authentication";
  MessageReader reader(body);
  int32_t code = 0;
  if (!reader.Int32(code)) return Malformed(kName, "missing request code");
  AuthenticationMessage message;
  switch (static_cast<AuthRequest>(code)) {
    case AuthRequest::kOk:
    case AuthRequest::kCleartextPassword:
      if (!reader.AtEnd()) return Malformed(kName, "unexpected data");
      break;
    case AuthRequest::kMd5Password: {
      std::span<const uint8_t> salt;
      if (!reader.Bytes(4, salt) || !reader.AtEnd()) return Malformed(kName, "MD5 salt must be 4 bytes");
      message.data.assign(salt.begin(), salt.end());
      break;
    }
    case AuthRequest::kSasl:
    case AuthRequest::kSaslContinue:
    case AuthRequest::kSaslFinal: {
      std::span<const uint8_t> rest = reader.Rest();
      message.data.assign(rest.begin(), rest.end());
      break;
    }
    default:
      return Status::Error(sqlstate::kProtocolViolation,
                           "unsupported authentication request code " + std::to_string(code));
  }
  message.request = static_cast<AuthRequest>(code);
  return message;
}

Result<std::vector<std::string>> ParseSaslMechanisms(std::span<const uint8_t> data) {
  constexpr std::string_view kName = "AuthenticationSASL";
  MessageReader reader(data);
  std::vector<std::string> mechanisms;
  for (;;) {
    std::string_view mechanism;
    if (!reader.CString(mechanism)) return Malformed(kName, "missing terminator");
    if (mechanism.empty()) break;
    mechanisms.emplace_back(mechanism);
  }
  if (!reader.AtEnd()) return Malformed(kName, "data after terminator");
  if (mechanisms.empty()) return Malformed(kName, "no mechanisms");
  return mechanisms;
}

Result<std::pair<std::string, std::string>> ParseParameterStatus(std::span<const uint8_t> body) {
  constexpr std::string_view kName = "ParameterStatus";
  MessageReader reader(body);
  std::string_view name, value;
  if (!reader.CString(name)) return Malformed(kName, "unterminated name");
  if (!reader.CString(value)) return Malformed(kName, "unterminated value");
  if (!reader.AtEnd()) return Malformed(kName, "unexpected data");
  return std::pair<std::string, std::string>(name, value);
}

Result<std::pair<int32_t, int32_t>> ParseBackendKeyData(std::span<const uint8_t> body) {
  MessageReader reader(body);
  int32_t pid = 0, key = 0;
  if (!reader.Int32(pid) || !reader.Int32(key) || !reader.AtEnd()) {
    return Malformed("BackendKeyData", "expected 8 bytes, got " + std::to_string(body.size()));
  }
  return std::pair<int32_t, int32_t>(pid, key);
}

Result<TransactionStatus> ParseReadyForQuery(std::span<const uint8_t> body) {
  constexpr std::string_view kName = "ReadyForQuery";
  MessageReader reader(body);
  uint8_t status = 0;
  if (!reader.Int8(status) || !reader.AtEnd()) return Malformed(kName, "expected 1 byte, got " + std::to_string(body.size()));
  switch (static_cast<TransactionStatus>(status)) {
    case TransactionStatus::kIdle:
    case TransactionStatus::kInTransaction:
    case TransactionStatus::kFailed:
      return static_cast<TransactionStatus>(status);
  }
  return Malformed(kName, "invalid transaction status " + std::to_string(status));
}

Result<std::string> ParsePasswordMessage(std::span<const uint8_t> body) {
  constexpr std::string_view kName = "PasswordMessage";
  MessageReader reader(body);
  std::string_view password;
  if (!reader.CString(password)) return Malformed(kName, "unterminated password");
  if (!reader.AtEnd()) return Malformed(kName, "data after password");
  return std::string(password);
}

Result<SaslInitialResponse> ParseSaslInitialResponse(std::span<const uint8_t> body) {
  constexpr std::string_view kName = "SASLInitialResponse";
  MessageReader reader(body);
  std::string_view mechanism;
  int32_t length = 0;
  if (!reader.CString(mechanism)) return Malformed(kName, "unterminated mechanism");
  if (!reader.Int32(length)) return Malformed(kName, "missing data length");
  SaslInitialResponse response;
  response.mechanism = mechanism;
  if (length < -1) return Malformed(kName, "invalid data length " + std::to_string(length));
  if (length >= 0) {
    std::span<const uint8_t> data;
    if (!reader.Bytes(static_cast<size_t>(length), data)) return Malformed(kName, "truncated data");
    response.data = ToString(data);
  }
  if (!reader.AtEnd()) return Malformed(kName, "data after the declared length");
  return response;
}

std::string ParseSaslResponse(std::span<const uint8_t> body) { return ToString(body); }

}  // namespace pgtenant::protocol
