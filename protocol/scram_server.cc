// ScramServer: the server side of SCRAM-SHA-256, following PostgreSQL's
// src/backend/libpq/auth-scram.c (read_client_first_message, read_client_final_message, verify_client_proof).
#include "protocol/scram.h"

#include <openssl/crypto.h>

#include "protocol/base64.h"
#include "protocol/scram_crypto.h"
#include "protocol/sqlstate.h"

namespace pgtenant::protocol {

using scram_internal::Malformed;
using scram_internal::ReadAttribute;

ScramServer::ScramServer(ScramVerifier verifier, std::string server_nonce)
    : verifier_(std::move(verifier)),
      server_nonce_(server_nonce.empty() ? scram_internal::RandomNonce() : std::move(server_nonce)) {}

Status ScramServer::Fail(Status error) {
  TransitionTo(State::kFailed);
  return error;
}

Result<std::string> ScramServer::HandleClientFirst(std::string_view message) {
  if (state_ != State::kExpectClientFirst) return Fail(Malformed("unexpected client-first-message"));

  // gs2-header: gs2-cbind-flag "," [authzid] ","
  if (message.empty()) return Fail(Malformed("empty client-first-message"));
  switch (message[0]) {
    case 'n': expected_channel_binding_ = "biws"; break;  // base64("n,,")
    // The client could bind but thinks we cannot: fine, since we never advertise SCRAM-SHA-256-PLUS.
    case 'y': expected_channel_binding_ = "eSws"; break;  // base64("y,,")
    case 'p':
      return Fail(Malformed("the client requested channel binding, but the server offered only SCRAM-SHA-256"));
    default: return Fail(Malformed("unexpected channel-binding flag"));
  }
  if (message.size() < 2 || message[1] != ',') return Fail(Malformed("comma expected after channel-binding flag"));
  message.remove_prefix(2);
  if (message.starts_with("a=")) {
    return Fail(Status::Error(sqlstate::kFeatureNotSupported, "client uses authorization identity, but it is not supported"));
  }
  if (message.empty() || message[0] != ',') return Fail(Malformed("comma expected after authorization identity"));
  message.remove_prefix(1);
  client_first_bare_ = std::string(message);

  // client-first-message-bare: [reserved-mext ","] username "," nonce ["," extensions]
  if (message.starts_with("m=")) {
    return Fail(Status::Error(sqlstate::kFeatureNotSupported, "client requires an unsupported SCRAM extension"));
  }
  std::string_view username, client_nonce;
  if (!ReadAttribute(message, 'n', username)) return Fail(Malformed("username attribute expected"));
  // The username is ignored: the startup packet already named the user (as PostgreSQL does).
  if (!ReadAttribute(message, 'r', client_nonce)) return Fail(Malformed("nonce attribute expected"));
  if (!scram_internal::IsPrintableNonce(client_nonce)) return Fail(Malformed("nonce is not printable"));
  while (!message.empty()) {
    std::string_view ignored;
    if (!ReadAttribute(message, 0, ignored)) return Fail(Malformed("invalid attribute in client-first-message"));
  }

  combined_nonce_.reserve(client_nonce.size() + server_nonce_.size());
  combined_nonce_.assign(client_nonce).append(server_nonce_);
  // One buffer, sized once: a login's handshake runs with cold caches, where every allocation counts.
  const std::string salt = Base64Encode(verifier_.salt);
  const std::string iterations = std::to_string(verifier_.iterations);
  server_first_.reserve(2 + combined_nonce_.size() + 3 + salt.size() + 3 + iterations.size());
  server_first_.append("r=").append(combined_nonce_).append(",s=").append(salt).append(",i=").append(iterations);
  TransitionTo(State::kExpectClientFinal);
  return server_first_;
}

Result<std::string> ScramServer::HandleClientFinal(std::string_view message) {
  if (state_ != State::kExpectClientFinal) return Fail(Malformed("unexpected client-final-message"));

  // client-final-message: channel-binding "," nonce ["," extensions] "," proof
  const std::string_view whole = message;
  std::string_view channel_binding, nonce;
  if (!ReadAttribute(message, 'c', channel_binding)) return Fail(Malformed("channel-binding attribute expected"));
  if (channel_binding != expected_channel_binding_) return Fail(Malformed("unexpected channel-binding data"));
  if (!ReadAttribute(message, 'r', nonce)) return Fail(Malformed("nonce attribute expected"));
  if (nonce != combined_nonce_) return Fail(Malformed("nonce does not match"));
  std::string_view proof_text;
  size_t proof_offset = 0;
  for (;;) {
    if (message.empty()) return Fail(Malformed("proof attribute expected"));
    proof_offset = whole.size() - message.size();
    std::string_view value;
    char name = 0;
    if (!ReadAttribute(message, 0, value, &name)) return Fail(Malformed("invalid attribute in client-final-message"));
    if (name == 'p') {
      proof_text = value;
      break;
    }
  }
  if (!message.empty()) return Fail(Malformed("proof must be the last attribute"));
  Result<std::string> proof = Base64Decode(proof_text);
  if (!proof.ok() || proof->size() != verifier_.stored_key.size()) return Fail(Malformed("invalid proof"));

  // AuthMessage := client-first-message-bare "," server-first-message "," client-final-message-without-proof
  // (proof_offset - 1 drops the ',' before "p=").
  const std::string_view final_without_proof = whole.substr(0, proof_offset - 1);
  std::string auth_message;
  auth_message.reserve(client_first_bare_.size() + 1 + server_first_.size() + 1 + final_without_proof.size());
  auth_message.append(client_first_bare_).append(",").append(server_first_).append(",").append(final_without_proof);
  const scram_internal::Key client_signature = scram_internal::HmacSha256(verifier_.stored_key, auth_message);
  scram_internal::Key client_key{};
  for (size_t i = 0; i < client_key.size(); ++i) {
    client_key[i] = static_cast<uint8_t>(proof->at(i)) ^ client_signature[i];
  }
  const scram_internal::Key stored_key = scram_internal::Sha256(client_key);
  if (CRYPTO_memcmp(stored_key.data(), verifier_.stored_key.data(), stored_key.size()) != 0) {
    return Fail(Status::Error(sqlstate::kInvalidPassword, "password authentication failed"));
  }
  const scram_internal::Key server_signature = scram_internal::HmacSha256(verifier_.server_key, auth_message);
  TransitionTo(State::kSucceeded);
  return "v=" + Base64Encode(server_signature);
}

}  // namespace pgtenant::protocol
