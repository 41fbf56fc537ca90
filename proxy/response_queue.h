// ResponseQueue: which server responses the client is owed, in order, under transaction pooling.
//
// Every frontend message that gets a response pushes an entry. Entries for messages pgtenant
// injected are swallowed when their response arrives; entries for messages pgtenant answered
// itself (ParseComplete for a statement the server already has, CloseComplete for a client
// Close) are synthesized when their turn comes, so the client sees exactly the sequence the
// protocol promises. After an ErrorResponse the server skips to Sync (protocol section 55.2.3),
// and so does the queue. No I/O; loop thread only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proxy/fifo.h"

namespace pgtenant::proxy {

class ResponseQueue {
 public:
  enum class Expect : uint8_t { kParse, kBind, kDescribe, kExecute, kClose, kSync, kQuery, kFunctionCall };
  enum class Disposition : uint8_t { kForward, kSwallow, kSynthesize };

  struct Outcome {
    bool swallow = false;                   // drop this server message
    std::string synthetic_after;            // messages to send the client right after it
    std::vector<std::string> failed_parses; // server statement names whose Parse was skipped or refused
    std::string completed_parse;             // server statement name whose Parse just completed
  };

  // Queues an expected response. A synthesized one with nothing ahead of it is appended to
  // `to_client_now` at once. `server_name`: for Parse, the statement it creates on the server.
  void Push(Expect expect, Disposition disposition, std::string& to_client_now, std::string server_name = {});

  // Whether a server message with this tag ends the response of the entry at the front (the
  // session then needs the message whole before calling OnServerMessage).
  bool Completes(uint8_t tag) const;
  Outcome OnServerMessage(uint8_t tag);

  bool empty() const { return entries_.empty(); }
  void Clear() { entries_.clear(); }

 private:
  struct Entry {
    Expect expect;
    Disposition disposition;
    std::string server_name;
  };
  void Pop(Outcome& outcome);
  void DrainSynthetic(std::string& out);

  Fifo<Entry> entries_;
};

}  // namespace pgtenant::proxy
