// MessageReader and the Parse* functions: reading the fields of a received message body (the bytes
// after the 5-byte header; see DecodeMessage in protocol/frame_reader.h).
//
// Views returned by MessageReader point into the body; the caller keeps it alive. Parse* functions
// copy what they return. All parse errors are Status with SQLSTATE 08P01 and a message naming the
// message and what is wrong. Everything here is pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/error_fields.h"
#include "protocol/status.h"
#include "protocol/wire.h"

namespace pgtenant::protocol {

// Bounds-checked big-endian cursor. Every read returns false, and reads (and moves) nothing, when the
// field does not fit in what remains.
class MessageReader {
 public:
  explicit MessageReader(std::span<const uint8_t> body);

  bool Int8(uint8_t& v);
  bool Int16(int16_t& v);
  bool Int32(int32_t& v);
  bool CString(std::string_view& s);  // up to the next NUL (excluded); false if there is no NUL
  bool Bytes(size_t n, std::span<const uint8_t>& bytes);

  size_t remaining() const { return body_.size() - pos_; }
  bool AtEnd() const { return remaining() == 0; }
  // The unread bytes; consumes them (remaining() is 0 afterwards).
  std::span<const uint8_t> Rest();

 private:
  std::span<const uint8_t> body_;
  size_t pos_ = 0;
};

// ErrorResponse or NoticeResponse. Severity from 'V' if present, else 'S'. Fields other than
// S, V, C, M, D, H, P are skipped. Requires the terminating NUL as the last byte.
Result<ErrorFields> ParseErrorResponse(std::span<const uint8_t> body);

// Authentication ('R'). data: md5 = the 4-byte salt; SASL = the raw mechanism list (see
// ParseSaslMechanisms); SASLContinue / SASLFinal = the server's SCRAM data; Ok / cleartext = empty.
// Request codes pgtenant does not implement (Kerberos, GSS, SSPI, ...) are an error.
struct AuthenticationMessage {
  AuthRequest request = AuthRequest::kOk;
  std::vector<uint8_t> data;
};
Result<AuthenticationMessage> ParseAuthentication(std::span<const uint8_t> body);

// The mechanism list of AuthenticationSASL: Strings ending with an empty String. At least one.
Result<std::vector<std::string>> ParseSaslMechanisms(std::span<const uint8_t> data);

Result<std::pair<std::string, std::string>> ParseParameterStatus(std::span<const uint8_t> body);  // name, value
Result<std::pair<int32_t, int32_t>> ParseBackendKeyData(std::span<const uint8_t> body);          // pid, key
Result<TransactionStatus> ParseReadyForQuery(std::span<const uint8_t> body);

// Client 'p' messages: the proxy knows from its own state which one it expects.
// PasswordMessage: cleartext password or MD5 response (one String filling the body).
Result<std::string> ParsePasswordMessage(std::span<const uint8_t> body);

// SASLInitialResponse: mechanism String, Int32 data length (-1 = no data, returned as empty), data.
struct SaslInitialResponse {
  std::string mechanism;
  std::string data;
};
Result<SaslInitialResponse> ParseSaslInitialResponse(std::span<const uint8_t> body);

// SASLResponse: the whole body is the client's SCRAM data (no framing inside).
std::string ParseSaslResponse(std::span<const uint8_t> body);

}  // namespace pgtenant::protocol
