// EffectivePolicy: merging the four policy levels of the config.
#include "policy/effective_policy.h"

#include "protocol/ascii_case.h"

namespace pgtenant::policy {

namespace {

DeniedName ToDeniedName(std::string_view text) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return DeniedName{"", protocol::AsciiLower(text)};
  return DeniedName{protocol::AsciiLower(text.substr(0, dot)), protocol::AsciiLower(text.substr(dot + 1))};
}

void Apply(const config::PolicyOverrides& level, EffectivePolicy& policy, std::optional<bool>& read_only) {
  for (const auto& [id, on] : level.rules) {
    if (auto index = config::PolicyRuleIndex(id)) policy.disabled.set(*index, !on);
  }
  for (const std::string& name : level.deny_tables) policy.deny_tables.push_back(ToDeniedName(name));
  for (const std::string& name : level.deny_functions) policy.deny_functions.push_back(ToDeniedName(name));
  if (level.read_only) read_only = level.read_only;
}

void ApplyConfig(const config::PolicyConfig& config, config::TenantRole role, EffectivePolicy& policy,
                 std::optional<bool>& read_only) {
  Apply(config.base, policy, read_only);
  auto it = config.roles.find(role);
  if (it != config.roles.end()) Apply(it->second, policy, read_only);
}

}  // namespace

bool EffectivePolicy::Enabled(std::string_view rule_id) const {
  const std::optional<size_t> index = config::PolicyRuleIndex(rule_id);
  if (!index) return true;
  return !disabled.test(*index);
}

EffectivePolicy ResolveEffectivePolicy(const config::Config& config, const config::TenantConfig* tenant,
                                       config::TenantRole role) {
  EffectivePolicy policy;
  std::optional<bool> read_only;
  ApplyConfig(config.policy, role, policy, read_only);
  if (tenant != nullptr) ApplyConfig(*tenant->policy, role, policy, read_only);
  policy.read_only = role == config::TenantRole::kViewer || read_only.value_or(false);
  // parse.error and parse.unknown_node are never switched off (the loader refuses it; this keeps the
  // engine safe regardless).
  policy.disabled.reset(*config::PolicyRuleIndex("parse.error"));
  policy.disabled.reset(*config::PolicyRuleIndex("parse.unknown_node"));
  return policy;
}

}  // namespace pgtenant::policy
