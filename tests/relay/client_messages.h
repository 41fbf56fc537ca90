// Frontend messages as a client (libpq, pgjdbc, a hostile one) sends them, for the relay's tests
// and fuzzer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/message_builder.h"
#include "protocol/wire.h"

namespace pgtenant::relay::testing {

using protocol::FrontendTag;

inline std::string Query(std::string_view sql) {
  std::string out;
  protocol::AppendQuery(out, sql);
  return out;
}
inline std::string Parse(std::string_view name, std::string_view sql) {
  std::string out;
  protocol::MessageBuilder(out).Begin(FrontendTag::kParse).CString(name).CString(sql).Int16(0).End();
  return out;
}
inline std::string Bind(std::string_view portal, std::string_view statement, std::string_view value = "v") {
  std::string out;
  protocol::MessageBuilder(out)
      .Begin(FrontendTag::kBind)
      .CString(portal)
      .CString(statement)
      .Int16(0)  // parameter formats
      .Int16(1)  // one parameter
      .Int32(static_cast<int32_t>(value.size()))
      .Bytes(value)
      .Int16(0)  // result formats
      .End();
  return out;
}
inline std::string Describe(char kind, std::string_view name) {
  std::string out;
  protocol::MessageBuilder(out).Begin(FrontendTag::kDescribe).Int8(static_cast<uint8_t>(kind)).CString(name).End();
  return out;
}
inline std::string Close(char kind, std::string_view name) {
  std::string out;
  protocol::MessageBuilder(out).Begin(FrontendTag::kClose).Int8(static_cast<uint8_t>(kind)).CString(name).End();
  return out;
}
inline std::string Execute(std::string_view portal = "") {
  std::string out;
  protocol::MessageBuilder(out).Begin(FrontendTag::kExecute).CString(portal).Int32(0).End();
  return out;
}
inline std::string Sync() { return std::string("S\0\0\0\4", 5); }
inline std::string Flush() { return std::string("H\0\0\0\4", 5); }
inline std::string Terminate() { return std::string("X\0\0\0\4", 5); }
inline std::string CopyData(std::string_view data) {
  std::string out;
  protocol::MessageBuilder(out).Begin(FrontendTag::kCopyData).Bytes(data).End();
  return out;
}
inline std::string CopyDone() { return std::string("c\0\0\0\4", 5); }
inline std::string CopyFail(std::string_view why) {
  std::string out;
  protocol::MessageBuilder(out).Begin(FrontendTag::kCopyFail).CString(why).End();
  return out;
}
inline std::string FunctionCall() {
  std::string out;
  protocol::MessageBuilder(out).Begin(FrontendTag::kFunctionCall).Int32(1598).Int16(0).Int16(0).Int16(0).End();
  return out;
}

}  // namespace pgtenant::relay::testing
