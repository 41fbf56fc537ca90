// ResponseQueue: which server responses the client is owed, in order, under transaction pooling.
//
// Every frontend message that gets a response pushes an entry. Entries for messages pgtenant
// injected are swallowed when their response arrives; entries for messages pgtenant answered
// itself (ParseComplete for a statement the server already has, CloseComplete for a client
// Close) are synthesized when their turn comes, so the client sees exactly the sequence the
// protocol promises. After an ErrorResponse the server skips to Sync (protocol section 55.2.3),
// and so does the queue, including messages sent after the error reached pgtenant but before the
// client's Sync: those are skipped too, and nothing is synthesized for them. No I/O; loop thread only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "relay/fifo.h"

namespace pgtenant::relay {

class ServerStatementCache;

class ResponseQueue {
 public:
  enum class Expect : uint8_t { kParse, kBind, kDescribe, kExecute, kClose, kSync, kQuery, kFunctionCall };
  enum class Disposition : uint8_t { kForward, kSwallow, kSynthesize };

  // Queues an expected response. A synthesized one with nothing ahead of it is appended to
  // `to_client_now` at once. `server_name`: for Parse, the statement it creates on the server.
  void Push(Expect expect, Disposition disposition, std::string& to_client_now, std::string_view server_name = {});

  // Whether a server message with this tag ends the response of the entry at the front (the
  // session then needs the message whole before calling OnServerMessage).
  bool Completes(uint8_t tag) const;
  // Takes the server message with that tag off the queue; tells `statements` which Parses pgtenant
  // sent now exist on the server and which were skipped or refused. Returns true when the client
  // must not see the message (it answers a message pgtenant injected).
  bool OnServerMessage(uint8_t tag, ServerStatementCache& statements);
  // Whether answers pgtenant owes the client (synthesized) are next, right after the message just
  // handled; DrainSynthetic appends them to `out` and takes them off the queue.
  bool SyntheticDue() const { return !entries_.empty() && entries_.front().disposition == Disposition::kSynthesize; }
  void DrainSynthetic(std::string& out);

  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }
  void Clear() {
    entries_.clear();
    names_.clear();
    segment_ = Segment::kAnswered;
  }

 private:
  struct Entry {
    Expect expect;
    Disposition disposition;
    bool named;    // its server statement name is the front of names_
    bool skipped;  // pushed while the server skips to Sync: it gets no answer
  };
  void PopFront();
  // Takes off an entry the server skipped; a Parse's statement does not exist.
  void PopSkipped(ServerStatementCache& statements);

  // Whether the server answers what is pushed now, or skips it: an error of the extended protocol
  // arrived and the client's Sync has not been pushed since.
  enum class Segment : uint8_t { kAnswered, kSkippedToSync };
  Segment segment_ = Segment::kAnswered;

  Fifo<Entry> entries_;
  Fifo<std::string> names_;  // only Parses that name a statement carry one: most entries stay 3 bytes
};

}  // namespace pgtenant::relay
