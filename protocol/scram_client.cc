// ScramClient: the client side of SCRAM-SHA-256, following libpq's src/interfaces/libpq/fe-auth-scram.c.
#include "protocol/scram.h"

#include <openssl/crypto.h>

#include <charconv>

#include "protocol/base64.h"
#include "protocol/scram_crypto.h"
#include "protocol/sqlstate.h"

namespace pgtenant::protocol {
namespace {

using scram_internal::Malformed;
using scram_internal::ReadAttribute;

// RFC 5802 saslname: ',' and '=' are escaped.
std::string EscapeSaslName(std::string_view name) {
  std::string out;
  for (char c : name) {
    if (c == ',') {
      out += "=2C";
    } else if (c == '=') {
      out += "=3D";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

ScramClient::ScramClient(std::string password, std::string client_nonce, std::string username)
    : password_(std::move(password)),
      client_nonce_(client_nonce.empty() ? scram_internal::RandomNonce() : std::move(client_nonce)),
      username_(std::move(username)) {}

Status ScramClient::Fail(Status error) {
  TransitionTo(State::kFailed);
  return error;
}

std::string ScramClient::ClientFirstMessage() {
  client_first_bare_ = "n=" + EscapeSaslName(username_) + ",r=" + client_nonce_;
  TransitionTo(State::kExpectServerFirst);
  return "n,," + client_first_bare_;
}

Result<std::string> ScramClient::HandleServerFirst(std::string_view server_first) {
  if (state_ != State::kExpectServerFirst) return Fail(Malformed("unexpected server-first-message"));
  // server-first-message: [reserved-mext ","] nonce "," salt "," iteration-count
  std::string_view message = server_first, nonce, salt_text, iterations_text;
  if (message.starts_with("m=")) return Fail(Malformed("server requires an unsupported SCRAM extension"));
  if (!ReadAttribute(message, 'r', nonce)) return Fail(Malformed("nonce attribute expected"));
  if (nonce.size() <= client_nonce_.size() || !nonce.starts_with(client_nonce_) ||
      !scram_internal::IsPrintableNonce(nonce)) {
    return Fail(Malformed("server nonce does not extend the client nonce"));
  }
  if (!ReadAttribute(message, 's', salt_text)) return Fail(Malformed("salt attribute expected"));
  Result<std::string> salt = Base64Decode(salt_text);
  if (!salt.ok() || salt->empty()) return Fail(Malformed("invalid salt"));
  if (!ReadAttribute(message, 'i', iterations_text)) return Fail(Malformed("iteration count expected"));
  int iterations = 0;
  const auto [end, ec] =
      std::from_chars(iterations_text.data(), iterations_text.data() + iterations_text.size(), iterations);
  if (iterations_text.empty() || ec != std::errc() || end != iterations_text.data() + iterations_text.size() ||
      iterations < 1) {
    return Fail(Malformed("invalid iteration count"));
  }
  if (!message.empty()) return Fail(Malformed("garbage at end of server-first-message"));

  const scram_internal::ScramKeys keys =
      scram_internal::DeriveKeys(scram_internal::SaltedPassword(password_, *salt, iterations));
  const std::string without_proof = "c=biws,r=" + std::string(nonce);
  const std::string auth_message = client_first_bare_ + "," + std::string(server_first) + "," + without_proof;
  const scram_internal::Key client_signature = scram_internal::HmacSha256(keys.stored_key, auth_message);
  scram_internal::Key proof{};
  for (size_t i = 0; i < proof.size(); ++i) proof[i] = keys.client_key[i] ^ client_signature[i];
  expected_server_signature_ = scram_internal::HmacSha256(keys.server_key, auth_message);
  TransitionTo(State::kExpectServerFinal);
  return without_proof + ",p=" + Base64Encode(proof);
}

Status ScramClient::VerifyServerFinal(std::string_view server_final) {
  if (state_ != State::kExpectServerFinal) return Fail(Malformed("unexpected server-final-message"));
  std::string_view message = server_final, value;
  if (ReadAttribute(message, 'e', value)) {
    return Fail(Status::Error(sqlstate::kInvalidAuthorizationSpecification,
                              "SCRAM authentication failed: server reported \"" + std::string(value) + "\""));
  }
  message = server_final;
  if (!ReadAttribute(message, 'v', value)) return Fail(Malformed("verifier attribute expected"));
  if (!message.empty()) return Fail(Malformed("garbage at end of server-final-message"));
  Result<std::string> signature = Base64Decode(value);
  if (!signature.ok() || signature->size() != expected_server_signature_.size() ||
      CRYPTO_memcmp(signature->data(), expected_server_signature_.data(), expected_server_signature_.size()) != 0) {
    return Fail(Malformed("incorrect server signature"));
  }
  TransitionTo(State::kSucceeded);
  return Status::Ok();
}

}  // namespace pgtenant::protocol
