// PolicyVerdict: building a blocked verdict and its message to the client.
#include "policy/policy_verdict.h"

namespace pgtenant::policy {

SharedVerdict BlockedVerdict(std::string rule_id, std::string reason) {
  auto verdict = std::make_shared<PolicyVerdict>();
  verdict->allowed = false;
  verdict->rule_id = std::move(rule_id);
  verdict->reason = std::move(reason);
  return verdict;
}

std::string BlockedMessage(const PolicyVerdict& verdict) {
  return "pgtenant: blocked by rule " + verdict.rule_id + ": " + verdict.reason;
}

}  // namespace pgtenant::policy
