// ResponseQueue: matching server responses to the frontend messages that asked for them.
#include "relay/response_queue.h"

#include "protocol/wire.h"
#include "relay/prepared_statements.h"

namespace pgtenant::relay {

namespace {
using protocol::BackendTag;

void AppendSynthetic(ResponseQueue::Expect expect, std::string& out) {
  std::string_view tag = expect == ResponseQueue::Expect::kParse ? "1" : "3";  // ParseComplete / CloseComplete
  out.append(tag);
  out.append("\0\0\0\4", 4);
}
}  // namespace

void ResponseQueue::Push(Expect expect, Disposition disposition, std::string& to_client_now,
                         std::string_view server_name) {
  bool skipped = false;
  if (segment_ == Segment::kSkippedToSync) {
    if (expect == Expect::kSync) {
      segment_ = Segment::kAnswered;
    } else {
      // The server skips this message (even a Query): pgtenant owes no answer for it either.
      if (disposition == Disposition::kSynthesize) return;
      skipped = true;
    }
  }
  if (disposition == Disposition::kSynthesize && entries_.empty()) {
    AppendSynthetic(expect, to_client_now);
    return;
  }
  entries_.push_back({expect, disposition, !server_name.empty(), skipped});
  if (!server_name.empty()) names_.push_back(std::string(server_name));
}

void ResponseQueue::PopFront() {
  if (entries_.front().named) names_.pop_front();
  entries_.pop_front();
}

bool ResponseQueue::Completes(uint8_t tag) const {
  if (entries_.empty()) return false;
  switch (static_cast<BackendTag>(tag)) {
    case BackendTag::kParseComplete:
    case BackendTag::kBindComplete:
    case BackendTag::kCloseComplete:
    case BackendTag::kRowDescription:
    case BackendTag::kNoData:
    case BackendTag::kCommandComplete:
    case BackendTag::kEmptyQueryResponse:
    case BackendTag::kPortalSuspended:
    case BackendTag::kErrorResponse:
    case BackendTag::kReadyForQuery:
      return true;
    default:
      return false;
  }
}

void ResponseQueue::DrainSynthetic(std::string& out) {
  while (!entries_.empty() && entries_.front().disposition == Disposition::kSynthesize) {
    AppendSynthetic(entries_.front().expect, out);
    PopFront();
  }
}

void ResponseQueue::PopSkipped(ServerStatementCache& statements) {
  const Entry& skipped = entries_.front();
  if (skipped.expect == Expect::kParse && skipped.disposition != Disposition::kSynthesize && skipped.named)
    statements.NotPrepared(names_.front());
  PopFront();
}

bool ResponseQueue::OnServerMessage(uint8_t tag, ServerStatementCache& statements) {
  if (entries_.empty()) return false;
  const Entry& front = entries_.front();
  bool swallow = false;
  switch (static_cast<BackendTag>(tag)) {
    case BackendTag::kParseComplete:
      if (front.expect == Expect::kParse) {
        swallow = front.disposition == Disposition::kSwallow;
        if (front.named) statements.Prepared(names_.front());
        PopFront();
      }
      break;
    case BackendTag::kBindComplete:
      if (front.expect == Expect::kBind) PopFront();
      break;
    case BackendTag::kCloseComplete:
      if (front.expect == Expect::kClose) {
        swallow = front.disposition == Disposition::kSwallow;
        PopFront();
      }
      break;
    case BackendTag::kRowDescription:
    case BackendTag::kNoData:
      if (front.expect == Expect::kDescribe) PopFront();
      break;
    case BackendTag::kCommandComplete:
    case BackendTag::kEmptyQueryResponse:
    case BackendTag::kPortalSuspended:
      if (front.expect == Expect::kExecute) PopFront();
      break;
    case BackendTag::kErrorResponse:
      if (front.expect == Expect::kQuery || front.expect == Expect::kFunctionCall || front.expect == Expect::kSync)
        break;  // ReadyForQuery ends these
      // The server now skips everything up to Sync: those messages get no response, and
      // statements their Parse would have created do not exist. If the client's Sync is not here
      // yet, what is pushed before it is skipped as well.
      while (!entries_.empty() && entries_.front().expect != Expect::kSync) PopSkipped(statements);
      if (entries_.empty()) segment_ = Segment::kSkippedToSync;
      break;
    case BackendTag::kReadyForQuery:
      // Messages sent after an error and before the Sync got no answer of their own.
      while (!entries_.empty() && entries_.front().skipped) PopSkipped(statements);
      if (!entries_.empty() && (entries_.front().expect == Expect::kSync || entries_.front().expect == Expect::kQuery ||
                                entries_.front().expect == Expect::kFunctionCall))
        PopFront();
      break;
    default:
      break;
  }
  return swallow;
}

}  // namespace pgtenant::relay
