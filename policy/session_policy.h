// SessionPolicy: what the policy engine needs to know about one client session; built once per session
// by the proxy. Two sessions with equal SessionPolicy get the same verdict for the same text.
#pragma once

#include "config/config.h"

namespace pgtenant::policy {

struct SessionPolicy {
  const config::Config* config = nullptr;  // the snapshot the session holds; REQUIRES: non-null
  const config::TenantConfig* tenant = nullptr;
  config::TenantRole role = config::TenantRole::kMember;
  bool transaction_pooling = false;  // pool mode of the session's route
  bool shared_pool = false;          // the backend shares server connections across tenants

  bool operator==(const SessionPolicy&) const = default;
};

}  // namespace pgtenant::policy
