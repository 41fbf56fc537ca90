// Writing protocol messages (PostgreSQL docs, "Message Formats"); integers are big-endian.
#include "protocol/message_builder.h"

#include "protocol/sqlstate.h"

namespace pgtenant::protocol {
namespace {

constexpr int32_t kTextTypeOid = 25;  // pg_type.oid of text
constexpr int16_t kTextFormat = 0;

void AppendErrorOrNotice(std::string& out, BackendTag tag, const ErrorFields& e) {
  MessageBuilder b(out);
  b.Begin(tag);
  b.Int8('S').CString(e.severity);
  b.Int8('V').CString(e.severity);
  b.Int8('C').CString(e.sqlstate);
  b.Int8('M').CString(e.message);
  if (!e.detail.empty()) b.Int8('D').CString(e.detail);
  if (!e.hint.empty()) b.Int8('H').CString(e.hint);
  if (e.position != 0) b.Int8('P').CString(std::to_string(e.position));
  b.Int8(0);
  b.End();
}

void AppendAuthentication(std::string& out, AuthRequest request, std::string_view data = {}) {
  MessageBuilder(out).Begin(BackendTag::kAuthentication).Int32(static_cast<int32_t>(request)).Bytes(data).End();
}

}  // namespace

void AppendErrorResponse(std::string& out, const ErrorFields& e) { AppendErrorOrNotice(out, BackendTag::kErrorResponse, e); }

void AppendErrorResponse(std::string& out, const Status& why, std::string_view severity) {
  ErrorFields e;
  e.severity = std::string(severity);
  e.sqlstate = why.sqlstate().empty() ? std::string(sqlstate::kInternalError) : why.sqlstate();
  e.message = why.message();
  e.hint = why.hint();
  AppendErrorResponse(out, e);
}

void AppendNoticeResponse(std::string& out, const ErrorFields& e) {
  AppendErrorOrNotice(out, BackendTag::kNoticeResponse, e);
}

void AppendAuthenticationOk(std::string& out) { AppendAuthentication(out, AuthRequest::kOk); }

void AppendAuthenticationCleartext(std::string& out) { AppendAuthentication(out, AuthRequest::kCleartextPassword); }

void AppendAuthenticationMd5(std::string& out, std::span<const uint8_t, 4> salt) {
  MessageBuilder(out)
      .Begin(BackendTag::kAuthentication)
      .Int32(static_cast<int32_t>(AuthRequest::kMd5Password))
      .Bytes(std::span<const uint8_t>(salt))
      .End();
}

void AppendAuthenticationSasl(std::string& out, const std::vector<std::string>& mechanisms) {
  MessageBuilder b(out);
  b.Begin(BackendTag::kAuthentication).Int32(static_cast<int32_t>(AuthRequest::kSasl));
  for (const auto& mechanism : mechanisms) b.CString(mechanism);
  b.Int8(0);
  b.End();
}

void AppendAuthenticationSaslContinue(std::string& out, std::string_view data) {
  AppendAuthentication(out, AuthRequest::kSaslContinue, data);
}

void AppendAuthenticationSaslFinal(std::string& out, std::string_view data) {
  AppendAuthentication(out, AuthRequest::kSaslFinal, data);
}

void AppendParameterStatus(std::string& out, std::string_view name, std::string_view value) {
  MessageBuilder(out).Begin(BackendTag::kParameterStatus).CString(name).CString(value).End();
}

void AppendBackendKeyData(std::string& out, int32_t pid, int32_t key) {
  MessageBuilder(out).Begin(BackendTag::kBackendKeyData).Int32(pid).Int32(key).End();
}

void AppendReadyForQuery(std::string& out, TransactionStatus status) {
  MessageBuilder(out).Begin(BackendTag::kReadyForQuery).Int8(static_cast<uint8_t>(status)).End();
}

void AppendNegotiateProtocolVersion(std::string& out, int32_t newest_minor, const std::vector<std::string>& unrecognized) {
  MessageBuilder b(out);
  b.Begin(BackendTag::kNegotiateProtocolVersion).Int32(newest_minor).Int32(static_cast<int32_t>(unrecognized.size()));
  for (const auto& option : unrecognized) b.CString(option);
  b.End();
}

void AppendRowDescription(std::string& out, const std::vector<std::string>& text_columns) {
  MessageBuilder b(out);
  b.Begin(BackendTag::kRowDescription).Int16(static_cast<int16_t>(text_columns.size()));
  for (const auto& name : text_columns) {
    b.CString(name);
    b.Int32(0);             // table oid: not a table column
    b.Int16(0);             // column attribute number
    b.Int32(kTextTypeOid);  // type oid
    b.Int16(-1);            // typlen: variable
    b.Int32(-1);            // typmod: none
    b.Int16(kTextFormat);
  }
  b.End();
}

void AppendDataRow(std::string& out, const std::vector<std::optional<std::string>>& values) {
  MessageBuilder b(out);
  b.Begin(BackendTag::kDataRow).Int16(static_cast<int16_t>(values.size()));
  for (const auto& value : values) {
    if (!value) {
      b.Int32(-1);
    } else {
      b.Int32(static_cast<int32_t>(value->size())).Bytes(*value);
    }
  }
  b.End();
}

void AppendCommandComplete(std::string& out, std::string_view tag) {
  MessageBuilder(out).Begin(BackendTag::kCommandComplete).CString(tag).End();
}

void AppendEmptyQueryResponse(std::string& out) { MessageBuilder(out).Begin(BackendTag::kEmptyQueryResponse).End(); }

void AppendParseComplete(std::string& out) { MessageBuilder(out).Begin(BackendTag::kParseComplete).End(); }

void AppendBindComplete(std::string& out) { MessageBuilder(out).Begin(BackendTag::kBindComplete).End(); }

void AppendCloseComplete(std::string& out) { MessageBuilder(out).Begin(BackendTag::kCloseComplete).End(); }

void AppendStartupMessage(std::string& out, const std::vector<std::pair<std::string, std::string>>& params) {
  MessageBuilder b(out);
  b.Begin(0).Int32(kProtocolVersion3);
  for (const auto& [name, value] : params) b.CString(name).CString(value);
  b.Int8(0);
  b.End();
}

void AppendSslRequest(std::string& out) { MessageBuilder(out).Begin(0).Int32(kSslRequestCode).End(); }

void AppendCancelRequest(std::string& out, int32_t pid, int32_t key) {
  MessageBuilder(out).Begin(0).Int32(kCancelRequestCode).Int32(pid).Int32(key).End();
}

void AppendPasswordMessage(std::string& out, std::string_view password) {
  MessageBuilder(out).Begin(FrontendTag::kPassword).CString(password).End();
}

void AppendSaslInitialResponse(std::string& out, std::string_view mechanism, std::string_view data) {
  MessageBuilder(out)
      .Begin(FrontendTag::kPassword)
      .CString(mechanism)
      .Int32(static_cast<int32_t>(data.size()))
      .Bytes(data)
      .End();
}

void AppendSaslResponse(std::string& out, std::string_view data) {
  MessageBuilder(out).Begin(FrontendTag::kPassword).Bytes(data).End();
}

void AppendQuery(std::string& out, std::string_view sql) {
  MessageBuilder(out).Begin(FrontendTag::kQuery).CString(sql).End();
}

// Sized once: this runs on every execution of a prepared statement in transaction pooling.
void AppendBindHead(std::string& out, std::string_view portal, std::string_view statement, size_t rest_length) {
  out.reserve(out.size() + kHeaderSize + portal.size() + 1 + statement.size() + 1);
  MessageBuilder(out).Begin(FrontendTag::kBind).CString(portal).CString(statement).End(rest_length);
}

void AppendSync(std::string& out) { MessageBuilder(out).Begin(FrontendTag::kSync).End(); }

void AppendTerminate(std::string& out) { MessageBuilder(out).Begin(FrontendTag::kTerminate).End(); }

}  // namespace pgtenant::protocol
