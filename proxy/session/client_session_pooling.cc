// ClientSession under transaction pooling: named prepared statements renamed to their content
// (prepared_statements.h) and prepared on whichever server the client gets, and every message that
// is owed a response queued (response_queue.h).
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "protocol/message_builder.h"
#include "protocol/sqlstate.h"
#include "protocol/wire.h"
#include "proxy/session/client_session.h"

namespace pgtenant::proxy {

namespace {
using protocol::FrontendTag;

// Reads a NUL-terminated name at `offset` of `body` (a view into it); nullopt if the NUL is not there yet.
std::optional<std::string_view> ReadName(std::span<const uint8_t> body, size_t offset) {
  if (offset >= body.size()) return std::nullopt;
  const void* nul = std::memchr(body.data() + offset, 0, body.size() - offset);
  if (nul == nullptr) return std::nullopt;
  const char* start = reinterpret_cast<const char*>(body.data()) + offset;
  return std::string_view(start, static_cast<size_t>(static_cast<const char*>(nul) - start));
}
// Statement and portal names are identifiers (NAMEDATALEN); a prefix longer than this without
// its NULs is not a name.
constexpr size_t kMaxNamePrefix = 1024;
}  // namespace

void ClientSession::SendPrepare(const ClientStatements::Statement& statement, ResponseQueue::Disposition disposition,
                                std::string& to_server, std::string& to_client) {
  std::string ignored;
  ServerStatementCache& cache = server_->statements();
  if (std::optional<std::string> evicted = cache.Preparing(statement.server_name)) {
    protocol::MessageBuilder(to_server).Begin(FrontendTag::kClose).Int8('S').CString(*evicted).End();
    exchange().responses.Push(ResponseQueue::Expect::kClose, ResponseQueue::Disposition::kSwallow, ignored);
  }
  // An earlier Parse of the same name may have failed after all, or may not have: Close first, so
  // the Parse below cannot meet "prepared statement already exists" (closing nothing is no error).
  protocol::MessageBuilder(to_server).Begin(FrontendTag::kClose).Int8('S').CString(statement.server_name).End();
  exchange().responses.Push(ResponseQueue::Expect::kClose, ResponseQueue::Disposition::kSwallow, ignored);
  protocol::MessageBuilder(to_server).Begin(FrontendTag::kParse).CString(statement.server_name).Bytes(
      statement.query_and_types).End();
  exchange().responses.Push(ResponseQueue::Expect::kParse, disposition,
                  disposition == ResponseQueue::Disposition::kSwallow ? ignored : to_client, statement.server_name);
}

void ClientSession::EnsurePrepared(const ClientStatements::Statement& statement, std::string& to_server) {
  if (server_->statements().Ready(statement.server_name)) return;
  std::string ignored;
  SendPrepare(statement, ResponseQueue::Disposition::kSwallow, to_server, ignored);
}

ClientSession::Rewrite ClientSession::RewriteForTransactionPooling(std::span<const uint8_t> message,
                                                                   const protocol::FrameHeader& header,
                                                                   std::string& to_server, std::string& to_client,
                                                                   size_t& consumed, size_t& stream_rest,
                                                                   Status& failure) {
  using Expect = ResponseQueue::Expect;
  using Disposition = ResponseQueue::Disposition;
  const uint8_t tag = header.tag;
  const bool whole = message.size() >= header.total();
  std::span<const uint8_t> body = message.subspan(protocol::kHeaderSize, std::min(message.size(), header.total()) -
                                                                             protocol::kHeaderSize);
  auto pass = [&](Expect expect) {
    exchange().responses.Push(expect, Disposition::kForward, to_client);
    return Rewrite::kPassThrough;
  };
  switch (static_cast<FrontendTag>(tag)) {
    case FrontendTag::kParse: {
      if (!whole) return header.body_size() > config_->max_query_size ? Rewrite::kPassThrough : Rewrite::kNeedMore;
      std::optional<std::string_view> name = ReadName(body, 0);
      if (!name || name->empty()) return pass(Expect::kParse);
      const ClientStatements::Statement* statement = exchange().statements.Define(*name, body.subspan(name->size() + 1));
      if (statement == nullptr) {
        failure = Status::Error(sqlstate::kProgramLimitExceeded,
                                "pgtenant: too many prepared statements in one session (limit " +
                                    std::to_string(ClientStatements::kMaxStatements) + ")",
                                "Close statements the application no longer uses.");
        return Rewrite::kFailed;
      }
      consumed = header.total();
      if (server_->statements().Ready(statement->server_name)) {
        // The server has it already (same text): answer ParseComplete ourselves, in order.
        exchange().responses.Push(Expect::kParse, Disposition::kSynthesize, to_client);
        return Rewrite::kRewritten;
      }
      SendPrepare(*statement, Disposition::kForward, to_server, to_client);
      return Rewrite::kRewritten;
    }
    case FrontendTag::kBind: {
      std::optional<std::string_view> portal = ReadName(body, 0);
      std::optional<std::string_view> name = portal ? ReadName(body, portal->size() + 1) : std::nullopt;
      if (!name) {
        if (whole || message.size() > kMaxNamePrefix) {
          failure = Status::Error(sqlstate::kProtocolViolation, "invalid Bind message: unterminated name");
          return Rewrite::kFailed;
        }
        return Rewrite::kNeedMore;
      }
      const ClientStatements::Statement* statement = name->empty() ? nullptr : exchange().statements.Find(*name);
      if (statement == nullptr) return pass(Expect::kBind);  // unnamed, or unknown: the server answers
      EnsurePrepared(*statement, to_server);
      size_t prefix = protocol::kHeaderSize + portal->size() + 1 + name->size() + 1;
      // The Bind's head again with the server's statement name: tag, length, portal, name; sized once
      // (this runs on every execution of a prepared statement).
      const std::string& server_name = statement->server_name;
      const uint32_t length = static_cast<uint32_t>(header.length - name->size() + server_name.size());
      const size_t start = to_server.size();
      to_server.resize(start + protocol::kHeaderSize + portal->size() + 1 + server_name.size() + 1);
      char* out = to_server.data() + start;
      *out++ = static_cast<char>(tag);
      for (int shift = 24; shift >= 0; shift -= 8) *out++ = static_cast<char>((length >> shift) & 0xff);
      out = std::copy(portal->begin(), portal->end(), out);
      *out++ = '\0';
      out = std::copy(server_name.begin(), server_name.end(), out);
      *out = '\0';
      exchange().responses.Push(Expect::kBind, Disposition::kForward, to_client);
      consumed = prefix;
      stream_rest = header.total() - prefix;
      return Rewrite::kRewritten;
    }
    case FrontendTag::kDescribe:
    case FrontendTag::kClose: {
      if (!whole) {
        if (header.body_size() > kMaxNamePrefix) {
          failure = Status::Error(sqlstate::kProtocolViolation, "invalid Describe/Close message: name too long");
          return Rewrite::kFailed;
        }
        return Rewrite::kNeedMore;
      }
      const bool describe = tag == static_cast<uint8_t>(FrontendTag::kDescribe);
      std::optional<std::string_view> name = body.empty() ? std::nullopt : ReadName(body, 1);
      const ClientStatements::Statement* statement =
          (body.empty() || body[0] != 'S' || !name || name->empty()) ? nullptr : exchange().statements.Find(*name);
      if (statement == nullptr) return pass(describe ? Expect::kDescribe : Expect::kClose);
      consumed = header.total();
      if (!describe) {
        // The server keeps the statement for other clients with the same text.
        exchange().statements.Remove(*name);
        exchange().responses.Push(Expect::kClose, Disposition::kSynthesize, to_client);
        return Rewrite::kRewritten;
      }
      EnsurePrepared(*statement, to_server);
      protocol::MessageBuilder(to_server).Begin(FrontendTag::kDescribe).Int8('S').CString(statement->server_name).End();
      exchange().responses.Push(Expect::kDescribe, Disposition::kForward, to_client);
      return Rewrite::kRewritten;
    }
    case FrontendTag::kExecute:
      return pass(Expect::kExecute);
    case FrontendTag::kSync:
      server_->statements().EndSegment();
      return pass(Expect::kSync);
    case FrontendTag::kQuery:
      server_->statements().EndSegment();
      return pass(Expect::kQuery);
    case FrontendTag::kFunctionCall:
      server_->statements().EndSegment();
      return pass(Expect::kFunctionCall);
    default:
      return Rewrite::kPassThrough;  // Flush, CopyData, CopyDone, CopyFail: no response of their own
  }
}

}  // namespace pgtenant::proxy
