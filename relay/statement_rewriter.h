// StatementRewriter: a client's frontend messages under transaction pooling, where its server
// connection changes between transactions (protocol section 55.2.3).
//
// Named prepared statements are renamed to their content names (prepared_statements.h) and prepared
// on demand on whichever server the client holds; Close of a named statement is answered by pgtenant
// (the server keeps it for others; a name the client never prepared is not passed on either, since
// closing what does not exist is no error and the server's statements are not the client's); every message that is owed a response is queued
// (response_queue.h) so the server's answers can be matched, swallowed or completed with
// synthesized ones. No I/O; loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "protocol/frame_reader.h"
#include "protocol/status.h"
#include "relay/prepared_statements.h"
#include "relay/response_queue.h"

namespace pgtenant::relay {

class StatementRewriter {
 public:
  enum class Action : uint8_t {
    kPassThrough,  // forward the message as it is (its response, if any, is queued)
    kNeedMore,     // the message must be seen further before anything is decided
    kRewritten,    // send `to_server` instead of the message's first `consumed` bytes, then stream `stream_rest`
    kFailed,       // the session must end with `failure`
  };
  // What one call produces. `to_server` and `to_client` are appended to (the caller owns and
  // reuses them, so that renaming a Bind allocates nothing once they have grown).
  struct Output {
    std::string& to_server;
    std::string& to_client;
    size_t consumed = 0;
    size_t stream_rest = 0;
    Status failure;
  };

  // Statement and portal names are identifiers (NAMEDATALEN); a Bind prefix or a Describe/Close
  // body longer than this without its NULs is not a name.
  static constexpr size_t kMaxNamePrefix = 1024;

  // `message` starts at the frame of `header` and holds all of it or a prefix (at least the header).
  // `server` is the statement cache of the server connection the client holds now.
  Action Rewrite(std::span<const uint8_t> message, const protocol::FrameHeader& header, ServerStatementCache& server,
                 size_t max_query_size, Output& out);

  // pgtenant sent a Parse or Query of its own in place of a blocked statement: the client gets
  // its response (the error).
  void ExpectMarkerResponse(bool parse);

  // DEALLOCATE ALL / DISCARD ALL: the client's statements are gone.
  void ForgetStatements() { statements_ = ClientStatements(); }
  // DEALLOCATE name: the client's statement is gone.
  void ForgetStatement(std::string_view name) { statements_.Remove(name); }

  ResponseQueue& responses() { return responses_; }
  const ClientStatements& statements() const { return statements_; }
  bool empty() const { return statements_.empty() && responses_.empty(); }

 private:
  // Close + Parse of a content-named statement on the server; its ParseComplete is forwarded or swallowed.
  void SendPrepare(const ClientStatements::Statement& statement, ResponseQueue::Disposition disposition,
                   ServerStatementCache& server, Output& out);
  void EnsurePrepared(const ClientStatements::Statement& statement, ServerStatementCache& server, Output& out);

  ClientStatements statements_;
  ResponseQueue responses_;
};

}  // namespace pgtenant::relay
