// Specification of MessageBuilder and the Append* functions: exact bytes for the simple messages,
// and every message round-trips through DecodeMessage and the readers.
#include "protocol/message_builder.h"

#include <catch2/catch.hpp>

#include <array>
#include <string>

#include "protocol/frame_reader.h"
#include "protocol/message_reader.h"
#include "protocol/startup_packet.h"

namespace pgtenant::protocol {
namespace {

using namespace std::string_literals;

std::span<const uint8_t> AsBytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Decodes the single message in `out`, checking it fills `out` exactly, and returns its body.
std::span<const uint8_t> OnlyMessage(const std::string& out, uint8_t tag) {
  MessageDecode d = DecodeMessage(AsBytes(out), kMaxMessageLength);
  REQUIRE(d.status == DecodeStatus::kReady);
  REQUIRE(d.consumed() == out.size());
  CHECK(d.header.tag == tag);
  return d.body;
}

std::string Text(std::span<const uint8_t> bytes) { return std::string(bytes.begin(), bytes.end()); }

TEST_CASE("MessageBuilder writes big-endian fields and patches the length", "[builder]") {
  std::string out = "prefix";
  MessageBuilder(out).Begin('x').Int8(0xfe).Int16(-2).Int32(0x01020304).CString("ab").Bytes(std::string_view("cd")).End();
  CHECK(out == "prefix" "x\0\0\0\x10\xfe\xff\xfe\x01\x02\x03\x04" "ab\0cd"s);
}

TEST_CASE("MessageBuilder with tag 0 writes an untyped packet whose length includes itself", "[builder]") {
  std::string out;
  MessageBuilder(out).Begin(0).Int32(kSslRequestCode).End();
  CHECK(out == "\0\0\0\x08\x04\xd2\x16\x2f"s);
}

TEST_CASE("CString cuts at an embedded NUL so no field can be injected", "[builder]") {
  std::string out;
  AppendErrorResponse(out, ErrorFields{"ERROR", "42501", "bad\0Mforged"s, "", ""});
  Result<ErrorFields> parsed = ParseErrorResponse(OnlyMessage(out, 'E'));
  REQUIRE(parsed.ok());
  CHECK(parsed->message == "bad");
}

TEST_CASE("Fixed messages have their exact bytes", "[builder]") {
  std::string out;
  AppendAuthenticationOk(out);
  CHECK(out == "R\0\0\0\x08\0\0\0\0"s);
  out.clear();
  AppendAuthenticationCleartext(out);
  CHECK(out == "R\0\0\0\x08\0\0\0\x03"s);
  out.clear();
  AppendReadyForQuery(out, TransactionStatus::kInTransaction);
  CHECK(out == "Z\0\0\0\x05T"s);
  out.clear();
  AppendSync(out);
  CHECK(out == "S\0\0\0\x04"s);
  out.clear();
  AppendTerminate(out);
  CHECK(out == "X\0\0\0\x04"s);
  out.clear();
  AppendEmptyQueryResponse(out);
  CHECK(out == "I\0\0\0\x04"s);
  out.clear();
  AppendQuery(out, "SELECT 1");
  CHECK(out == "Q\0\0\0\x0dSELECT 1\0"s);
  out.clear();
  AppendCommandComplete(out, "SHOW");
  CHECK(out == "C\0\0\0\x09SHOW\0"s);
  out.clear();
  AppendParseComplete(out);
  AppendBindComplete(out);
  AppendCloseComplete(out);
  CHECK(out == "1\0\0\0\x04" "2\0\0\0\x04" "3\0\0\0\x04"s);
}

TEST_CASE("A Bind head declares the length of the whole message, the streamed rest included", "[builder]") {
  // What the client sent: Bind of statement "client_s" to portal "p", one text parameter "42", no
  // result formats. The head is written again for the server's name; the rest passes unchanged.
  const std::string rest = "\0\0\0\x01\0\0\0\x02" "42\0\0"s;
  std::string client;
  MessageBuilder(client).Begin(FrontendTag::kBind).CString("p").CString("client_s").Bytes(std::string_view(rest)).End();
  std::string server;
  AppendBindHead(server, "p", "pgtenant_s7", rest.size());
  server += rest;
  MessageDecode d = DecodeMessage(AsBytes(server), kMaxMessageLength);
  REQUIRE(d.status == DecodeStatus::kReady);
  CHECK(d.consumed() == server.size());
  CHECK(d.header.tag == 'B');
  CHECK(Text(d.body) == "p\0pgtenant_s7\0"s + rest);
  CHECK(server.size() == client.size() - std::string("client_s").size() + std::string("pgtenant_s7").size());
}

TEST_CASE("ErrorResponse and NoticeResponse round-trip through ParseErrorResponse", "[builder]") {
  const ErrorFields full{"FATAL", "28000", "pgtenant: tenant required", "no tenant in user name", "connect as user.tenant"};
  const ErrorFields minimal{"ERROR", "42501", "blocked", "", ""};
  const ErrorFields positioned{"ERROR", "42601", "syntax error at or near \"COLLATE\"", "", "", 26};
  for (const ErrorFields& e : {full, minimal, positioned}) {
    std::string out;
    AppendErrorResponse(out, e);
    Result<ErrorFields> parsed = ParseErrorResponse(OnlyMessage(out, 'E'));
    REQUIRE(parsed.ok());
    CHECK(*parsed == e);
  }
  std::string notice;
  AppendNoticeResponse(notice, ErrorFields{"WARNING", "01000", "careful", "", "a hint"});
  Result<ErrorFields> parsed = ParseErrorResponse(OnlyMessage(notice, 'N'));
  REQUIRE(parsed.ok());
  CHECK(parsed->severity == "WARNING");
  CHECK(parsed->hint == "a hint");
}

TEST_CASE("A Status becomes an ErrorResponse with its SQLSTATE, message and hint, XX000 when it has none",
          "[builder]") {
  std::string out;
  AppendErrorResponse(out, Status::Error("53300", "too many", "wait"), kSeverityFatal);
  Result<ErrorFields> parsed = ParseErrorResponse(OnlyMessage(out, 'E'));
  REQUIRE(parsed.ok());
  CHECK(*parsed == ErrorFields{"FATAL", "53300", "too many", "", "wait"});
  out.clear();
  AppendErrorResponse(out, Status::Error("no code"));
  parsed = ParseErrorResponse(OnlyMessage(out, 'E'));
  REQUIRE(parsed.ok());
  CHECK(*parsed == ErrorFields{"ERROR", "XX000", "no code", "", ""});
}

TEST_CASE("ErrorResponse carries S and V with the same severity, then C, M", "[builder]") {
  std::string out;
  AppendErrorResponse(out, ErrorFields{"ERROR", "42501", "m", "", ""});
  CHECK(Text(OnlyMessage(out, 'E')) == "SERROR\0VERROR\0C42501\0Mm\0\0"s);
}

TEST_CASE("Authentication requests round-trip through ParseAuthentication", "[builder]") {
  const std::array<uint8_t, 4> salt = {0xde, 0xad, 0xbe, 0xef};
  std::string out;
  AppendAuthenticationMd5(out, salt);
  Result<AuthenticationMessage> md5 = ParseAuthentication(OnlyMessage(out, 'R'));
  REQUIRE(md5.ok());
  CHECK(md5->request == AuthRequest::kMd5Password);
  CHECK(md5->data == std::vector<uint8_t>(salt.begin(), salt.end()));

  out.clear();
  AppendAuthenticationSasl(out, {"SCRAM-SHA-256"});
  Result<AuthenticationMessage> sasl = ParseAuthentication(OnlyMessage(out, 'R'));
  REQUIRE(sasl.ok());
  CHECK(sasl->request == AuthRequest::kSasl);
  Result<std::vector<std::string>> mechanisms = ParseSaslMechanisms(sasl->data);
  REQUIRE(mechanisms.ok());
  CHECK(*mechanisms == std::vector<std::string>{"SCRAM-SHA-256"});

  out.clear();
  AppendAuthenticationSaslContinue(out, "r=abc,s=c2FsdA==,i=4096");
  Result<AuthenticationMessage> cont = ParseAuthentication(OnlyMessage(out, 'R'));
  REQUIRE(cont.ok());
  CHECK(cont->request == AuthRequest::kSaslContinue);
  CHECK(Text(cont->data) == "r=abc,s=c2FsdA==,i=4096");

  out.clear();
  AppendAuthenticationSaslFinal(out, "v=xyz");
  Result<AuthenticationMessage> final_message = ParseAuthentication(OnlyMessage(out, 'R'));
  REQUIRE(final_message.ok());
  CHECK(final_message->request == AuthRequest::kSaslFinal);
  CHECK(Text(final_message->data) == "v=xyz");

  out.clear();
  AppendAuthenticationOk(out);
  Result<AuthenticationMessage> ok = ParseAuthentication(OnlyMessage(out, 'R'));
  REQUIRE(ok.ok());
  CHECK(ok->request == AuthRequest::kOk);
  CHECK(ok->data.empty());
}

TEST_CASE("Session messages round-trip through their parsers", "[builder]") {
  std::string out;
  AppendParameterStatus(out, "server_version", "16.2");
  Result<std::pair<std::string, std::string>> status = ParseParameterStatus(OnlyMessage(out, 'S'));
  REQUIRE(status.ok());
  CHECK(status->first == "server_version");
  CHECK(status->second == "16.2");

  out.clear();
  AppendBackendKeyData(out, 123, -7);
  Result<std::pair<int32_t, int32_t>> key = ParseBackendKeyData(OnlyMessage(out, 'K'));
  REQUIRE(key.ok());
  CHECK(key->first == 123);
  CHECK(key->second == -7);

  for (TransactionStatus s : {TransactionStatus::kIdle, TransactionStatus::kInTransaction, TransactionStatus::kFailed}) {
    out.clear();
    AppendReadyForQuery(out, s);
    Result<TransactionStatus> parsed = ParseReadyForQuery(OnlyMessage(out, 'Z'));
    REQUIRE(parsed.ok());
    CHECK(*parsed == s);
  }
}

TEST_CASE("Client password messages round-trip through their parsers", "[builder]") {
  std::string out;
  AppendPasswordMessage(out, "md598a0412b9c31436fc53776e863350083");
  Result<std::string> password = ParsePasswordMessage(OnlyMessage(out, 'p'));
  REQUIRE(password.ok());
  CHECK(*password == "md598a0412b9c31436fc53776e863350083");

  out.clear();
  AppendSaslInitialResponse(out, "SCRAM-SHA-256", "n,,n=,r=abc");
  Result<SaslInitialResponse> initial = ParseSaslInitialResponse(OnlyMessage(out, 'p'));
  REQUIRE(initial.ok());
  CHECK(initial->mechanism == "SCRAM-SHA-256");
  CHECK(initial->data == "n,,n=,r=abc");

  out.clear();
  AppendSaslResponse(out, "c=biws,r=abc,p=xyz");
  CHECK(ParseSaslResponse(OnlyMessage(out, 'p')) == "c=biws,r=abc,p=xyz");
}

TEST_CASE("StartupMessage and CancelRequest round-trip through DecodeStartupPacket", "[builder]") {
  std::string out;
  AppendStartupMessage(out, {{"user", "app_tenant"}, {"database", "app"}, {"options", "-c app.current_organization_id=7c9e"}});
  StartupDecode startup = DecodeStartupPacket(AsBytes(out));
  REQUIRE(startup.status == DecodeStatus::kReady);
  CHECK(startup.consumed == out.size());
  CHECK(startup.packet.protocol_version == kProtocolVersion3);
  CHECK(*startup.packet.Find("options") == "-c app.current_organization_id=7c9e");

  out.clear();
  AppendCancelRequest(out, 99, 100);
  StartupDecode cancel = DecodeStartupPacket(AsBytes(out));
  REQUIRE(cancel.status == DecodeStatus::kReady);
  CHECK(cancel.packet.cancel_pid == 99);
  CHECK(cancel.packet.cancel_key == 100);
}

TEST_CASE("NegotiateProtocolVersion lists the newest minor and the unrecognized options", "[builder]") {
  std::string out;
  AppendNegotiateProtocolVersion(out, 0, {"_pq_.a", "_pq_.b"});
  MessageReader r(OnlyMessage(out, 'v'));
  int32_t minor = -1, count = -1;
  std::string_view a, b;
  REQUIRE(r.Int32(minor));
  REQUIRE(r.Int32(count));
  REQUIRE(r.CString(a));
  REQUIRE(r.CString(b));
  CHECK(minor == 0);
  CHECK(count == 2);
  CHECK(a == "_pq_.a");
  CHECK(b == "_pq_.b");
  CHECK(r.AtEnd());
}

TEST_CASE("RowDescription describes text columns and DataRow carries values and NULLs", "[builder]") {
  std::string out;
  AppendRowDescription(out, {"tenant", "clients"});
  MessageReader r(OnlyMessage(out, 'T'));
  int16_t count = 0;
  REQUIRE(r.Int16(count));
  CHECK(count == 2);
  for (std::string_view expected : {"tenant", "clients"}) {
    std::string_view name;
    int32_t table_oid = -1, type_oid = 0, typmod = 0;
    int16_t attnum = -1, typlen = 0, format = -1;
    REQUIRE(r.CString(name));
    REQUIRE(r.Int32(table_oid));
    REQUIRE(r.Int16(attnum));
    REQUIRE(r.Int32(type_oid));
    REQUIRE(r.Int16(typlen));
    REQUIRE(r.Int32(typmod));
    REQUIRE(r.Int16(format));
    CHECK(name == expected);
    CHECK(table_oid == 0);
    CHECK(attnum == 0);
    CHECK(type_oid == 25);
    CHECK(typlen == -1);
    CHECK(typmod == -1);
    CHECK(format == 0);
  }
  CHECK(r.AtEnd());

  out.clear();
  AppendDataRow(out, {std::string("acme"), std::nullopt, std::string("")});
  CHECK(Text(OnlyMessage(out, 'D')) == "\0\x03\0\0\0\x04" "acme" "\xff\xff\xff\xff" "\0\0\0\0"s);
}

TEST_CASE("Appending several messages to one buffer keeps them framed in order", "[builder]") {
  std::string out;
  AppendAuthenticationOk(out);
  AppendParameterStatus(out, "client_encoding", "UTF8");
  AppendBackendKeyData(out, 1, 2);
  AppendReadyForQuery(out, TransactionStatus::kIdle);
  std::string tags;
  size_t offset = 0;
  while (offset < out.size()) {
    MessageDecode d = DecodeMessage(AsBytes(out).subspan(offset), kMaxMessageLength);
    REQUIRE(d.status == DecodeStatus::kReady);
    tags += static_cast<char>(d.header.tag);
    offset += d.consumed();
  }
  CHECK(tags == "RSKZ");
}

}  // namespace
}  // namespace pgtenant::protocol
