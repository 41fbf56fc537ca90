// Specification of DecodeStartupPacket: StartupMessage, SSLRequest, GSSENCRequest, CancelRequest;
// whole, split at every byte, glued to the next packet, and every way a packet can be invalid.
#include "protocol/startup_packet.h"

#include <catch2/catch.hpp>

#include <iostream>
#include <random>
#include <string>

#include "protocol/message_builder.h"

namespace pgtenant::protocol {
namespace {

std::span<const uint8_t> AsBytes(const std::string& s) {
  return std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// An untyped packet: int32 length, int32 code, then `rest` verbatim.
std::string Packet(int32_t code, std::string_view rest) {
  std::string out;
  MessageBuilder(out).Begin(0).Int32(code).Bytes(rest).End();
  return out;
}

std::string Startup(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  AppendStartupMessage(out, params);
  return out;
}

void RequireInvalid(const std::string& packet, std::string_view sqlstate, std::string_view message_part = "") {
  StartupDecode d = DecodeStartupPacket(AsBytes(packet));
  REQUIRE(d.status == DecodeStatus::kInvalid);
  CHECK(d.error.sqlstate() == sqlstate);
  CHECK_THAT(d.error.message(), Catch::Contains(std::string(message_part)));
  CHECK(d.consumed == 0);
}

TEST_CASE("A StartupMessage yields its version and parameters in order", "[startup]") {
  const std::string packet = Startup({{"user", "alice.acme"}, {"database", "app"}, {"application_name", "psql"}});
  StartupDecode d = DecodeStartupPacket(AsBytes(packet));
  REQUIRE(d.status == DecodeStatus::kReady);
  CHECK(d.consumed == packet.size());
  CHECK(d.packet.kind == StartupKind::kStartup);
  CHECK(d.packet.protocol_version == kProtocolVersion3);
  CHECK(d.packet.protocol_major() == 3);
  CHECK(d.packet.protocol_minor() == 0);
  REQUIRE(d.packet.parameters.size() == 3);
  CHECK(d.packet.parameters[0] == std::pair<std::string, std::string>("user", "alice.acme"));
  CHECK(d.packet.parameters[2] == std::pair<std::string, std::string>("application_name", "psql"));
  REQUIRE(d.packet.Find("database") != nullptr);
  CHECK(*d.packet.Find("database") == "app");
  CHECK(d.packet.Find("Database") == nullptr);
  CHECK(d.packet.Find("options") == nullptr);
}

TEST_CASE("Every strict prefix of a startup packet needs more data", "[startup]") {
  const std::string packets[] = {
      Startup({{"user", "alice"}, {"options", "-c a=b"}}),
      Packet(kSslRequestCode, ""),
      Packet(kGssEncRequestCode, ""),
      Packet(kCancelRequestCode, std::string("\0\0\0\x07\x12\x34\x56\x78", 8)),
  };
  for (const std::string& packet : packets) {
    for (size_t n = 0; n < packet.size(); ++n) {
      INFO("prefix " << n << " of " << packet.size());
      StartupDecode d = DecodeStartupPacket(AsBytes(packet.substr(0, n)));
      CHECK(d.status == DecodeStatus::kNeedMoreData);
      CHECK(d.consumed == 0);
    }
    CHECK(DecodeStartupPacket(AsBytes(packet)).status == DecodeStatus::kReady);
  }
}

TEST_CASE("A startup packet glued to the next message consumes exactly its length", "[startup]") {
  std::string stream = Packet(kSslRequestCode, "");
  const size_t ssl_size = stream.size();
  stream += Startup({{"user", "alice"}});
  AppendQuery(stream, "SELECT 1");

  StartupDecode ssl = DecodeStartupPacket(AsBytes(stream));
  REQUIRE(ssl.status == DecodeStatus::kReady);
  CHECK(ssl.packet.kind == StartupKind::kSslRequest);
  CHECK(ssl.consumed == ssl_size);
  CHECK(ssl_size == 8);

  StartupDecode startup = DecodeStartupPacket(AsBytes(stream).subspan(ssl.consumed));
  REQUIRE(startup.status == DecodeStatus::kReady);
  CHECK(startup.consumed == Startup({{"user", "alice"}}).size());
  CHECK(*startup.packet.Find("user") == "alice");
}

TEST_CASE("SSLRequest and GSSENCRequest are recognised", "[startup]") {
  StartupDecode ssl = DecodeStartupPacket(AsBytes(Packet(kSslRequestCode, "")));
  REQUIRE(ssl.status == DecodeStatus::kReady);
  CHECK(ssl.packet.kind == StartupKind::kSslRequest);
  StartupDecode gss = DecodeStartupPacket(AsBytes(Packet(kGssEncRequestCode, "")));
  REQUIRE(gss.status == DecodeStatus::kReady);
  CHECK(gss.packet.kind == StartupKind::kGssEncRequest);
  std::string built;
  AppendSslRequest(built);
  CHECK(built == Packet(kSslRequestCode, ""));
}

TEST_CASE("A CancelRequest yields pid and key", "[startup]") {
  std::string packet;
  AppendCancelRequest(packet, 4242, -559038737);
  REQUIRE(packet.size() == 16);
  StartupDecode d = DecodeStartupPacket(AsBytes(packet));
  REQUIRE(d.status == DecodeStatus::kReady);
  CHECK(d.packet.kind == StartupKind::kCancelRequest);
  CHECK(d.packet.cancel_pid == 4242);
  CHECK(d.packet.cancel_key == -559038737);
  CHECK(d.consumed == 16);
}

TEST_CASE("Special requests must have their exact length", "[startup]") {
  RequireInvalid(Packet(kCancelRequestCode, std::string(4, '\0')), "08P01", "cancel request");
  RequireInvalid(Packet(kCancelRequestCode, std::string(12, '\0')), "08P01", "cancel request");
  RequireInvalid(Packet(kSslRequestCode, std::string(4, '\0')), "08P01", "SSL request");
  RequireInvalid(Packet(kGssEncRequestCode, std::string(1, '\0')), "08P01", "GSSENC request");
}

TEST_CASE("Lengths outside [8, 10000] are refused without waiting for the body", "[startup]") {
  for (int32_t length : {0, 4, 7, 10001, 1 << 30, -1, -8}) {
    INFO("length " << length);
    std::string packet;
    MessageBuilder b(packet);
    b.Int32(length);  // only the length field: the decoder must not wait for more
    RequireInvalid(packet, "08P01", "invalid length of startup packet");
  }
  // Exactly the cap is fine.
  std::string big = Startup({{"user", "alice"}, {"application_name", std::string(10000 - 8 - 5 - 6 - 17 - 1 - 1, 'x')}});
  REQUIRE(big.size() == kMaxStartupPacketLength);
  CHECK(DecodeStartupPacket(AsBytes(big)).status == DecodeStatus::kReady);
}

TEST_CASE("Protocol 3 with a newer minor is accepted and reported", "[startup]") {
  using namespace std::string_literals;
  std::string packet = Packet((3 << 16) | 2, "user\0alice\0_pq_.x\0y\0\0"s);
  StartupDecode d = DecodeStartupPacket(AsBytes(packet));
  REQUIRE(d.status == DecodeStatus::kReady);
  CHECK(d.packet.protocol_major() == 3);
  CHECK(d.packet.protocol_minor() == 2);
  REQUIRE(d.packet.Find("_pq_.x") != nullptr);
}

TEST_CASE("Other protocol versions are not supported", "[startup]") {
  using namespace std::string_literals;
  RequireInvalid(Packet(2 << 16, "user\0alice\0\0"s), "0A000",
                 "unsupported frontend protocol 2.0: server supports 3.0");
  RequireInvalid(Packet((4 << 16) | 1, "user\0alice\0\0"s), "0A000",
                 "unsupported frontend protocol 4.1: server supports 3.0");
  RequireInvalid(Packet((1234 << 16) | 5681, ""), "0A000", "unsupported frontend protocol 1234.5681");
}

TEST_CASE("Malformed parameter lists are protocol violations", "[startup]") {
  using namespace std::string_literals;
  SECTION("no terminator") { RequireInvalid(Packet(kProtocolVersion3, "user\0alice\0"s), "08P01"); }
  SECTION("no parameters and no terminator") { RequireInvalid(Packet(kProtocolVersion3, ""), "08P01"); }
  SECTION("name without NUL") { RequireInvalid(Packet(kProtocolVersion3, "user\0alice\0database"s), "08P01"); }
  SECTION("value without NUL") { RequireInvalid(Packet(kProtocolVersion3, "user\0alice"s), "08P01"); }
  SECTION("empty name before the end") {
    RequireInvalid(Packet(kProtocolVersion3, "user\0alice\0\0database\0app\0\0"s), "08P01", "terminator");
  }
  SECTION("data after the terminator") { RequireInvalid(Packet(kProtocolVersion3, "user\0alice\0\0x"s), "08P01"); }
  SECTION("duplicate name") {
    RequireInvalid(Packet(kProtocolVersion3, "user\0alice\0user\0mallory\0\0"s), "08P01", "duplicate parameter \"user\"");
  }
}

TEST_CASE("A startup packet must name a user", "[startup]") {
  RequireInvalid(Startup({{"database", "app"}}), "28000", "no PostgreSQL user name specified in startup packet");
  RequireInvalid(Startup({}), "28000", "no PostgreSQL user name specified in startup packet");
  RequireInvalid(Startup({{"user", ""}}), "28000", "no PostgreSQL user name specified in startup packet");
}

TEST_CASE("Empty parameter values are kept", "[startup]") {
  StartupDecode d = DecodeStartupPacket(AsBytes(Startup({{"user", "alice"}, {"options", ""}})));
  REQUIRE(d.status == DecodeStatus::kReady);
  REQUIRE(d.packet.Find("options") != nullptr);
  CHECK(d.packet.Find("options")->empty());
}

TEST_CASE("Random bytes never crash the decoder or produce an out-of-range answer", "[startup][random]") {
  const uint32_t seed = std::random_device{}();
  std::cout << "startup_packet_test random seed: " << seed << "\n";
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  for (int iteration = 0; iteration < 2000; ++iteration) {
    // Start from a valid packet and corrupt a few bytes, so the decoder gets past the length check.
    std::string packet = Startup({{"user", "alice"}, {"database", "app"}});
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) packet[rng() % packet.size()] = static_cast<char>(rng() % 256);
    StartupDecode d = DecodeStartupPacket(AsBytes(packet));
    if (d.status == DecodeStatus::kReady) {
      CHECK(d.consumed >= 8);
      CHECK(d.consumed <= packet.size());
    } else if (d.status == DecodeStatus::kInvalid) {
      CHECK_FALSE(d.error.ok());
    }
  }
}

}  // namespace
}  // namespace pgtenant::protocol
