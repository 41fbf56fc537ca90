// SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL speaks it, both sides: ScramServer authenticates
// clients against a stored ScramVerifier; ScramClient authenticates pgtenant to PostgreSQL.
//
// No channel binding: pgtenant advertises only "SCRAM-SHA-256" (never "-PLUS"). Passwords are used
// as given: PostgreSQL applies SASLprep (RFC 4013) to the password first, which is the identity for
// ASCII passwords; non-ASCII passwords that SASLprep would change will not match PostgreSQL.
// Errors carry SQLSTATEs: 08P01 for malformed messages, 28P01 for a wrong password, 0A000 for
// features PostgreSQL also refuses (authzid, mandatory extensions).
// ScramServer and ScramClient are single-use, single-threaded state machines: one exchange each.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/status.h"

namespace pgtenant::protocol {

inline constexpr std::string_view kScramSha256 = "SCRAM-SHA-256";  // the SASL mechanism name
inline constexpr int kDefaultScramIterations = 4096;                // PostgreSQL's default
inline constexpr size_t kScramSaltLength = 16;                      // PostgreSQL's SCRAM_DEFAULT_SALT_LEN
inline constexpr size_t kScramRawNonceLength = 18;                  // PostgreSQL's SCRAM_RAW_NONCE_LEN

// A stored SCRAM secret in PostgreSQL's format (pg_authid.rolpassword):
//   SCRAM-SHA-256$<iterations>:<base64 salt>$<base64 StoredKey>:<base64 ServerKey>
struct ScramVerifier {
  int iterations = kDefaultScramIterations;
  std::string salt;  // raw bytes
  std::array<uint8_t, 32> stored_key{}, server_key{};

  // Errors carry no SQLSTATE (the text comes from configuration) and never echo the secret.
  static Result<ScramVerifier> Parse(std::string_view text);
  std::string ToString() const;
  bool operator==(const ScramVerifier&) const = default;
};

// True if `text` looks like a SCRAM verifier ("SCRAM-SHA-256$" prefix); Parse() decides if it is valid.
bool IsScramVerifier(std::string_view text);

// Computes the verifier PostgreSQL would store for `password`. salt empty -> kScramSaltLength random
// bytes. REQUIRES: iterations >= 1.
ScramVerifier MakeScramVerifier(std::string_view password, int iterations = kDefaultScramIterations,
                                std::string salt = {});

// A verifier for a user that does not exist, so the exchange proceeds normally and fails only at the
// final step with the same error as a wrong password (no user enumeration). Deterministic per user:
// salt and keys are HMAC-SHA-256(secret, username), so repeated attempts see the same salt.
// REQUIRES: `secret` is a random per-deployment secret (e.g. 32 bytes from FillRandom at startup);
// with a known secret an attacker could tell mock salts from real ones.
ScramVerifier MakeMockVerifier(std::string_view username, std::string_view secret,
                               int iterations = kDefaultScramIterations);

// The server side of one exchange.
//   HandleClientFirst(client-first-message) -> server-first-message (send in AuthenticationSASLContinue)
//   HandleClientFinal(client-final-message) -> server-final-message  (send in AuthenticationSASLFinal)
// The gs2 header must be "n,," or "y,," (the client supports binding but the server advertised none);
// "p=..." (binding requested) -> 08P01; an authzid "a=..." -> 0A000. The username in client-first is
// ignored, as PostgreSQL does (the startup packet names the user). The client-final nonce must be the
// combined nonce and "c=" must be base64 of the gs2 header ("biws" / "eSws").
// A wrong proof -> 28P01 "password authentication failed". Any error ends the exchange (state kFailed);
// calls out of order -> 08P01.
class ScramServer {
 public:
  enum class State { kExpectClientFirst, kExpectClientFinal, kSucceeded, kFailed };

  // server_nonce empty -> kScramRawNonceLength random bytes, base64. REQUIRES: a non-empty
  // server_nonce is printable ASCII without ','.
  explicit ScramServer(ScramVerifier verifier, std::string server_nonce = {});

  Result<std::string> HandleClientFirst(std::string_view client_first_message);
  Result<std::string> HandleClientFinal(std::string_view client_final_message);

  State state() const { return state_; }

 private:
  void TransitionTo(State next) { state_ = next; }
  Status Fail(Status error);

  State state_ = State::kExpectClientFirst;
  ScramVerifier verifier_;
  std::string server_nonce_;
  std::string expected_channel_binding_;  // "biws" or "eSws"
  std::string combined_nonce_;
  std::string client_first_bare_;
  std::string server_first_;
};

// The client side of one exchange:
//   ClientFirstMessage()                -> send in SASLInitialResponse
//   HandleServerFirst(AuthenticationSASLContinue data) -> client-final, send in SASLResponse
//   VerifyServerFinal(AuthenticationSASLFinal data)    -> ok if the server proved it knows the verifier
// The server nonce must extend ours, iterations >= 1, the salt non-empty. "e=..." from the server ->
// 28000 error carrying its text; a wrong "v=" -> 08P01. Calls out of order -> 08P01.
class ScramClient {
 public:
  enum class State { kInitial, kExpectServerFirst, kExpectServerFinal, kSucceeded, kFailed };

  // client_nonce empty -> kScramRawNonceLength random bytes, base64. username is sent in client-first
  // (escaped per RFC 5802); PostgreSQL ignores it, so libpq and pgtenant normally leave it empty.
  explicit ScramClient(std::string password, std::string client_nonce = {}, std::string username = {});

  std::string ClientFirstMessage();  // "n,,n=<username>,r=<nonce>"
  Result<std::string> HandleServerFirst(std::string_view server_first);
  Status VerifyServerFinal(std::string_view server_final);

  State state() const { return state_; }

 private:
  void TransitionTo(State next) { state_ = next; }
  Status Fail(Status error);

  State state_ = State::kInitial;
  std::string password_;
  std::string client_nonce_;
  std::string username_;
  std::string client_first_bare_;
  std::array<uint8_t, 32> expected_server_signature_{};
};

}  // namespace pgtenant::protocol
