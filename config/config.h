// Config: the validated, immutable description of listeners, backends, tenants and users.
//
// A Config is built only by LoadConfigFile / LoadConfigString (config_loader.cc), which accept a
// YAML file (reference: config/examples/full.yaml) and either return a fully validated snapshot or
// an error whose message starts "FILE:LINE:COLUMN: key.path: ..." (line and column 1-based).
// Nothing in this library throws.
//
// Guarantees of a loaded Config (callers need not re-check):
//   - every TenantConfig::backend names an entry of `backends`; every UserConfig::tenants key names
//     an entry of `tenants`; at least one backend, tenant and user exist; every user has a tenant,
//     except admin users (admin.users), who may have none; every admin user names an entry of `users`;
//   - map keys equal the `name` field of their value; names match [A-Za-z0-9_-]+ and user names do
//     not contain `username_separator`;
//   - tenant ids are canonical lowercase UUIDs (8-4-4-4-12), unique across tenants;
//   - `schema` is non-empty iff isolation == kSchema, is a plain SQL identifier
//     ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes, case kept as written: quote it when building SQL)
//     and no two tenants share a schema; a kDatabase tenant is the only tenant on its backend;
//   - `server_role.user` is set only for kSchema tenants; no two tenants whose backends reach the same
//     database (hosts[0] and database) name the same server role, and none names such a backend's user;
//   - `tenant_setting` is a dotted custom GUC name (ident.ident[...]), safe to put into `-c name=value`;
//   - user passwords are a SCRAM-SHA-256 verifier when auth_method is kScramSha256, an "md5" + 32
//     lowercase hex hash when kMd5, and empty or either form when kTrust;
//   - every duration is > 0 except client_idle_timeout and idle_transaction_timeout (0 = off, at every
//     level); every pool resolves to size >= 1
//     and 0 <= min_idle <= size; ports are 1..65535;
//   - `tenant_identification` is non-empty and has no duplicates;
//   - every backend has at least one host (hosts[0] == {host, port}), no host listed twice.
//
// Thread-safety: a Config is never modified after loading; share it as shared_ptr<const Config>.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/log_config.h"
#include "config/sparse.h"
#include "config/tenant_index.h"
#include "protocol/scram.h"
#include "protocol/status.h"

