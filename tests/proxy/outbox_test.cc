// Outbox over a real libuv loop and a socketpair: order, corking, backpressure, a peer that goes away.
//
// Written against the header's contract only (what reaches the peer, in which order, and which
// events the owner hears), not against how the cork is kept, so it holds whether the cork is per
// thread or per outbox.
#include "proxy/io/outbox.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <array>
#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

namespace pgtenant::proxy {
namespace {

std::span<const uint8_t> Bytes(std::string_view s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

// `size` bytes that tell their position: a reordered, lost or doubled chunk shows.
std::string Pattern(size_t size, uint8_t seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 7 + seed + i / 251) % 256);
  return out;
}

// An Outbox on one end of a socketpair (a uv_pipe_t on the test's loop); the test reads the other
// end, `peer`, by hand. The events the owner hears are recorded.
class OutboxFixture {
 public:
  OutboxFixture() {
    signal(SIGPIPE, SIG_IGN);  // a write to a closed peer must fail with EPIPE, as in pgtenant (proxy_server.cc)
    REQUIRE(uv_loop_init(&loop_) == 0);
    int fds[2];
    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    peer_ = fds[1];
    REQUIRE(fcntl(peer_, F_SETFL, fcntl(peer_, F_GETFL) | O_NONBLOCK) == 0);
    // Small kernel buffers, so a few hundred kilobytes are more than the socket takes at once.
    int small = 16 * 1024;
    REQUIRE(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == 0);
    REQUIRE(setsockopt(peer_, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0);
    REQUIRE(uv_pipe_init(&loop_, &pipe_, 0) == 0);
    REQUIRE(uv_pipe_open(&pipe_, fds[0]) == 0);
    pipe_.data = this;
    outbox_.Init(reinterpret_cast<uv_stream_t*>(&pipe_), &OutboxFixture::OnEvent);
  }

  ~OutboxFixture() {
    outbox_.Uncork();  // whoever closes the stream uncorks first (the contract)
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&pipe_))) uv_close(reinterpret_cast<uv_handle_t*>(&pipe_), nullptr);
    uv_run(&loop_, UV_RUN_DEFAULT);
    ClosePeer();
    CHECK(uv_loop_close(&loop_) == 0);
  }

  Outbox& outbox() { return outbox_; }
  uv_loop_t* loop() { return &loop_; }
  uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&pipe_); }
  const std::vector<bool>& events() const { return events_; }

  // Everything the peer can read right now, without waiting.
  std::string ReadAvailable() {
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(peer_, buf, sizeof(buf));
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      return out;  // 0: closed; EAGAIN: nothing more now
    }
  }

  // Reads the peer while the loop writes, until `want` bytes arrived and the owner heard an event
  // (or 10 s passed: then the test fails on what it got).
  std::string ReadUntilDrained(size_t want) {
    std::string got;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while ((got.size() < want || events_.empty()) && std::chrono::steady_clock::now() < deadline) {
      got += ReadAvailable();
      uv_run(&loop_, UV_RUN_NOWAIT);
    }
    got += ReadAvailable();
    return got;
  }

  // Runs the loop until the owner heard an event or 10 s passed.
  void RunUntilEvent() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (events_.empty() && std::chrono::steady_clock::now() < deadline) uv_run(&loop_, UV_RUN_NOWAIT);
  }

  void ClosePeer() {
    if (peer_ >= 0) ::close(peer_);
    peer_ = -1;
  }

 private:
  static void OnEvent(void* owner, bool ok) { static_cast<OutboxFixture*>(owner)->events_.push_back(ok); }

  uv_loop_t loop_{};
  uv_pipe_t pipe_{};
  int peer_ = -1;
  Outbox outbox_;
  std::vector<bool> events_;
};

