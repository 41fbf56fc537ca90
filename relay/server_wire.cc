// ServerWire: bookkeeping of what a server connection owes and whether it is clean.
#include "relay/server_wire.h"

namespace pgtenant::relay {

void ServerWire::NoteFrontendMessage(protocol::FrontendTag tag) {
  using protocol::FrontendTag;
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
}

void ServerWire::NoteReadyForQuery(protocol::TransactionStatus status) {
  if (awaiting_ready_ > 0) --awaiting_ready_;
  txn_status_ = status;
}

}  // namespace pgtenant::relay
