// Reading policy: sections (contract in config_loader_policy.h; keys documented in examples/full.yaml).
#include "config/config_loader_policy.h"

#include <array>
#include <cctype>

#include "config/config_enum_names.h"
#include "config/policy_rules.h"
#include "config/value_parsers.h"

namespace pgtenant::config {

namespace {

std::vector<std::string> RuleIds() {
  std::vector<std::string> ids;
  for (const PolicyRuleInfo& rule : kPolicyRules) ids.emplace_back(rule.id);
  return ids;
}

std::string DidYouMeanRule(std::string_view word) {
  std::optional<std::string> match = ClosestMatch(word, RuleIds());
  return match ? " (did you mean '" + *match + "'?)" : "; rule ids are listed in config/examples/full.yaml";
}

// on/off as YAML 1.1 spells them, and true/false; the reader hands us the scalar text.
std::optional<bool> ReadSwitch(YamlReader& reader, const Field& field) {
  std::optional<std::string> text = reader.ReadString(field);
  if (!text) return std::nullopt;
  if (*text == "on" || *text == "true") return true;
  if (*text == "off" || *text == "false") return false;
  reader.Fail(field, "expected on or off, got " + Quoted(*text));
  return std::nullopt;
}

// "name" or "schema.name": one or two plain identifiers (the engine compares case-insensitively).
bool IsQualifiedName(std::string_view text) {
  const size_t dot = text.find('.');
  if (dot == std::string_view::npos) return IsSqlIdentifier(text);
  return IsSqlIdentifier(text.substr(0, dot)) && IsSqlIdentifier(text.substr(dot + 1));
}

std::vector<std::string> ReadNameList(YamlReader& reader, const Field& field) {
  std::vector<std::string> names;
  for (const Field& item : reader.ReadSequence(field)) {
    std::optional<std::string> name = reader.ReadNonEmptyString(item);
    if (!name) break;
    if (!IsQualifiedName(*name)) {
      reader.Fail(item, "expected name or schema.name (plain SQL identifiers), got " + Quoted(*name));
      break;
    }
    names.push_back(std::move(*name));
  }
  return names;
}

void ReadRules(YamlReader& reader, const Field& field, std::map<std::string, bool>& rules) {
  const Mapping map = reader.ReadMapping(field);
  for (const MappingEntry& entry : map.entries()) {
    if (!PolicyRuleIndex(entry.key)) {
      reader.Fail(entry.key_mark, field.path,
                  "unknown rule id " + Quoted(entry.key) + DidYouMeanRule(entry.key));
      return;
    }
    std::optional<bool> on = ReadSwitch(reader, entry.value);
    if (!on) return;
    if (!*on && (entry.key == "parse.error" || entry.key == "parse.unknown_node")) {
      reader.Fail(entry.value, entry.key + " cannot be switched off: SQL pgtenant cannot inspect is never forwarded");
      return;
    }
    rules[entry.key] = *on;
  }
}

PolicyOverrides ReadOverrides(YamlReader& reader, const Mapping& map) {
  PolicyOverrides overrides;
  if (auto f = map.Get("rules")) ReadRules(reader, *f, overrides.rules);
  if (auto f = map.Get("deny_tables")) overrides.deny_tables = ReadNameList(reader, *f);
  if (auto f = map.Get("deny_functions")) overrides.deny_functions = ReadNameList(reader, *f);
  if (auto f = map.Get("read_only")) overrides.read_only = ReadSwitch(reader, *f);
  return overrides;
}

}  // namespace

PolicyConfig ReadPolicySection(YamlReader& reader, const Field& field) {
  PolicyConfig policy;
  const Mapping map = reader.ReadMapping(field, ConfigSection::kPolicy);
  policy.base = ReadOverrides(reader, map);
  if (auto roles_field = map.Get("roles")) {
    const Mapping roles = reader.ReadMapping(*roles_field, ConfigSection::kPolicyRoles);
    for (const MappingEntry& entry : roles.entries()) {
      const Mapping role_map =
          reader.ReadMapping(entry.value, ConfigSection::kPolicyRole);
      if (std::optional<TenantRole> role = ValueNamed(kTenantRoleNames, entry.key))
        policy.roles[*role] = ReadOverrides(reader, role_map);
    }
  }
  return policy;
}

}  // namespace pgtenant::config