namespace pgtenant::config {

using Duration = std::chrono::milliseconds;

enum class PoolMode { kSession, kTransaction };
// kCert: a verified TLS client certificate names the user (tls.client.ca required).
// kJwt: the password field carries a JWT (auth.jwt), accepted only over TLS.
enum class AuthMethod { kScramSha256, kMd5, kTrust, kCert, kJwt };
enum class IsolationMode { kRls, kSchema, kDatabase };
enum class TenantRole { kAdmin, kMember, kViewer };
enum class IdentificationMethod { kSni, kUsernameSuffix, kStartupOption, kDatabaseName, kSingleTenant };
// Where server pools live among the workers (proxy/worker/worker_group.h). kAdaptive: pools fill the lowest
// worker until it is busy and move between workers as load changes; kSpread: the worker with the
// fewest pools, for good.
enum class WorkerPlacement { kAdaptive, kSpread };

// What one level (top, tenant, user) sets explicitly; unset fields fall through to the level above.
struct PoolOverrides {
  std::optional<PoolMode> mode;
  std::optional<int> size;
  std::optional<int> min_idle;
  std::optional<Duration> wait_timeout;
  std::optional<Duration> idle_timeout;
  std::optional<Duration> lifetime;
  bool operator==(const PoolOverrides&) const = default;
};

// Resolved: defaults <- top <- tenant <- user (most specific wins).
struct PoolSettings {
  PoolMode mode = PoolMode::kSession;
  int size = 20;
  int min_idle = 0;
  Duration wait_timeout{5000};
  Duration idle_timeout{600000};
  Duration lifetime{3600000};
  bool operator==(const PoolSettings&) const = default;
};

struct ListenConfig {
  std::string address = "127.0.0.1";
  int port = 6432;
  bool reuse_port = false;  // SO_REUSEPORT: several pgtenant processes may listen on the port
};

// metrics: the Prometheus endpoint (GET /metrics). Off unless the section is present.
struct MetricsConfig {
  bool enabled = false;
  std::string address = "127.0.0.1";
  int port = 9187;
  // Several instances on one host: port + the instance id (--instance-id) is this instance's port.
  bool port_per_instance = false;
  bool reuse_port = false;  // SO_REUSEPORT: several processes share the port (a scrape reaches any one)
};

// tls: client-facing TLS, read by config_loader_tls.cc. Files are read by the proxy (at start and
// for new sessions when they change), not by this library.
enum class TlsClientMode { kDisable, kAllow, kRequire };

struct TlsClientConfig {
  TlsClientMode mode = TlsClientMode::kDisable;
  std::string certificate;     // PEM file (chain); required unless mode is kDisable
  std::string key;             // PEM private key; required unless mode is kDisable
  std::string ca;              // PEM CA file: when set, client certificates are requested and verified
  std::string min_version = "1.2";  // "1.2" or "1.3"
  bool direct = false;         // accept direct TLS (PostgreSQL 17 sslnegotiation=direct, ALPN postgresql)
  // Certificate identity (CN or a DNS/email SAN) -> login name ("alice" or "alice.acme" with the
  // username separator naming the tenant). Without an entry the CN itself is the login name.
  std::map<std::string, std::string> cert_users;
  bool enabled() const { return mode != TlsClientMode::kDisable; }
};

struct TlsConfig {
  TlsClientConfig client;
  // SNI identification: only server names ending with this suffix name a tenant, the label before
  // it ("acme" in acme.db.example.com with ".db.example.com"). Empty: the first label of any name.
  std::string sni_suffix;
};

// auth.jwt: how JWT passwords are verified (proxy/session/jwt_verifier.h).
struct JwtConfig {
  std::string secret;                    // HS256 shared secret; "" = HS256 off
  std::vector<std::string> public_keys;  // PEM files (RSA or EC P-256) for RS256/ES256
  std::string jwks;                      // a JWKS file: kid -> key
  std::string issuer;                    // required `iss` when set
  std::string audience;                  // required in `aud` when set
  std::string user_claim = "sub";        // must equal the login user
  std::string tenant_claim;              // e.g. org_id: tenant name or id; "" = tokens name no tenant
  Duration clock_skew{30000};
};

// One address of a backend: its primary or an alternate (replica, standby). As in libpq, a host
// that starts with '/' is the directory of the server's Unix-domain socket (<host>/.s.PGSQL.<port>);
// any other host is a name or an address reached over TCP.
struct BackendHost {
  std::string host;
  int port = 5432;
  bool operator==(const BackendHost&) const = default;
};

inline bool IsSocketDirectory(std::string_view host) { return !host.empty() && host.front() == '/'; }
// The socket of a socket directory: "/run/postgresql/.s.PGSQL.5432".
std::string SocketPath(std::string_view directory, int port);
// For messages: "host:port", "[v6 address]:port", or the socket's path.
std::string DescribeAddress(std::string_view host, int port);
// The longest socket path a sockaddr_un holds (without its NUL); the loader refuses longer ones.
inline constexpr size_t kMaxSocketPathBytes = 107;

struct BackendConfig {
  std::string name;
  // hosts[0] (the form `host:`/`port:` sets only that one); kept for code that needs one address.
  std::string host = "127.0.0.1";
  int port = 5432;
  // `hosts:` in order of preference, never empty once loaded; new server connections go to the
  // first one that is not down (proxy/server/backend_health.h).
  std::vector<BackendHost> hosts;
  std::string database;
  std::string user;
  std::string password;
  std::string sslmode = "disable";  // disable|allow|prefer|require|verify-ca|verify-full
  std::string sslrootcert;          // CA file that verifies the server (verify-ca, verify-full); "" = system default
  int max_connections = 0;          // cap on server connections to this backend across all pools; 0 = none
  Duration connect_timeout{5000};
  // Opt-in: RLS tenants on this backend share server connections; pgtenant sets the tenant
  // context on checkout and resets session state when the previous user was another tenant.
  bool shared_pool = false;
  bool operator==(const BackendConfig&) const = default;
};

// Whether two backends reach the same database: the same first host and database name. Grants, schemas and
// statistics are per database, so this is where server roles must differ.
bool SameDatabase(const BackendConfig& a, const BackendConfig& b);

// health_check: periodic login + SELECT 1 on every host of every backend. Off unless the section is present.
struct HealthCheckConfig {
  bool enabled = false;
  Duration interval{5000};  // between two checks of a host
  Duration timeout{2000};   // a check not finished by then marks the host down
};

// peers: every pgtenant instance sharing this file, this one included (scale-out). A cancel request
// whose key names another instance is forwarded to that instance's address, once.
inline constexpr int kMaxInstanceId = 1023;
inline constexpr int kMaxWorkers = 64;  // workers: 1..kMaxWorkers (6 bits of the cancel key)  // instance ids are 0..kMaxInstanceId (10 bits of the key)

struct PeerConfig {
  int id = 0;
  std::string host;
  int port = 0;
  bool operator==(const PeerConfig&) const = default;
};

// tenants.NAME.compliance: metadata copied into every audit event of the tenant.
struct ComplianceConfig {
  std::vector<std::string> regulations;  // e.g. GDPR, LGPD, HIPAA, SOX; as written, in order
  std::optional<int> retention_days;     // how long the tenant's audit trail is kept; unset = unspecified
  bool operator==(const ComplianceConfig&) const = default;
};

enum class AuditSinkType { kFile, kStdout };
enum class AuditOverflow { kBlock, kDrop };

struct AuditSinkConfig {
  AuditSinkType type = AuditSinkType::kStdout;
  std::string path;  // kFile only: absolute or relative to the working directory
};

// audit: where audit events (policy/audit_event.h) go. No sinks = audit off.
struct AuditConfig {
  std::vector<AuditSinkConfig> sinks;
  size_t queue_size = 10000;                        // events held for the writer thread
  AuditOverflow on_overflow = AuditOverflow::kDrop;  // full queue: drop (counted) or block the emitter
  bool statements = false;                          // an event per statement (fingerprint, normalized text)
  bool enabled() const { return !sinks.empty(); }
};

// doctor: settings of `pgtenant doctor`.
struct DoctorConfig {
  std::string tenant_column = "org_id";  // the column that marks a table as shared by RLS tenants
};

// policy: what one level (top, top.roles[role], tenant, tenant.roles[role]) says about the SQL policy
// (policy/policy_engine.h). Unset fields fall through; rule switches override, lists accumulate.
struct PolicyOverrides {
  std::map<std::string, bool> rules;        // rule id (config/policy_rules.h) -> on (true) | off (false)
  std::vector<std::string> deny_tables;     // "name" or "schema.name", as written
  std::vector<std::string> deny_functions;  // "name" or "schema.name", as written
  std::optional<bool> read_only;            // true: writes are refused (viewers always are)
  bool operator==(const PolicyOverrides&) const = default;
};

struct PolicyConfig {
  PolicyOverrides base;
  std::map<TenantRole, PolicyOverrides> roles;  // per tenant role, applied after `base` of the same level
  bool operator==(const PolicyConfig&) const = default;
};

// tenants.NAME.server_role (schema tenants only): the role the tenant's server connections log in as
// (the server session's session user, in the startup packet), instead of its backend's user, so that the
// database itself keeps the tenant to its own schema. It is authenticated like the backend's user.
struct ServerRoleConfig {
  std::string user;      // empty: the tenant logs in as its backend's user
  std::string password;  // may be empty (trust or peer authentication)
  bool operator==(const ServerRoleConfig&) const = default;
};

// Where a tenant was described: the YAML file, or a row of the tenant catalog (tenant_catalog.h).
enum class TenantSource : uint8_t { kYaml, kCatalog };

struct TenantConfig {
  std::string name;
  std::string id;  // a UUID, stored lowercase
  IsolationMode isolation = IsolationMode::kRls;
  TenantSource source = TenantSource::kYaml;  // in the padding after `isolation`: costs no byte
  std::string schema;   // non-empty iff isolation == kSchema
  std::string backend;  // names an entry of Config::backends
  Sparse<ServerRoleConfig> server_role;  // set only when isolation == kSchema
  Sparse<PoolOverrides> pool;
  int max_clients = 0;  // 0 = unlimited
  // Transactions started per second across the tenant's sessions; excess ones are delayed, not
  // refused. 0 = unlimited.
  int max_transactions_per_second = 0;
  std::optional<Duration> idle_transaction_timeout;  // overrides limits.idle_transaction_timeout
  Sparse<ComplianceConfig> compliance;
  Sparse<PolicyConfig> policy;  // tenants.NAME.policy
  // Every field (a reload compares entries by name: config_change.h).
  bool operator==(const TenantConfig&) const = default;
};

struct UserConfig {
  std::string name;
  // "md5<32 hex>"; empty if auth method is trust, or if the password is a SCRAM verifier (`scram`).
  std::string password;
  // users.NAME.password, when it is a SCRAM-SHA-256 verifier ("SCRAM-SHA-256$<iter>:<salt>$<stored>:
  // <server>"), decoded once at load: a handshake needs its salt and keys. Its text is not kept.
  std::optional<protocol::ScramVerifier> scram;
  std::map<std::string, TenantRole> tenants;  // tenant name -> role; each names an entry of Config::tenants
  Sparse<PoolOverrides> pool;
  std::optional<Duration> idle_transaction_timeout;  // overrides the tenant's and limits.idle_transaction_timeout
  bool operator==(const UserConfig&) const = default;
};

// admin: who may open the admin console (the virtual database "pgtenant", proxy/admin/admin_console.h).
struct AdminConfig {
  std::vector<std::string> users;  // each names an entry of Config::users; no duplicates
};

// tenant_catalog: tenants, memberships and users read at run time from queries on a backend
// (catalog/catalog_reader.h), merged with the YAML (config/tenant_catalog.h). Off unless present.
struct TenantCatalogConfig {
  bool enabled = false;
  std::string backend;  // names an entry of Config::backends: where the queries run, as its user
  // Each returns the named columns (any order, more are ignored); NULL reads as "".
  std::string tenants_query = "SELECT name, id, isolation, schema, backend FROM pgtenant_catalog.tenants";
  std::string memberships_query = "SELECT user_name, tenant, role FROM pgtenant_catalog.memberships";
  std::string users_query;  // columns name, password (a verifier); "" = users come only from the YAML
  std::string channel = "pgtenant_catalog";  // LISTEN channel: a lowercase SQL identifier
  Duration refresh_interval{30000};
  bool operator==(const TenantCatalogConfig&) const = default;
};

struct Config {
  std::string source;  // file path (or name given to LoadConfigString)
  ListenConfig listen;
  AuthMethod auth_method = AuthMethod::kScramSha256;
  int max_client_connections = 1000;
  // Event-loop threads (proxy/worker/worker_group.h); 0: one per CPU core. A reload does not change it.
  int workers = 0;
  WorkerPlacement worker_placement = WorkerPlacement::kAdaptive;
  // kAdaptive: a worker whose thread used more than this share of a core over the last second is
  // busy: it passes pools to a quieter one. Pools come back together once two workers together use
  // less than half of it.
  int worker_busy_percent = 70;
  // Caps on the messages pgtenant buffers whole (bytes): SQL-bearing ones (Query, Parse), parsed by the
  // policy, and FunctionCall. A larger one is skipped with ERROR 54000; the session goes on.
  size_t max_query_size = size_t{8} << 20;
  size_t max_function_call_size = size_t{16} << 20;
  Duration client_idle_timeout{0};  // 0 = off
  // A client idle inside a transaction this long gets FATAL 25P03 and its server connection is
  // closed. 0 = off. Tenants and users may override it (ResolveIdleTransactionTimeout).
  Duration idle_transaction_timeout{0};
  Duration startup_timeout{10000};  // client must finish startup+auth within it
  Duration shutdown_timeout{30000};
  std::string tenant_setting = "app.current_organization_id";
  // Run-time parameters a client may SET, RESET and pass at startup (or in PGOPTIONS -c) in every
  // pool mode: pgtenant keeps them per client and sets them on whichever server connection the client
  // gets (compared case-insensitively). The tenant setting, role, session_authorization, search_path
  // and the encoding and read-only settings cannot be listed.
  std::vector<std::string> session_parameters = {
      "TimeZone",          "DateStyle",           "IntervalStyle",     "extra_float_digits",
      "application_name",  "bytea_output",        "client_min_messages", "statement_timeout",
      "lock_timeout",      "idle_in_transaction_session_timeout"};
  std::string username_separator = ".";
  std::vector<IdentificationMethod> tenant_identification = {
      IdentificationMethod::kUsernameSuffix, IdentificationMethod::kStartupOption, IdentificationMethod::kDatabaseName,
      IdentificationMethod::kSingleTenant};
  PoolOverrides pool;  // top level
  std::map<std::string, BackendConfig> backends;
  std::map<std::string, TenantConfig> tenants;
  std::map<std::string, UserConfig> users;
  MetricsConfig metrics;
  LogConfig log;  // log: level and line format of pgtenant's own log (PGTENANT_LOG_LEVEL overrides the level)
  HealthCheckConfig health_check;
  std::vector<PeerConfig> peers;  // ids and addresses unique
  TlsConfig tls;
  JwtConfig jwt;
  AuditConfig audit;
  DoctorConfig doctor;
  PolicyConfig policy;  // top-level policy: defaults for every tenant
  AdminConfig admin;
  TenantCatalogConfig tenant_catalog;
  TenantIndex tenant_index;

