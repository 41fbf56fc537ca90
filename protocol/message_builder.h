// MessageBuilder and the Append* functions: every message pgtenant writes, to clients (as a server)
// and to PostgreSQL (as a client), appended to a std::string (PostgreSQL docs, "Message Formats").
//
// Nothing here does I/O; callers queue the bytes. Strings written as protocol "String" fields
// (CString) are cut at their first NUL so a value can never inject extra fields.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/error_fields.h"
#include "protocol/status.h"
#include "protocol/wire.h"

namespace pgtenant::protocol {

// Builds one message at the end of `out`: Begin() writes the tag and a placeholder length, the field
// calls append big-endian fields, End() patches the length. Not thread-safe; `out` must outlive the
// builder and must not be modified by anyone else between Begin() and End().
// REQUIRES: Begin() before any field; End() once per Begin(); the message fits in int32.
class MessageBuilder {
 public:
  explicit MessageBuilder(std::string& out) : out_(out) {}

  // Inline: the hot paths (a shared pool's context switch, Bind rewrites) write a message per
  // transaction, a few bytes per call.
  MessageBuilder& Begin(uint8_t tag) {  // tag 0 = untyped (startup / cancel / SSL request packets)
    if (tag != 0) out_.push_back(static_cast<char>(tag));
    length_offset_ = out_.size();
    out_.append(4, '\0');
    return *this;
  }
  MessageBuilder& Begin(BackendTag tag) { return Begin(static_cast<uint8_t>(tag)); }
  MessageBuilder& Begin(FrontendTag tag) { return Begin(static_cast<uint8_t>(tag)); }
  MessageBuilder& Int8(uint8_t v) {
    out_.push_back(static_cast<char>(v));
    return *this;
  }
  MessageBuilder& Int16(int16_t v) {
    const auto u = static_cast<uint16_t>(v);
    const char bytes[2] = {static_cast<char>(u >> 8), static_cast<char>(u & 0xff)};
    out_.append(bytes, sizeof bytes);
    return *this;
  }
  MessageBuilder& Int32(int32_t v) {
    const auto u = static_cast<uint32_t>(v);
    const char bytes[4] = {static_cast<char>(u >> 24), static_cast<char>((u >> 16) & 0xff),
                           static_cast<char>((u >> 8) & 0xff), static_cast<char>(u & 0xff)};
    out_.append(bytes, sizeof bytes);
    return *this;
  }
  MessageBuilder& CString(std::string_view s) {  // bytes up to the first NUL, then a NUL
    out_.append(s.substr(0, s.find('\0')));
    out_.push_back('\0');
    return *this;
  }
  MessageBuilder& Bytes(std::span<const uint8_t> bytes) {
    out_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return *this;
  }
  MessageBuilder& Bytes(std::string_view bytes) {
    out_.append(bytes);
    return *this;
  }
  void End() { End(0); }
  // End() of a message whose last `bytes_to_follow` bytes the caller passes on after it (streamed
  // from a client's message unchanged): the length counts them, `out` does not hold them yet.
  void End(size_t bytes_to_follow) {
    const auto length = static_cast<uint32_t>(out_.size() - length_offset_ + bytes_to_follow);
    out_[length_offset_] = static_cast<char>(length >> 24);
    out_[length_offset_ + 1] = static_cast<char>((length >> 16) & 0xff);
    out_[length_offset_ + 2] = static_cast<char>((length >> 8) & 0xff);
    out_[length_offset_ + 3] = static_cast<char>(length & 0xff);
  }

 private:
  std::string& out_;
  size_t length_offset_ = 0;  // where the int32 length of the open message starts
};

// Backend messages (pgtenant as a server).
void AppendErrorResponse(std::string& out, const ErrorFields& e);   // S, V (same severity), C, M, D?, H?, P?, terminator
// The ErrorResponse of every failure a client sees: `why`'s SQLSTATE (XX000 if it has none), message
// and hint, with `severity` "ERROR" or "FATAL".
inline constexpr std::string_view kSeverityError = "ERROR";
inline constexpr std::string_view kSeverityFatal = "FATAL";
void AppendErrorResponse(std::string& out, const Status& why, std::string_view severity = kSeverityError);
void AppendNoticeResponse(std::string& out, const ErrorFields& e);  // same fields, tag 'N'
void AppendAuthenticationOk(std::string& out);
void AppendAuthenticationCleartext(std::string& out);
void AppendAuthenticationMd5(std::string& out, std::span<const uint8_t, 4> salt);
void AppendAuthenticationSasl(std::string& out, const std::vector<std::string>& mechanisms);
void AppendAuthenticationSaslContinue(std::string& out, std::string_view data);
void AppendAuthenticationSaslFinal(std::string& out, std::string_view data);
void AppendParameterStatus(std::string& out, std::string_view name, std::string_view value);
void AppendBackendKeyData(std::string& out, int32_t pid, int32_t key);
void AppendReadyForQuery(std::string& out, TransactionStatus status);
// newest_minor: the newest minor version of protocol 3 supported (0); unrecognized: "_pq_." options not honoured.
void AppendNegotiateProtocolVersion(std::string& out, int32_t newest_minor, const std::vector<std::string>& unrecognized);
// Every column has type text (oid 25), no table, text format.
void AppendRowDescription(std::string& out, const std::vector<std::string>& text_columns);
void AppendDataRow(std::string& out, const std::vector<std::optional<std::string>>& values);  // nullopt = SQL NULL
void AppendCommandComplete(std::string& out, std::string_view tag);
void AppendEmptyQueryResponse(std::string& out);
void AppendParseComplete(std::string& out);
void AppendBindComplete(std::string& out);
void AppendCloseComplete(std::string& out);

// Frontend messages (pgtenant as a client of PostgreSQL).
void AppendStartupMessage(std::string& out, const std::vector<std::pair<std::string, std::string>>& params);  // 3.0
void AppendSslRequest(std::string& out);
void AppendCancelRequest(std::string& out, int32_t pid, int32_t key);
void AppendPasswordMessage(std::string& out, std::string_view password);  // 'p' + String
void AppendSaslInitialResponse(std::string& out, std::string_view mechanism, std::string_view data);  // 'p', String, Int32 len, data
void AppendSaslResponse(std::string& out, std::string_view data);  // 'p', raw data
void AppendQuery(std::string& out, std::string_view sql);
// The head of a Bind: tag, length, portal and statement names; the rest of the message (parameter
// formats and values, result formats: `rest_length` bytes) the caller passes on after it unchanged.
void AppendBindHead(std::string& out, std::string_view portal, std::string_view statement, size_t rest_length);
void AppendSync(std::string& out);
void AppendTerminate(std::string& out);

}  // namespace pgtenant::protocol
