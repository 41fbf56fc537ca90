// ServerWire: bookkeeping of what a server connection owes and whether it is clean.
#include "relay/server_wire.h"

namespace pgtenant::relay {

void ServerWire::NoteFrontendMessage(protocol::FrontendTag tag) {
  using protocol::FrontendTag;
  const bool was_busy = awaiting_ready_ > 0;
  switch (tag) {
    case FrontendTag::kQuery:
    case FrontendTag::kFunctionCall:
      ++awaiting_ready_;
      break;
    case FrontendTag::kSync:
      ++awaiting_ready_;
      unsynced_ = false;
      break;
    case FrontendTag::kParse:
    case FrontendTag::kBind:
    case FrontendTag::kDescribe:
    case FrontendTag::kExecute:
    case FrontendTag::kClose:
    case FrontendTag::kFlush:
      unsynced_ = true;
      break;
    default:
      break;
  }
  if (!was_busy && awaiting_ready_ > 0) busy_since_ = now_();
}

void ServerWire::NoteReadyForQuery(protocol::TransactionStatus status) {
  if (awaiting_ready_ > 0) {  // not pgtenant's own internal queries (ServerConnection::RunInternalQuery)
    ++requests_answered_;
    if (--awaiting_ready_ == 0) busy_time_ += now_() - busy_since_;
  }
  txn_status_ = status;
}

}  // namespace pgtenant::relay
