// ConfigSection: every mapping of the YAML document whose keys are fixed, and the keys it accepts.
//
// These are the lists the loader's unknown-key check uses (YamlReader::ReadMapping takes a section, not a
// list), so this table is the schema itself: the README's configuration reference and
// config/examples/full.yaml are compared with it (tests/config/config_reference_test.cc). Mappings whose
// keys are names (backends, tenants, users, a user's tenants, policy.rules, tls.client.cert_users) are
// not sections.
#pragma once

#include <set>
#include <span>
#include <string>
#include <string_view>

#include "config/config.h"

namespace pgtenant::config {

enum class ConfigSection {
  kTop,
  kListen,
  kMetrics,
  kLog,
  kAuth,
  kJwt,
  kTls,
  kTlsClient,
  kLimits,
  kPool,
  kBackend,
  kBackendHost,
  kHealthCheck,
  kPeer,
  kTenant,
  kServerRole,
  kCompliance,
  kUser,
  kPolicy,
  kPolicyRoles,
  kPolicyRole,
  kAudit,
  kAuditSink,
  kAdmin,
  kDoctor,
  kTenantCatalog,
};

struct ConfigSectionKeys {
  ConfigSection section;
  // Where the section is, as the README writes it: "" for the document, "backends.NAME" (NAME: any
  // entry), "policy.roles.ROLE", "peers[]" (an item of a sequence). A section used in several places
  // (pool and policy also under tenants.NAME and users.NAME) is named by its top-level place.
  std::string_view path;
  std::span<const std::string_view> keys;
};

// Every section, in the order of the enum.
std::span<const ConfigSectionKeys> ConfigSections();
const ConfigSectionKeys& SectionKeys(ConfigSection section);

// The keys the loader read from `yaml`, as "PATH.KEY" (PATH as in ConfigSectionKeys; just "KEY" at the
// top), whether or not the document is valid.
std::set<std::string> KeysReadFrom(std::string_view yaml, const EnvLookup& env);

}  // namespace pgtenant::config
