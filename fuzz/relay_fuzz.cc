// Fuzz target: the relay (relay/relay.h) between a hostile client and a well-formed server
// (tests/relay/fake_backend.h answers every request as PostgreSQL would), in both pool modes, with
// the server's answers cut into pieces of a fuzzed size.
//
// Input: byte 0 picks the pool mode, the server's piece size and (its top bit, transaction pooling)
// a shared pool whose every transaction switches tenants; then operations: raw client bytes
// (anything at all), well-formed client messages from a menu (statements, names and SQL from small
// sets, so the fuzzer meets renamed statements, errors mid-pipeline, COPY and blocked statements
// often), a rejected request (no server, canceled), and holds (admin PAUSE).
//
// Invariants, checked after every operation: nothing is forwarded while the session holds no
// server; the relay's memory stays within a bound of what the client sent; the relay's state is
// consistent with the server it holds; no server connection goes back as clean while its server
// holds part of a message. At the end, when the client only ever sent well-formed requests and the
// session is still open: every Query, Sync and FunctionCall got exactly one ReadyForQuery; then the
// client goes away wherever its input stopped.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "tests/relay/client_messages.h"
#include "tests/relay/relay_driver.h"

namespace {

using namespace pgtenant::relay;
using namespace pgtenant::relay::testing;

void Check(bool condition) {
  if (!condition) abort();
}

class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::string Bytes(size_t n) {
    n = std::min(n, size_ - pos_);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return s;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// A client that follows the protocol: a Query or FunctionCall only after its extended messages
// were synced, and only CopyData/CopyDone/CopyFail while a COPY FROM STDIN runs.
struct WellFormedClient {
  bool unsynced = false;
  bool copying = false;
  size_t requests = 0;  // Query, Sync and FunctionCall sent: each is owed one ReadyForQuery

  std::string Next(Input& in) {
    static const char* kNames[] = {"", "s1", "s2", "S_3"};
    static const char* kSql[] = {"select 1", "select forbidden", "fail", "begin",      "commit",
                                 "rollback", "copy t in",        "copy t out", "set x",  "empty"};
    const uint8_t choice = in.Byte();
    const char* name = kNames[(choice >> 4) & 3];
    const char* sql = kSql[in.Byte() % 10];
    if (copying) {
      switch (choice % 3) {
        case 0:
          return CopyData("row\n");
        case 1:
          copying = false;
          return CopyDone();
        default:
          copying = false;
          return CopyFail("stop");
      }
    }
    switch (choice % 10) {
      case 0:
      case 1: {
        std::string out = unsynced ? Sync() : std::string();
        requests += unsynced ? 2 : 1;
        unsynced = false;
        copying = std::string(sql) == "copy t in";
        return out + Query(sql);
      }
      case 2:
        unsynced = true;
        return Parse(name, sql);
      case 3:
        unsynced = true;
        return Bind("", name);
      case 4:
        unsynced = true;
        return Describe((choice & 0x40) ? 'S' : 'P', name);
      case 5:
        unsynced = true;
        return Execute();
      case 6:
        unsynced = true;
        return Close((choice & 0x40) ? 'S' : 'P', name);
      case 7:
        unsynced = true;
        return Flush();
      case 8: {
        std::string out = unsynced ? Sync() : std::string();
        requests += unsynced ? 2 : 1;
        unsynced = false;
        return out + FunctionCall();
      }
      default:
        ++requests;
        unsynced = false;
        return Sync();
    }
  }
};

size_t CountReady(const std::string& bytes) {
  size_t count = 0;
  size_t pos = 0;
  while (pos + 5 <= bytes.size()) {
    auto d = pgtenant::protocol::DecodeFrameHeader(AsBytes(std::string_view(bytes).substr(pos)),
                                                   pgtenant::protocol::kMaxMessageLength);
    if (d.status != pgtenant::protocol::DecodeStatus::kReady) break;
    if (d.header.tag == 'Z') ++count;
    pos += d.header.total();
  }
  return count;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  const uint8_t setup = in.Byte();
  const Relay::PoolMode mode = (setup & 1) ? Relay::PoolMode::kTransaction : Relay::PoolMode::kSession;
  RelayDriver driver(mode, /*server_split=*/(setup >> 1) % 9,
                     Relay::Limits{/*max_query_size=*/4096, /*max_function_call_size=*/4096});
  // A shared pool changing tenants: the context goes inside, or ahead of, each transaction's first message.
  if (mode == Relay::PoolMode::kTransaction && (setup & 0x80) != 0)
    driver.context_statements = {"set app.org = 'b'", "set default_transaction_read_only = off"};
  WellFormedClient client;
  bool well_formed = true;
  size_t client_bytes = 0;
  while (!in.done() && !driver.ended) {
    const uint8_t op = in.Byte();
    switch (op % 8) {
      case 0: {  // anything at all
        std::string raw = in.Bytes(in.Byte());
        client_bytes += raw.size();
        well_formed = false;
        driver.ClientSends(raw);
        break;
      }
      case 1: {  // a well-formed message cut at a fuzzed point, the rest after the servers answered
        std::string message = client.Next(in);
        const size_t cut = in.Byte() % (message.size() + 1);
        client_bytes += message.size();
        driver.ClientSends(message.substr(0, cut));
        driver.ClientSends(message.substr(cut));
        break;
      }
      case 2:  // the next transaction is held (admin PAUSE) until the next resume
        driver.hold_transactions = 1;
        break;
      case 3:  // RESUME
        driver.hold_transactions = 0;
        driver.Resume();
        break;
      case 4:  // no server for the request at the front (pool timeout, cancel while waiting)
        if (driver.relay().needs_server()) {
          if (!driver.relay().Reject(pgtenant::Status::Error("57014", "canceling statement due to user request")))
            return 0;
          driver.Resume();
        }
        break;
      default: {  // well-formed messages, several in one write
        std::string write;
        for (int n = 1 + op / 8 % 4; n > 0; --n) write += client.Next(in);
        client_bytes += write.size();
        driver.ClientSends(write);
        break;
      }
    }
    Check(!driver.forwarded_without_server);
    Check(!driver.released_mid_message);
    Check(driver.relay().Footprint() <= 64 * 1024 + 512 * client_bytes);
    Check(driver.carry().size() <= client_bytes);
    // The relay holds a server exactly when the host gave it one.
    Check(driver.ended || driver.relay().needs_server() == (!driver.holds_server() && !driver.relay().discarding()));
  }
  driver.hold_transactions = 0;
  driver.Resume();
  Check(!driver.forwarded_without_server);
  if (well_formed && !driver.ended && driver.carry().empty() && !client.unsynced && !client.copying) {
    Check(CountReady(driver.to_client) == client.requests);
  }
  // The client goes away wherever its input stopped, maybe halfway through a message.
  driver.ClientDisconnects();
  Check(!driver.released_mid_message);
  return 0;
}
