// Fuzz target: both sides of the SCRAM-SHA-256 exchange and the stored-verifier parser.
//
// Input: up to five parts separated by NUL bytes:
//   1. a verifier text for ScramVerifier::Parse (round-tripped through ToString when valid)
//   2. client-first-message  -> ScramServer::HandleClientFirst   (fixed verifier and server nonce)
//   3. client-final-message  -> ScramServer::HandleClientFinal
//   4. server-first-message  -> ScramClient::HandleServerFirst   (fixed password and client nonce)
//   5. server-final-message  -> ScramClient::VerifyServerFinal
// Server-first messages asking for more than kFuzzMaxIterations PBKDF2 rounds are skipped: a large
// count is legitimate, only slow (the proxy trusts its backends' iteration counts).
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/scram.h"

namespace {

using namespace pgtenant::protocol;

constexpr std::string_view kPassword = "pencil";
constexpr std::string_view kSalt = "fixedsalt1234567";
constexpr std::string_view kServerNonce = "3rfcNHYJY1ZVvWVs7j";
constexpr std::string_view kClientNonce = "rOprNGfwEbeRWgbNEkqO";
constexpr int kVerifierIterations = 16;
constexpr long long kFuzzMaxIterations = 64;

void Check(bool condition) {
  if (!condition) abort();
}

const ScramVerifier& FixedVerifier() {
  static const ScramVerifier verifier = MakeScramVerifier(kPassword, kVerifierIterations, std::string(kSalt));
  return verifier;
}

// True if every "i=" in the text is followed by a digit run worth at most kFuzzMaxIterations.
bool IterationsAreCheap(std::string_view text) {
  for (size_t at = text.find("i="); at != std::string_view::npos; at = text.find("i=", at + 1)) {
    long long value = 0;
    for (size_t i = at + 2; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
      value = value * 10 + (text[i] - '0');
      if (value > kFuzzMaxIterations) return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() < 4) {
    size_t nul = input.find('\0');
    if (nul == std::string_view::npos) break;
    parts.push_back(input.substr(0, nul));
    input.remove_prefix(nul + 1);
  }
  parts.push_back(input);
  parts.resize(5);

  auto parsed = ScramVerifier::Parse(parts[0]);
  if (parsed.ok()) {
    auto again = ScramVerifier::Parse(parsed->ToString());
    Check(again.ok() && *again == *parsed);
  }

  ScramServer server{FixedVerifier(), std::string(kServerNonce)};
  auto server_first = server.HandleClientFirst(parts[1]);
  Check(server_first.ok() == (server.state() == ScramServer::State::kExpectClientFinal));
  auto server_final = server.HandleClientFinal(parts[2]);
  Check(server_final.ok() == (server.state() == ScramServer::State::kSucceeded));
  Check(!server_final.ok() || server_first.ok());

  if (IterationsAreCheap(parts[3])) {
    ScramClient client{std::string(kPassword), std::string(kClientNonce)};
    (void)client.ClientFirstMessage();
    auto client_final = client.HandleServerFirst(parts[3]);
    pgtenant::Status verified = client.VerifyServerFinal(parts[4]);
    Check(!verified.ok() || (client_final.ok() && client.state() == ScramClient::State::kSucceeded));
  }
  return 0;
}