TEST_CASE("what the socket takes at once is written at once, in order, with no event", "[outbox]") {
  OutboxFixture f;
  CHECK(f.outbox().Send(std::string_view("one ")));
  CHECK(f.outbox().Send(Bytes("two ")));
  CHECK(f.outbox().SendRaw(std::string_view("three")));
  CHECK_FALSE(f.outbox().HasBacklog());
  CHECK(f.outbox().backlog_bytes() == 0);
  CHECK(f.ReadAvailable() == "one two three");
  uv_run(f.loop(), UV_RUN_NOWAIT);
  CHECK(f.events().empty());  // nothing was pending: nothing to drain
}

TEST_CASE("what the socket cannot take waits in order, holds a backlog, and drains with one ok event", "[outbox]") {
  OutboxFixture f;
  const std::string big = Pattern(512 * 1024, 1);
  const std::string after1 = Pattern(1000, 2);
  const std::string after2 = Pattern(3, 3);
  CHECK(f.outbox().Send(Bytes(big)));
  REQUIRE(f.outbox().HasBacklog());  // the owner must stop reading the peer that feeds this socket
  CHECK(f.outbox().backlog_bytes() > 0);
  CHECK(f.outbox().backlog_bytes() <= big.size());
  CHECK(f.outbox().Send(Bytes(after1)));  // queued behind, never ahead
  CHECK(f.outbox().Send(Bytes(after2)));
  const size_t queued = f.outbox().backlog_bytes();
  CHECK(queued >= after1.size() + after2.size());
  const std::string expected = big + after1 + after2;
  const std::string got = f.ReadUntilDrained(expected.size());
  CHECK(got.size() == expected.size());
  CHECK(got == expected);
  REQUIRE(f.events() == std::vector<bool>{true});
  CHECK_FALSE(f.outbox().HasBacklog());
  CHECK(f.outbox().backlog_bytes() == 0);
  CHECK_FALSE(f.outbox().broken());
}

TEST_CASE("a corked outbox writes nothing until Uncork, then everything in the order given", "[outbox]") {
  OutboxFixture f;
  // A read buffer being handled: Forward may keep pointing into it until Uncork.
  const std::string read_buffer = "Bind....Execute....";
  const std::span<const uint8_t> whole = Bytes(read_buffer);
  f.outbox().Cork();
  CHECK(f.outbox().Forward(whole.subspan(0, 8)));
  CHECK(f.outbox().Send(std::string_view("<injected>")));
  CHECK(f.outbox().Forward(whole.subspan(8)));
  CHECK(f.outbox().Send(std::string_view("Sync")));
  CHECK_FALSE(f.outbox().HasBacklog());  // collected bytes are not a backlog
  CHECK(f.ReadAvailable().empty());
  CHECK(f.outbox().Uncork());
  CHECK(f.ReadAvailable() == "Bind....<injected>Execute....Sync");
  CHECK(f.outbox().Uncork());  // idempotent: nothing is written twice
  CHECK(f.ReadAvailable().empty());
  // Uncorked again: sends go straight out.
  CHECK(f.outbox().Send(std::string_view("after")));
  CHECK(f.ReadAvailable() == "after");
}

TEST_CASE("a message sent in pieces leaves whole and in order, corked or not", "[outbox]") {
  OutboxFixture f;
  const std::string read_buffer = "Q....select 1";
  const std::array<std::span<const uint8_t>, 4> pieces = {Bytes("Q...."), Bytes("set x = 1;"), Bytes(""),
                                                          Bytes("select 1")};
  // Not corked: one message, one write, nothing left corked.
  CHECK(f.outbox().SendPieces(pieces));
  CHECK(f.ReadAvailable() == "Q....set x = 1;select 1");
  CHECK(f.outbox().Send(std::string_view("after")));
  CHECK(f.ReadAvailable() == "after");
  // Corked: after what was forwarded before it, and nothing leaves before Uncork.
  f.outbox().Cork();
  CHECK(f.outbox().Forward(Bytes(read_buffer).subspan(0, 5)));
  CHECK(f.outbox().SendPieces(pieces));
  CHECK(f.ReadAvailable().empty());
  CHECK(f.outbox().Uncork());
  CHECK(f.ReadAvailable() == "Q....Q....set x = 1;select 1");
}

