// Specification of SCRAM-SHA-256: the RFC 7677 test vector through ScramClient and ScramServer,
// PostgreSQL's verifier format, and every way an exchange must fail.
// Expected verifiers were computed independently (Python hashlib, RFC 5802 formulas).
#include "protocol/scram.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "protocol/base64.h"
#include "protocol/scram_crypto.h"

namespace pgtenant::protocol {
namespace {

// RFC 7677 section 3.
constexpr std::string_view kRfcPassword = "pencil";
constexpr std::string_view kRfcClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerNonceSuffix = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr std::string_view kRfcSaltBase64 = "W22ZaJ0SNY7soEsUEjb6gQ==";
constexpr std::string_view kRfcClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view kRfcServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr std::string_view kRfcClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr std::string_view kRfcServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
// What PostgreSQL stores for password "pencil" with the RFC's salt and 4096 iterations.
constexpr std::string_view kRfcVerifier =
    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

std::string RfcSalt() { return Base64Decode(kRfcSaltBase64).value(); }

ScramServer RfcServer() {
  return ScramServer(MakeScramVerifier(kRfcPassword, 4096, RfcSalt()), std::string(kRfcServerNonceSuffix));
}

// Runs a whole exchange between a client with `password` and a server holding `verifier`.
// Returns the status of the server's final step.
Status Exchange(const ScramVerifier& verifier, std::string password) {
  ScramClient client(std::move(password));
  ScramServer server(verifier);
  Result<std::string> server_first = server.HandleClientFirst(client.ClientFirstMessage());
  REQUIRE(server_first.ok());
  Result<std::string> client_final = client.HandleServerFirst(*server_first);
  REQUIRE(client_final.ok());
  Result<std::string> server_final = server.HandleClientFinal(*client_final);
  if (!server_final.ok()) return server_final.status();
  return client.VerifyServerFinal(*server_final);
}

// A server that has answered the RFC client-first message.
ScramServer RfcServerAfterClientFirst() {
  ScramServer server = RfcServer();
  REQUIRE(server.HandleClientFirst(kRfcClientFirst).ok());
  return server;
}

TEST_CASE("ScramClient produces the RFC 7677 messages", "[scram]") {
  ScramClient client(std::string(kRfcPassword), std::string(kRfcClientNonce), "user");
  CHECK(client.ClientFirstMessage() == kRfcClientFirst);
  Result<std::string> client_final = client.HandleServerFirst(kRfcServerFirst);
  REQUIRE(client_final.ok());
  CHECK(*client_final == kRfcClientFinal);
  CHECK(client.VerifyServerFinal(kRfcServerFinal).ok());
  CHECK(client.state() == ScramClient::State::kSucceeded);
}

TEST_CASE("ScramServer produces the RFC 7677 messages", "[scram]") {
  ScramServer server = RfcServer();
  Result<std::string> server_first = server.HandleClientFirst(kRfcClientFirst);
  REQUIRE(server_first.ok());
  CHECK(*server_first == kRfcServerFirst);
  Result<std::string> server_final = server.HandleClientFinal(kRfcClientFinal);
  REQUIRE(server_final.ok());
  CHECK(*server_final == kRfcServerFinal);
  CHECK(server.state() == ScramServer::State::kSucceeded);
}

TEST_CASE("ScramClient sends an empty username like libpq and escapes a given one", "[scram]") {
  ScramClient anonymous("pw", "nonce");
  CHECK(anonymous.ClientFirstMessage() == "n,,n=,r=nonce");
  ScramClient named("pw", "nonce", "a,b=c");
  CHECK(named.ClientFirstMessage() == "n,,n=a=2Cb=3Dc,r=nonce");
}

TEST_CASE("MakeScramVerifier computes what PostgreSQL stores", "[scram]") {
  CHECK(MakeScramVerifier(kRfcPassword, 4096, RfcSalt()).ToString() == kRfcVerifier);
  std::string salt;
  for (int i = 0; i < 16; ++i) salt += static_cast<char>(i);
  CHECK(MakeScramVerifier("secret", 4096, salt).ToString() ==
        "SCRAM-SHA-256$4096:AAECAwQFBgcICQoLDA0ODw==$THoPhoTAuqyoQsK4dUHncUzgfD8fdmhsgKZhWVqNP5U=:"
        "7YiHMMi2OcXGRogub03Ek06JRZ9bkhTOdCzHa5iPLiQ=");
}

TEST_CASE("MakeScramVerifier without a salt draws 16 random bytes", "[scram]") {
  ScramVerifier a = MakeScramVerifier("secret", 1), b = MakeScramVerifier("secret", 1);
  CHECK(a.salt.size() == 16);
  CHECK(a.salt != b.salt);
  CHECK(a.stored_key != b.stored_key);
}

TEST_CASE("ScramVerifier::Parse and ToString round-trip", "[scram]") {
  Result<ScramVerifier> v = ScramVerifier::Parse(kRfcVerifier);
  REQUIRE(v.ok());
  CHECK(v->iterations == 4096);
  CHECK(v->salt == RfcSalt());
  CHECK(v->ToString() == kRfcVerifier);
  CHECK(*v == MakeScramVerifier(kRfcPassword, 4096, RfcSalt()));
  CHECK(IsScramVerifier(kRfcVerifier));
  CHECK_FALSE(IsScramVerifier("md54a0a68b43b6cd5cf266fa02f196e2371"));
}

TEST_CASE("ScramVerifier::Parse refuses malformed verifiers without echoing them", "[scram]") {
  const std::string keys = "$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";
  for (std::string bad : {
           std::string("md54a0a68b43b6cd5cf266fa02f196e2371"),
           std::string("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ=="),
           "SCRAM-SHA-256$0:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
           "SCRAM-SHA-256$-1:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
           "SCRAM-SHA-256$4096x:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
           "SCRAM-SHA-256$99999999999:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
           "SCRAM-SHA-256$:W22ZaJ0SNY7soEsUEjb6gQ==" + keys,
           "SCRAM-SHA-256$4096:" + keys,
           "SCRAM-SHA-256$4096:not base64!" + keys,
           std::string("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$c2hvcnQ=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="),
           std::string("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="),
       }) {
    INFO(bad);
    Result<ScramVerifier> v = ScramVerifier::Parse(bad);
    REQUIRE_FALSE(v.ok());
    CHECK_THAT(v.status().message(), Catch::StartsWith("invalid SCRAM-SHA-256 verifier"));
    CHECK_THAT(v.status().message(), !Catch::Contains("WG5d8oPm"));
  }
}

TEST_CASE("A client and a server with the same password agree", "[scram]") {
  CHECK(Exchange(MakeScramVerifier("correct horse", 4096), "correct horse").ok());
  CHECK(Exchange(ScramVerifier::Parse(kRfcVerifier).value(), std::string(kRfcPassword)).ok());
}

TEST_CASE("A wrong password fails with 28P01 at the final step", "[scram]") {
  Status s = Exchange(MakeScramVerifier("correct horse", 4096), "battery staple");
  REQUIRE_FALSE(s.ok());
  CHECK(s.sqlstate() == "28P01");
  CHECK(s.message() == "password authentication failed");
}

TEST_CASE("A mock verifier lets the exchange run and fails like a wrong password", "[scram]") {
  const ScramVerifier mock = MakeMockVerifier("nobody", "deployment secret");
  Status s = Exchange(mock, "any password");
  REQUIRE_FALSE(s.ok());
  CHECK(s.sqlstate() == "28P01");
  CHECK(s.message() == "password authentication failed");
}

TEST_CASE("A mock verifier is deterministic per user and secret and looks real", "[scram]") {
  const ScramVerifier a = MakeMockVerifier("nobody", "secret one");
  CHECK(a == MakeMockVerifier("nobody", "secret one"));
  CHECK(a.salt != MakeMockVerifier("somebody", "secret one").salt);
  CHECK(a.salt != MakeMockVerifier("nobody", "secret two").salt);
  CHECK(a.salt.size() == 16);
  CHECK(a.iterations == 4096);
  CHECK(a.stored_key != a.server_key);
  CHECK(MakeMockVerifier("nobody", "secret one", 10000).iterations == 10000);
}

TEST_CASE("ScramServer accepts y,, when it advertised no channel binding", "[scram]") {
  ScramServer server = RfcServer();
  REQUIRE(server.HandleClientFirst("y,,n=,r=abc").ok());
  Status bad = server.HandleClientFinal("c=biws,r=abc%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA").status();
  CHECK(bad.sqlstate() == "08P01");  // c= must encode the gs2 header actually sent

  ScramServer server2 = RfcServer();
  REQUIRE(server2.HandleClientFirst("y,,n=,r=abc").ok());
  Status wrong_proof =
      server2.HandleClientFinal("c=eSws,r=abc%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
          .status();
  CHECK(wrong_proof.sqlstate() == "28P01");  // the channel binding was accepted; only the proof is wrong
}

TEST_CASE("ScramServer refuses malformed or unsupported client-first messages", "[scram]") {
  struct Case {
    std::string_view message, sqlstate;
  };
  for (const Case& c : {
           Case{"p=tls-server-end-point,,n=,r=abc", "08P01"},
           Case{"n,a=admin,n=,r=abc", "0A000"},
           Case{"n,,m=ext,n=,r=abc", "0A000"},
           Case{"", "08P01"},
           Case{"x,,n=,r=abc", "08P01"},
           Case{"n,n=,r=abc", "08P01"},
           Case{"n,,r=abc", "08P01"},
           Case{"n,,n=", "08P01"},
           Case{"n,,n=,r=", "08P01"},
           Case{"n,,n=,r=abc,", "08P01"},
           Case{"n,,n=,r=ab\x01", "08P01"},
           Case{"n,,n=,r=abc,1=x", "08P01"},
       }) {
    INFO(c.message);
    ScramServer server = RfcServer();
    Result<std::string> r = server.HandleClientFirst(c.message);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().sqlstate() == c.sqlstate);
    CHECK(server.state() == ScramServer::State::kFailed);
  }
  ScramServer with_extension = RfcServer();
  CHECK(with_extension.HandleClientFirst("n,,n=user,r=abc,x=ignored").ok());
}

TEST_CASE("ScramServer refuses a tampered client-final message", "[scram]") {
  const std::string nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
  const std::string proof = "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
  struct Case {
    std::string message;
    std::string_view sqlstate;
  };
  for (const Case& c : {
           Case{"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k1," + proof, "08P01"},  // nonce
           Case{"c=biws,r=rOprNGfwEbeRWgbNEkqO," + proof, "08P01"},                                  // client part only
           Case{"c=eSws,r=" + nonce + "," + proof, "08P01"},                                         // binding flag
           Case{"c=biws,r=" + nonce, "08P01"},                                                       // no proof
           Case{"c=biws,r=" + nonce + "," + proof + ",x=after", "08P01"},                           // proof not last
           Case{"c=biws,r=" + nonce + ",p=AAAA", "08P01"},                                           // proof too short
           Case{"c=biws,r=" + nonce + ",p=!!!!", "08P01"},                                           // not base64
           Case{"r=" + nonce + ",c=biws," + proof, "08P01"},                                         // order
           Case{"c=biws,r=" + nonce + ",p=eHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", "28P01"},  // proof bit flipped
       }) {
    INFO(c.message);
    ScramServer server = RfcServerAfterClientFirst();
    Result<std::string> r = server.HandleClientFinal(c.message);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().sqlstate() == c.sqlstate);
    CHECK(server.state() == ScramServer::State::kFailed);
  }
  ScramServer with_extension = RfcServerAfterClientFirst();
  // An extension before the proof is part of client-final-without-proof, so the RFC proof no longer
  // verifies: the message is well-formed and the failure is the password's.
  CHECK(with_extension.HandleClientFinal("c=biws,r=" + nonce + ",x=ext," + proof).status().sqlstate() == "28P01");
}

TEST_CASE("ScramServer refuses messages out of order and after failure", "[scram]") {
  ScramServer server = RfcServer();
  CHECK(server.HandleClientFinal(kRfcClientFinal).status().sqlstate() == "08P01");
  CHECK(server.HandleClientFirst(kRfcClientFirst).status().sqlstate() == "08P01");  // already failed

  ScramServer done = RfcServerAfterClientFirst();
  REQUIRE(done.HandleClientFinal(kRfcClientFinal).ok());
  CHECK_FALSE(done.HandleClientFinal(kRfcClientFinal).ok());
}

TEST_CASE("ScramServer draws a random nonce when none is given", "[scram]") {
  ScramServer a(MakeScramVerifier("x", 1)), b(MakeScramVerifier("x", 1));
  Result<std::string> first_a = a.HandleClientFirst("n,,n=,r=abc"), first_b = b.HandleClientFirst("n,,n=,r=abc");
  REQUIRE(first_a.ok());
  REQUIRE(first_b.ok());
  CHECK(*first_a != *first_b);
  CHECK_THAT(*first_a, Catch::StartsWith("r=abc"));
  CHECK(first_a->find(",s=") == 5 + 24);  // 18 raw bytes = 24 base64 characters
}

TEST_CASE("ScramClient refuses a server-first message it cannot trust", "[scram]") {
  for (std::string_view bad : {
           "r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",        // server added nothing
           "r=XOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",   // not our nonce
           "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0",      // iterations
           "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-5",
           "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x",
           "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==",
           "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=,i=4096",                           // empty salt
           "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=???,i=4096",
           "r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,x=1",
           "m=ext,r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
           "",
       }) {
    INFO(bad);
    ScramClient client("pencil", std::string(kRfcClientNonce));
    (void)client.ClientFirstMessage();
    Result<std::string> r = client.HandleServerFirst(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().sqlstate() == "08P01");
    CHECK(client.state() == ScramClient::State::kFailed);
  }
}

TEST_CASE("ScramClient checks the server's signature", "[scram]") {
  auto ready_client = [] {
    ScramClient client(std::string(kRfcPassword), std::string(kRfcClientNonce), "user");
    (void)client.ClientFirstMessage();
    REQUIRE(client.HandleServerFirst(kRfcServerFirst).ok());
    return client;
  };
  {
    ScramClient client = ready_client();
    Status s = client.VerifyServerFinal("v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    CHECK(s.sqlstate() == "08P01");
    CHECK_THAT(s.message(), Catch::Contains("incorrect server signature"));
  }
  {
    ScramClient client = ready_client();
    Status s = client.VerifyServerFinal("e=invalid-proof");
    CHECK(s.sqlstate() == "28000");
    CHECK_THAT(s.message(), Catch::Contains("invalid-proof"));
  }
  for (std::string_view bad : {std::string_view(""), std::string_view("v="), std::string_view("v=AAAA"), kRfcServerFinal.substr(0, kRfcServerFinal.size() - 1),
                               std::string_view("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,x=1")}) {
    INFO(bad);
    ScramClient client = ready_client();
    CHECK_FALSE(client.VerifyServerFinal(bad).ok());
  }
}

TEST_CASE("ScramClient refuses messages out of order", "[scram]") {
  ScramClient client("pencil");
  CHECK(client.HandleServerFirst(kRfcServerFirst).status().sqlstate() == "08P01");
  ScramClient early("pencil");
  (void)early.ClientFirstMessage();
  CHECK(early.VerifyServerFinal(kRfcServerFinal).sqlstate() == "08P01");
}

std::string Hex(const scram_internal::Key& key) {
  static const char* const kDigits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : key) {
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

TEST_CASE("HmacSha256 matches the RFC 4231 test vectors, short and long keys", "[scram]") {
  const std::vector<uint8_t> key1(20, 0x0b);
  CHECK(Hex(scram_internal::HmacSha256(key1, "Hi There")) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  const std::string jefe = "Jefe";
  CHECK(Hex(scram_internal::HmacSha256(scram_internal::AsBytes(jefe), "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  const std::vector<uint8_t> key6(131, 0xaa);  // longer than the block: hashed first
  CHECK(Hex(scram_internal::HmacSha256(key6, "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(Hex(scram_internal::Sha256(scram_internal::AsBytes(std::string("abc")))) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace pgtenant::protocol
