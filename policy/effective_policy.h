// EffectivePolicy: the policy: settings that apply to one (tenant, role), resolved from the config.
//
// Resolution, most specific wins: top-level policy -> top-level roles[role] -> tenant policy ->
// tenant roles[role]. Rule switches override the level above; deny lists accumulate; read_only is the
// most specific value set, and a viewer is always read-only.
// Thread-safety: a plain value.
#pragma once

#include <bitset>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/policy_rules.h"

namespace pgtenant::policy {

// A denied table or function: schema empty when the entry was a bare name. Both lowercase.
struct DeniedName {
  std::string schema;
  std::string name;
};

struct EffectivePolicy {
  std::bitset<config::kPolicyRuleCount> disabled;  // by index in config::kPolicyRules
  std::vector<DeniedName> deny_tables;
  std::vector<DeniedName> deny_functions;
  bool read_only = false;

  // True for an unknown id: a typo in policy/ must never switch a check off.
  bool Enabled(std::string_view rule_id) const;
};

// REQUIRES: `tenant` is null or points into `config`.
EffectivePolicy ResolveEffectivePolicy(const config::Config& config, const config::TenantConfig* tenant,
                                       config::TenantRole role);

}  // namespace pgtenant::policy
