// The keys of every fixed-key section of the YAML document (contract in config_keys.h).
#include "config/config_keys.h"

#include <array>

namespace pgtenant::config {

namespace {

constexpr std::string_view kTopKeys[] = {
    "listen",  "auth",   "limits", "pool",  "tenant_setting", "session_parameters", "tenant_identification",
    "username_separator", "backends", "tenants", "users", "audit", "doctor", "policy", "metrics", "log",
    "tls",     "admin",  "health_check", "peers", "workers", "worker_placement", "worker_busy_percent",
    "tenant_catalog"};
constexpr std::string_view kListenKeys[] = {"address", "port", "reuse_port"};
constexpr std::string_view kMetricsKeys[] = {"address", "port", "port_per_instance", "reuse_port"};
constexpr std::string_view kLogKeys[] = {"level", "format"};
constexpr std::string_view kAuthKeys[] = {"method", "jwt"};
constexpr std::string_view kJwtKeys[] = {"secret",     "public_keys",  "jwks",      "issuer",
                                         "audience",   "user_claim",   "tenant_claim", "clock_skew"};
constexpr std::string_view kTlsKeys[] = {"client", "sni_suffix"};
constexpr std::string_view kTlsClientKeys[] = {"mode", "certificate", "key", "ca", "min_version", "direct", "cert_users"};
constexpr std::string_view kLimitsKeys[] = {"max_client_connections", "max_query_size",   "max_function_call_size",
                                            "client_idle_timeout",    "idle_transaction_timeout", "startup_timeout",
                                            "shutdown_timeout"};
constexpr std::string_view kPoolKeys[] = {"mode", "size", "min_idle", "wait_timeout", "idle_timeout", "lifetime"};
constexpr std::string_view kBackendKeys[] = {"host",     "port",          "database",        "user",
                                             "password", "sslmode",       "max_connections", "connect_timeout",
                                             "shared_pool", "sslrootcert", "hosts"};
constexpr std::string_view kBackendHostKeys[] = {"host", "port"};
constexpr std::string_view kHealthCheckKeys[] = {"interval", "timeout"};
constexpr std::string_view kPeerKeys[] = {"id", "address"};
constexpr std::string_view kTenantKeys[] = {"id",          "isolation",  "schema",
                                            "backend",     "server_role", "pool",
                                            "max_clients", "max_transactions_per_second",
                                            "idle_transaction_timeout", "compliance", "policy"};
constexpr std::string_view kServerRoleKeys[] = {"user", "password"};
constexpr std::string_view kComplianceKeys[] = {"regulations", "retention"};
constexpr std::string_view kUserKeys[] = {"password", "tenants", "pool", "idle_transaction_timeout"};
constexpr std::string_view kPolicyKeys[] = {"rules", "deny_tables", "deny_functions", "read_only", "roles"};
constexpr std::string_view kPolicyRolesKeys[] = {"admin", "member", "viewer"};
constexpr std::string_view kPolicyRoleKeys[] = {"rules", "deny_tables", "deny_functions", "read_only"};
constexpr std::string_view kAuditKeys[] = {"sinks", "queue_size", "on_overflow", "statements"};
constexpr std::string_view kAuditSinkKeys[] = {"type", "path"};
constexpr std::string_view kAdminKeys[] = {"users"};
constexpr std::string_view kDoctorKeys[] = {"tenant_column"};
constexpr std::string_view kTenantCatalogKeys[] = {"backend", "tenants_query", "memberships_query",
                                                   "users_query", "channel", "refresh_interval"};

constexpr std::array<ConfigSectionKeys, 26> kSections = {{
    {ConfigSection::kTop, "", kTopKeys},
    {ConfigSection::kListen, "listen", kListenKeys},
    {ConfigSection::kMetrics, "metrics", kMetricsKeys},
    {ConfigSection::kLog, "log", kLogKeys},
    {ConfigSection::kAuth, "auth", kAuthKeys},
    {ConfigSection::kJwt, "auth.jwt", kJwtKeys},
    {ConfigSection::kTls, "tls", kTlsKeys},
    {ConfigSection::kTlsClient, "tls.client", kTlsClientKeys},
    {ConfigSection::kLimits, "limits", kLimitsKeys},
    {ConfigSection::kPool, "pool", kPoolKeys},
    {ConfigSection::kBackend, "backends.NAME", kBackendKeys},
    {ConfigSection::kBackendHost, "backends.NAME.hosts[]", kBackendHostKeys},
    {ConfigSection::kHealthCheck, "health_check", kHealthCheckKeys},
    {ConfigSection::kPeer, "peers[]", kPeerKeys},
    {ConfigSection::kTenant, "tenants.NAME", kTenantKeys},
    {ConfigSection::kServerRole, "tenants.NAME.server_role", kServerRoleKeys},
    {ConfigSection::kCompliance, "tenants.NAME.compliance", kComplianceKeys},
    {ConfigSection::kUser, "users.NAME", kUserKeys},
    {ConfigSection::kPolicy, "policy", kPolicyKeys},
    {ConfigSection::kPolicyRoles, "policy.roles", kPolicyRolesKeys},
    {ConfigSection::kPolicyRole, "policy.roles.ROLE", kPolicyRoleKeys},
    {ConfigSection::kAudit, "audit", kAuditKeys},
    {ConfigSection::kAuditSink, "audit.sinks[]", kAuditSinkKeys},
    {ConfigSection::kAdmin, "admin", kAdminKeys},
    {ConfigSection::kDoctor, "doctor", kDoctorKeys},
    {ConfigSection::kTenantCatalog, "tenant_catalog", kTenantCatalogKeys},
}};

constexpr bool InEnumOrder() {
  for (size_t i = 0; i < kSections.size(); ++i) {
    if (static_cast<size_t>(kSections[i].section) != i) return false;
  }
  return true;
}
static_assert(InEnumOrder(), "kSections lists every ConfigSection once, in the order of the enum");
static_assert(static_cast<size_t>(ConfigSection::kTenantCatalog) + 1 == kSections.size(), "a ConfigSection has no keys");

}  // namespace

std::span<const ConfigSectionKeys> ConfigSections() { return kSections; }

const ConfigSectionKeys& SectionKeys(ConfigSection section) { return kSections[static_cast<size_t>(section)]; }

}  // namespace pgtenant::config
