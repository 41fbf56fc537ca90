// ResponseQueue: which server answers the client is owed, swallowed or synthesized, in order.
#include "relay/response_queue.h"

#include <catch2/catch.hpp>

#include <string>

#include "relay/prepared_statements.h"

namespace pgtenant::relay {
namespace {

using Expect = ResponseQueue::Expect;
using Disposition = ResponseQueue::Disposition;

constexpr uint8_t kParseComplete = '1', kBindComplete = '2', kCloseComplete = '3', kError = 'E', kReady = 'Z',
                  kCommandComplete = 'C', kDataRow = 'D', kRowDescription = 'T';

TEST_CASE("a synthesized answer with nothing ahead of it is written at once", "[response_queue]") {
  ResponseQueue queue;
  std::string now;
  queue.Push(Expect::kParse, Disposition::kSynthesize, now);
  CHECK(now == std::string("1\0\0\0\4", 5));
  CHECK(queue.empty());
}

TEST_CASE("swallowed answers are taken off; synthesized ones follow the answer before them", "[response_queue]") {
  ResponseQueue queue;
  ServerStatementCache cache;
  std::string now;
  queue.Push(Expect::kClose, Disposition::kSwallow, now);
  queue.Push(Expect::kParse, Disposition::kSwallow, now, "pgt_1");
  queue.Push(Expect::kBind, Disposition::kForward, now);
  queue.Push(Expect::kClose, Disposition::kSynthesize, now);
  queue.Push(Expect::kSync, Disposition::kForward, now);
  CHECK(now.empty());
  REQUIRE(cache.Preparing("pgt_1") == std::nullopt);
  CHECK(queue.Completes(kCloseComplete));
  CHECK(queue.OnServerMessage(kCloseComplete, cache));   // swallowed
  CHECK(queue.OnServerMessage(kParseComplete, cache));   // swallowed, and the statement exists now
  cache.EndSegment();
  CHECK(cache.Ready("pgt_1"));
  CHECK_FALSE(queue.OnServerMessage(kBindComplete, cache));  // forwarded
  REQUIRE(queue.SyntheticDue());
  std::string synthetic;
  queue.DrainSynthetic(synthetic);
  CHECK(synthetic == std::string("3\0\0\0\4", 5));
  CHECK_FALSE(queue.Completes(kDataRow));
  CHECK_FALSE(queue.OnServerMessage(kReady, cache));
  CHECK(queue.empty());
}

TEST_CASE("after an error the queue skips to Sync, and skipped Parses did not prepare", "[response_queue]") {
  ResponseQueue queue;
  ServerStatementCache cache;
  std::string now;
  queue.Push(Expect::kBind, Disposition::kForward, now);
  queue.Push(Expect::kExecute, Disposition::kForward, now);
  REQUIRE(cache.Preparing("pgt_2") == std::nullopt);
  queue.Push(Expect::kParse, Disposition::kSwallow, now, "pgt_2");
  queue.Push(Expect::kSync, Disposition::kForward, now);
  queue.Push(Expect::kQuery, Disposition::kForward, now);
  CHECK_FALSE(queue.OnServerMessage(kError, cache));
  cache.EndSegment();
  CHECK_FALSE(cache.Ready("pgt_2"));  // its Parse was skipped: prepare it again before use
  CHECK_FALSE(queue.OnServerMessage(kReady, cache));  // the Sync's
  CHECK_FALSE(queue.empty());
  CHECK_FALSE(queue.OnServerMessage(kRowDescription, cache));
  CHECK_FALSE(queue.OnServerMessage(kCommandComplete, cache));
  CHECK_FALSE(queue.OnServerMessage(kError, cache));  // a Query's error: ReadyForQuery still ends it
  CHECK_FALSE(queue.empty());
  CHECK_FALSE(queue.OnServerMessage(kReady, cache));
  CHECK(queue.empty());
}

TEST_CASE("Clear forgets every expected answer", "[response_queue]") {
  ResponseQueue queue;
  std::string now;
  queue.Push(Expect::kParse, Disposition::kForward, now, "pgt_3");
  queue.Clear();
  CHECK(queue.empty());
  CHECK_FALSE(queue.Completes(kParseComplete));
}

}  // namespace
}  // namespace pgtenant::relay

namespace pgtenant::relay {
namespace {

TEST_CASE("messages sent after an error arrived but before the client's Sync are skipped too", "[response_queue]") {
  ResponseQueue queue;
  ServerStatementCache cache;
  std::string now;
  queue.Push(Expect::kBind, Disposition::kForward, now);
  queue.Push(Expect::kExecute, Disposition::kForward, now);
  CHECK_FALSE(queue.OnServerMessage(kError, cache));  // the Execute failed; no Sync sent yet
  CHECK(queue.empty());
  REQUIRE(cache.Preparing("pgt_4") == std::nullopt);
  queue.Push(Expect::kClose, Disposition::kSwallow, now);
  queue.Push(Expect::kParse, Disposition::kSwallow, now, "pgt_4");
  queue.Push(Expect::kClose, Disposition::kSynthesize, now);  // owed nothing: the server skips it
  queue.Push(Expect::kBind, Disposition::kForward, now);
  queue.Push(Expect::kSync, Disposition::kForward, now);
  CHECK(now.empty());
  CHECK_FALSE(queue.OnServerMessage(kReady, cache));  // the Sync's; everything before it was skipped
  CHECK(queue.empty());
  cache.EndSegment();
  CHECK_FALSE(cache.Ready("pgt_4"));
  queue.Push(Expect::kClose, Disposition::kSynthesize, now);  // answered again after the Sync
  CHECK(now == std::string("3\0\0\0\4", 5));
}

}  // namespace
}  // namespace pgtenant::relay
