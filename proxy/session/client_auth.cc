// ClientAuthenticator: the server side of PostgreSQL authentication (protocol section 55.2.1).
#include "proxy/session/client_auth.h"

#include "protocol/md5_auth.h"
#include "protocol/message_builder.h"
#include "protocol/message_reader.h"
#include "protocol/random.h"
#include "protocol/sqlstate.h"

namespace pgtenant::proxy {

ClientAuthenticator::ClientAuthenticator(config::AuthMethod method, const config::UserConfig* user,
                                         std::string username, std::string_view mock_secret)
    : method_(method), user_(user), username_(std::move(username)), mock_secret_(mock_secret) {}

Status ClientAuthenticator::Failed() const {
  return Status::Error(sqlstate::kInvalidPassword, "password authentication failed for user \"" + username_ + "\"");
}

ClientAuthenticator::Step ClientAuthenticator::Start(std::string& out) {
  switch (method_) {
    case config::AuthMethod::kTrust:
      state_ = State::kDone;
      protocol::AppendAuthenticationOk(out);
      return Step::kAuthenticated;
    case config::AuthMethod::kMd5:
      protocol::FillRandom(salt_);
      protocol::AppendAuthenticationMd5(out, salt_);
      state_ = State::kAwaitMd5;
      return Step::kContinue;
    case config::AuthMethod::kScramSha256:
      break;
    case config::AuthMethod::kCert:
    case config::AuthMethod::kJwt:
      // ClientSession handles these (client_session_tls.cc). Should one get here, fail closed: a
      // SCRAM exchange against the mock verifier, which cannot succeed.
      user_ = nullptr;
      break;
  }
  // The loader parsed the verifier (UserConfig::scram); a UserConfig made elsewhere has only the text.
  Result<protocol::ScramVerifier> parsed = Failed();
  if (user_ != nullptr) parsed = user_->scram ? *user_->scram : protocol::ScramVerifier::Parse(user_->password);
  scram_ = std::make_unique<protocol::ScramServer>(parsed.ok() ? std::move(parsed).value()
                                                               : protocol::MakeMockVerifier(username_, mock_secret_));
  protocol::AppendAuthenticationSasl(out, {"SCRAM-SHA-256"});
  state_ = State::kAwaitSaslInitial;
  return Step::kContinue;
}

Result<ClientAuthenticator::Step> ClientAuthenticator::OnPasswordMessage(std::span<const uint8_t> body,
                                                                          std::string& out) {
  switch (state_) {
    case State::kAwaitMd5: {
      auto response = protocol::ParsePasswordMessage(body);
      if (!response.ok()) return response.status();
      state_ = State::kDone;
      if (user_ == nullptr || !protocol::VerifyMd5Response(user_->password, salt_, *response)) return Failed();
      protocol::AppendAuthenticationOk(out);
      return Step::kAuthenticated;
    }
    case State::kAwaitSaslInitial: {
      auto initial = protocol::ParseSaslInitialResponse(body);
      if (!initial.ok()) return initial.status();
      if (initial->mechanism != "SCRAM-SHA-256") {
        return Status::Error(sqlstate::kProtocolViolation,
                             "client selected an invalid SASL authentication mechanism");
      }
      auto server_first = scram_->HandleClientFirst(initial->data);
      if (!server_first.ok()) return server_first.status();
      protocol::AppendAuthenticationSaslContinue(out, *server_first);
      state_ = State::kAwaitSaslFinal;
      return Step::kContinue;
    }
    case State::kAwaitSaslFinal: {
      std::string_view final_msg(reinterpret_cast<const char*>(body.data()), body.size());
      auto server_final = scram_->HandleClientFinal(final_msg);
      state_ = State::kDone;
      if (!server_final.ok()) {
        if (server_final.status().sqlstate() == sqlstate::kInvalidPassword) return Failed();
        return server_final.status();
      }
      if (user_ == nullptr) return Failed();  // the mock verifier cannot match, but never trust it
      protocol::AppendAuthenticationSaslFinal(out, *server_final);
      protocol::AppendAuthenticationOk(out);
      return Step::kAuthenticated;
    }
    default:
      return Status::Error(sqlstate::kProtocolViolation, "unexpected password message");
  }
}

}  // namespace pgtenant::proxy