  // True if `user` is listed under admin.users.
  bool IsAdmin(std::string_view user) const;
  // True if `name` is listed under session_parameters.
  bool IsSessionParameter(std::string_view name) const;

  // nullptr if there is none by that name. Pointers live as long as this Config.
  const BackendConfig* FindBackend(std::string_view name) const;
  const TenantConfig* FindTenant(std::string_view name) const;
  const UserConfig* FindUser(std::string_view name) const;
  // The tenant whose id is `id` (compared case-insensitively), or nullptr.
  const TenantConfig* FindTenantById(std::string_view id) const;
  // The schema-isolated tenant whose schema is `schema` (compared in ASCII case-insensitively), or nullptr.
  const TenantConfig* FindTenantBySchema(std::string_view schema) const;
  // Indexes `tenants` for the two lookups above (the loader calls it on the Config it returns; see
  // tenant_index.h for what a copy does).
  void BuildTenantIndex();
  // The role `tenant`'s server connections log in as: its server_role, else its backend's user.
  // REQUIRES: `tenant` is an entry of this config.
  const std::string& ServerUserOf(const TenantConfig& tenant) const;
  // Defaults <- top-level pool <- tenant's pool <- user's pool. Either argument may be null.
  PoolSettings ResolvePool(const TenantConfig* tenant, const UserConfig* user) const;
  // limits.idle_transaction_timeout <- tenant's <- user's (most specific wins). Either may be null.
  Duration ResolveIdleTransactionTimeout(const TenantConfig* tenant, const UserConfig* user) const;
};

// Looks up an environment variable for ${VAR} expansion; nullopt when unset.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// getenv(3). REQUIRES: nothing modifies the process environment while a config is loading.
EnvLookup ProcessEnvironment();

// Reads and validates the file at `path`. Config::source and error messages use `path` as given.
Result<std::shared_ptr<const Config>> LoadConfigFile(const std::string& path,
                                                     const EnvLookup& env = ProcessEnvironment());
// Validates YAML text; `source_name` stands for the file name in Config::source and in errors.
Result<std::shared_ptr<const Config>> LoadConfigString(std::string_view yaml, std::string_view source_name,
                                                       const EnvLookup& env = ProcessEnvironment());

// The spelling used in the YAML file, e.g. "transaction", "scram-sha-256", "username_suffix".
std::string_view ToString(PoolMode mode);
std::string_view ToString(AuthMethod method);
std::string_view ToString(TlsClientMode mode);
std::string_view ToString(IsolationMode mode);
std::string_view ToString(TenantRole role);
std::string_view ToString(IdentificationMethod method);
std::string_view ToString(WorkerPlacement placement);
std::string_view ToString(AuditSinkType type);
std::string_view ToString(AuditOverflow overflow);
std::string_view ToString(LogLevel level);
std::string_view ToString(LogFormat format);

}  // namespace pgtenant::config