TEST_CASE("forwarded neighbouring spans of one buffer leave together and in order", "[outbox]") {
  OutboxFixture f;
  const std::string read_buffer = Pattern(4000, 4);
  const std::span<const uint8_t> whole = Bytes(read_buffer);
  f.outbox().Cork();
  for (size_t at = 0; at < whole.size(); at += 100) CHECK(f.outbox().Forward(whole.subspan(at, 100)));
  CHECK(f.ReadAvailable().empty());
  CHECK(f.outbox().Uncork());
  CHECK(f.ReadAvailable() == read_buffer);
}

TEST_CASE("a cork holding more than the socket takes loses nothing and keeps the order", "[outbox]") {
  OutboxFixture f;
  const std::string first = Pattern(300 * 1024, 5);
  const std::string second = Pattern(200 * 1024, 6);
  f.outbox().Cork();
  CHECK(f.outbox().Send(Bytes(first)));
  CHECK(f.outbox().Forward(Bytes(second)));
  CHECK(f.outbox().Send(std::string_view("tail")));
  CHECK(f.outbox().Uncork());
  const std::string expected = first + second + "tail";
  const std::string got = f.ReadUntilDrained(expected.size());
  CHECK(got.size() == expected.size());
  CHECK(got == expected);
  CHECK(f.events() == std::vector<bool>{true});
}

TEST_CASE("a peer that went away breaks the outbox: sends fail and keep failing", "[outbox]") {
  OutboxFixture f;
  f.ClosePeer();
  CHECK_FALSE(f.outbox().Send(std::string_view("lost")));
  CHECK(f.outbox().broken());
  CHECK_FALSE(f.outbox().Send(std::string_view("still lost")));
  CHECK_FALSE(f.outbox().SendRaw(std::string_view("raw too")));
  CHECK_FALSE(f.outbox().HasBacklog());
  f.outbox().Cork();
  CHECK_FALSE(f.outbox().Forward(Bytes("forwarded")));
  CHECK_FALSE(f.outbox().Uncork());
  uv_run(f.loop(), UV_RUN_NOWAIT);
  CHECK(f.events().empty());  // the sender saw false: no event on top
}

TEST_CASE("a peer that goes away while a backlog drains gives one failed event", "[outbox]") {
  OutboxFixture f;
  CHECK(f.outbox().Send(Bytes(Pattern(512 * 1024, 7))));
  REQUIRE(f.outbox().HasBacklog());
  f.ClosePeer();
  f.RunUntilEvent();
  REQUIRE(f.events() == std::vector<bool>{false});
  CHECK(f.outbox().broken());
  CHECK_FALSE(f.outbox().HasBacklog());
  CHECK(f.outbox().backlog_bytes() == 0);
  CHECK_FALSE(f.outbox().Send(std::string_view("after")));
}

TEST_CASE("a peer that goes away while corked shows at Uncork", "[outbox]") {
  OutboxFixture f;
  f.outbox().Cork();
  f.ClosePeer();
  CHECK(f.outbox().Send(std::string_view("collected, not written yet")));
  CHECK_FALSE(f.outbox().Uncork());
  CHECK(f.outbox().broken());
}

TEST_CASE("closing the stream with writes pending cancels them without an event", "[outbox]") {
  OutboxFixture f;
  CHECK(f.outbox().Send(Bytes(Pattern(512 * 1024, 8))));
  REQUIRE(f.outbox().HasBacklog());
  uv_close(f.handle(), nullptr);  // the owner is going away: it must not be called back
  uv_run(f.loop(), UV_RUN_DEFAULT);
  CHECK(f.events().empty());
}

}  // namespace
}  // namespace pgtenant::proxy
