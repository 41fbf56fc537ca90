// ClientAuthenticator: checks a client's password against the config, without I/O.
//
// SCRAM-SHA-256 (RFC 5802/7677) by default, md5 when configured, trust only when configured
// explicitly. An unknown user goes through the same exchange with a mock verifier and fails at
// the same step with the same message as a wrong password (28P01), so probing reveals nothing.
#pragma once

#include <array>
#include <memory>
#include <span>
#include <string>

#include "config/config.h"
#include "protocol/scram.h"
#include "protocol/status.h"

namespace pgtenant::proxy {

class ClientAuthenticator {
 public:
  enum class Step { kContinue, kAuthenticated };

  // `user` may be null (unknown user). `mock_secret` keys the mock verifiers.
  ClientAuthenticator(config::AuthMethod method, const config::UserConfig* user, std::string username,
                      std::string_view mock_secret);

  // The first authentication request; for trust it is AuthenticationOk and Start returns kAuthenticated.
  Step Start(std::string& out);
  // Handles one password-type ('p') message body and appends the reply. Errors are 28P01 or 08P01.
  Result<Step> OnPasswordMessage(std::span<const uint8_t> body, std::string& out);

 private:
  enum class State { kStart, kAwaitMd5, kAwaitSaslInitial, kAwaitSaslFinal, kDone };
  Status Failed() const;

  config::AuthMethod method_;
  const config::UserConfig* user_;
  std::string username_;
  std::string mock_secret_;
  State state_ = State::kStart;
  std::array<uint8_t, 4> salt_{};
  std::unique_ptr<protocol::ScramServer> scram_;
};

}  // namespace pgtenant::proxy
