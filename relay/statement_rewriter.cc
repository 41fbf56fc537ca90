// StatementRewriter: Parse/Bind/Describe/Close renamed for the server the client holds now, and
// the response each frontend message is owed queued in order.
#include "relay/statement_rewriter.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>

#include "protocol/message_builder.h"
#include "protocol/sqlstate.h"
#include "protocol/wire.h"

namespace pgtenant::relay {

namespace {
using protocol::FrontendTag;
using Expect = ResponseQueue::Expect;
using Disposition = ResponseQueue::Disposition;

// Reads a NUL-terminated name at `offset` of `body` (a view into it); nullopt if the NUL is not there yet.
std::optional<std::string_view> ReadName(std::span<const uint8_t> body, size_t offset) {
  if (offset >= body.size()) return std::nullopt;
  const void* nul = std::memchr(body.data() + offset, 0, body.size() - offset);
  if (nul == nullptr) return std::nullopt;
  const char* start = reinterpret_cast<const char*>(body.data()) + offset;
  return std::string_view(start, static_cast<size_t>(static_cast<const char*>(nul) - start));
}
}  // namespace

void StatementRewriter::SendPrepare(const ClientStatements::Statement& statement, Disposition disposition,
                                    ServerStatementCache& server, Output& out) {
  if (std::optional<std::string> evicted = server.Preparing(statement.server_name)) {
    protocol::MessageBuilder(out.to_server).Begin(FrontendTag::kClose).Int8('S').CString(*evicted).End();
    responses_.Push(Expect::kClose, Disposition::kSwallow, out.to_client);
  }
  // An earlier Parse of the same name may have failed after all, or may not have: Close first, so
  // the Parse below cannot meet "prepared statement already exists" (closing nothing is no error).
  protocol::MessageBuilder(out.to_server).Begin(FrontendTag::kClose).Int8('S').CString(statement.server_name).End();
  responses_.Push(Expect::kClose, Disposition::kSwallow, out.to_client);
  protocol::MessageBuilder(out.to_server)
      .Begin(FrontendTag::kParse)
      .CString(statement.server_name)
      .Bytes(statement.query_and_types)
      .End();
  responses_.Push(Expect::kParse, disposition, out.to_client, statement.server_name);
}

void StatementRewriter::EnsurePrepared(const ClientStatements::Statement& statement, ServerStatementCache& server,
                                       Output& out) {
  if (server.Ready(statement.server_name)) return;
  SendPrepare(statement, Disposition::kSwallow, server, out);
}

void StatementRewriter::ExpectMarkerResponse(bool parse) {
  std::string nothing_synthesized;  // a forwarded entry never appends
  responses_.Push(parse ? Expect::kParse : Expect::kQuery, Disposition::kForward, nothing_synthesized);
}

StatementRewriter::Action StatementRewriter::Rewrite(std::span<const uint8_t> message,
                                                     const protocol::FrameHeader& header, ServerStatementCache& server,
                                                     size_t max_query_size, Output& out) {
  const uint8_t tag = header.tag;
  const bool whole = message.size() >= header.total();
  std::span<const uint8_t> body =
      message.subspan(protocol::kHeaderSize, std::min(message.size(), header.total()) - protocol::kHeaderSize);
  auto pass = [&](Expect expect) {
    responses_.Push(expect, Disposition::kForward, out.to_client);
    return Action::kPassThrough;
  };
  switch (static_cast<FrontendTag>(tag)) {
    case FrontendTag::kParse: {
      if (!whole) return header.body_size() > max_query_size ? Action::kPassThrough : Action::kNeedMore;
      std::optional<std::string_view> name = ReadName(body, 0);
      if (!name || name->empty()) return pass(Expect::kParse);
      const ClientStatements::Statement* statement = statements_.Define(*name, body.subspan(name->size() + 1));
      if (statement == nullptr) {
        out.failure = Status::Error(sqlstate::kProgramLimitExceeded,
                                    "pgtenant: too many prepared statements in one session (limit " +
                                        std::to_string(ClientStatements::kMaxStatements) + ")",
                                    "Close statements the application no longer uses.");
        return Action::kFailed;
      }
      out.consumed = header.total();
      if (server.Ready(statement->server_name)) {
        // The server has it already (same text): answer ParseComplete ourselves, in order.
        responses_.Push(Expect::kParse, Disposition::kSynthesize, out.to_client);
        return Action::kRewritten;
      }
      SendPrepare(*statement, Disposition::kForward, server, out);
      return Action::kRewritten;
    }
    case FrontendTag::kBind: {
      std::optional<std::string_view> portal = ReadName(body, 0);
      std::optional<std::string_view> name = portal ? ReadName(body, portal->size() + 1) : std::nullopt;
      if (!name) {
        if (whole || message.size() > kMaxNamePrefix) {
          out.failure = Status::Error(sqlstate::kProtocolViolation, "invalid Bind message: unterminated name");
          return Action::kFailed;
        }
        return Action::kNeedMore;
      }
      const ClientStatements::Statement* statement = name->empty() ? nullptr : statements_.Find(*name);
      if (statement == nullptr) return pass(Expect::kBind);  // unnamed, or unknown: the server answers
      EnsurePrepared(*statement, server, out);
      const size_t prefix = protocol::kHeaderSize + portal->size() + 1 + name->size() + 1;
      // The Bind's head again with the server's statement name: tag, length, portal, name; sized once
      // (this runs on every execution of a prepared statement).
      const std::string& server_name = statement->server_name;
      const uint32_t length = static_cast<uint32_t>(header.length - name->size() + server_name.size());
      const size_t start = out.to_server.size();
      out.to_server.resize(start + protocol::kHeaderSize + portal->size() + 1 + server_name.size() + 1);
      char* p = out.to_server.data() + start;
      *p++ = static_cast<char>(tag);
      for (int shift = 24; shift >= 0; shift -= 8) *p++ = static_cast<char>((length >> shift) & 0xff);
      p = std::copy(portal->begin(), portal->end(), p);
      *p++ = '\0';
      p = std::copy(server_name.begin(), server_name.end(), p);
      *p = '\0';
      responses_.Push(Expect::kBind, Disposition::kForward, out.to_client);
      out.consumed = prefix;
      out.stream_rest = header.total() - prefix;
      return Action::kRewritten;
    }
    case FrontendTag::kDescribe:
    case FrontendTag::kClose: {
      if (!whole) {
        if (header.body_size() > kMaxNamePrefix) {
          out.failure = Status::Error(sqlstate::kProtocolViolation, "invalid Describe/Close message: name too long");
          return Action::kFailed;
        }
        return Action::kNeedMore;
      }
      const bool describe = tag == static_cast<uint8_t>(FrontendTag::kDescribe);
      std::optional<std::string_view> name = body.empty() ? std::nullopt : ReadName(body, 1);
      const ClientStatements::Statement* statement =
          (body.empty() || body[0] != 'S' || !name || name->empty()) ? nullptr : statements_.Find(*name);
      const bool named_statement = !body.empty() && body[0] == 'S' && name && !name->empty();
      if (statement == nullptr && !(named_statement && !describe))
        return pass(describe ? Expect::kDescribe : Expect::kClose);
      out.consumed = header.total();
      if (!describe) {
        // The server keeps the statement for other clients with the same text. A name the client
        // never prepared is not the client's to close on the server (PostgreSQL: no error).
        if (statement != nullptr) statements_.Remove(*name);
        responses_.Push(Expect::kClose, Disposition::kSynthesize, out.to_client);
        return Action::kRewritten;
      }
      EnsurePrepared(*statement, server, out);
      protocol::MessageBuilder(out.to_server)
          .Begin(FrontendTag::kDescribe)
          .Int8('S')
          .CString(statement->server_name)
          .End();
      responses_.Push(Expect::kDescribe, Disposition::kForward, out.to_client);
      return Action::kRewritten;
    }
    case FrontendTag::kExecute:
      return pass(Expect::kExecute);
    case FrontendTag::kSync:
      server.EndSegment();
      return pass(Expect::kSync);
    case FrontendTag::kQuery:
      server.EndSegment();
      return pass(Expect::kQuery);
    case FrontendTag::kFunctionCall:
      server.EndSegment();
      return pass(Expect::kFunctionCall);
    default:
      return Action::kPassThrough;  // Flush, CopyData, CopyDone, CopyFail: no response of their own
  }
}

}  // namespace pgtenant::relay
