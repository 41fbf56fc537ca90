// ConfigLoader, first half: the document, top-level settings, pools and backends; and the public
// entry points LoadConfigString / LoadConfigFile, where the text is parsed (yaml_document.h).
#include "config/config_loader.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <exception>
#include <set>

#include "config/config_enum_names.h"
#include "config/config_loader_admin.h"
#include "config/config_loader_audit.h"
#include "config/config_loader_backends.h"
#include "config/config_loader_catalog.h"
#include "config/config_loader_policy.h"
#include "config/config_loader_tls.h"
#include "config/value_parsers.h"
#include "protocol/ascii_case.h"

namespace pgtenant::config {

namespace {

constexpr std::array<std::string_view, 6> kSslModes = {"disable", "allow",     "prefer",
                                                       "require", "verify-ca", "verify-full"};

constexpr Duration kPositive{1};
constexpr uint64_t kMaxQuerySizeLimit = uint64_t{1} << 30;  // PostgreSQL's MaxAllocSize is just under 1GB
constexpr size_t kMaxPostgresNameBytes = 63;                // NAMEDATALEN - 1

std::string Location(std::string_view source, const YamlMark& mark) {
  const int line = mark.is_null() ? 1 : mark.line + 1;
  const int column = mark.is_null() ? 1 : mark.column + 1;
  return std::string(source) + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
}

}  // namespace

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  std::optional<std::string> match = ClosestMatch(word, candidates);
  return match ? " (did you mean '" + *match + "'?)" : "";
}

ConfigLoader::ConfigLoader(std::string source, const EnvLookup& env) : reader_(source, env) {
  config_.source = std::move(source);
}

Result<std::shared_ptr<const Config>> ConfigLoader::Load(const YamlNode& root) {
  const Field root_field{FieldPath{}, root, root.mark()};
  const Mapping top = reader_.ReadMapping(root_field, ConfigSection::kTop, {"backends", "tenants", "users"});
  if (!root.IsMap()) return reader_.status();

  // Each top-level key is read in an error scope of its own, so that one run reports an error in
  // each of them. What a later key checks against an earlier one (a tenant's backend, a user's
  // tenants, password forms against auth.method) is checked only where the earlier one read cleanly:
  // anything else could only repeat the earlier error.
  auto read = [&](std::string_view key, auto&& reader) -> bool {
    const std::optional<Field> field = top.Get(key);
    if (!field) return true;
    ErrorScope scope(reader_);
    reader(*field);
    return !scope.failed();
  };
  sections_ok_.auth = read("auth", [&](const Field& f) { ReadAuth(f); });
  sections_ok_.username_separator = read("username_separator", [&](const Field& f) { ReadUsernameSeparator(f); });
  read("tenant_setting", [&](const Field& f) { ReadTenantSetting(f); });
  read("session_parameters", [&](const Field& f) { ReadSessionParameters(f); });
  read("tenant_identification", [&](const Field& f) { ReadTenantIdentification(f); });
  read("listen", [&](const Field& f) { ReadListen(f); });
  read("metrics", [&](const Field& f) { ReadMetrics(f); });
  read("log", [&](const Field& f) { ReadLog(f); });
  read("health_check", [&](const Field& f) { config_.health_check = ReadHealthCheckSection(reader_, f); });
  read("peers", [&](const Field& f) { config_.peers = ReadPeersSection(reader_, f); });
  read("limits", [&](const Field& f) { ReadLimits(f); });
  read("workers", [&](const Field& f) { SetIfPresent(config_.workers, reader_.ReadInt(f, 1, kMaxWorkers)); });
  read("worker_placement",
       [&](const Field& f) { SetIfPresent(config_.worker_placement, reader_.ReadEnum(f, kWorkerPlacementNames)); });
  read("worker_busy_percent",
       [&](const Field& f) { SetIfPresent(config_.worker_busy_percent, reader_.ReadInt(f, 1, 100)); });
  read("pool", [&](const Field& f) {
    top_pool_ = f;
    config_.pool = ReadPool(f);
  });
  read("backends", [&](const Field& f) { ReadBackends(f); });
  read("tenants", [&](const Field& f) { ReadTenants(f); });
  AdminSection admin;
  sections_ok_.admin = read("admin", [&](const Field& f) { admin = ReadAdminSection(reader_, f); });
  config_.admin = admin.config;  // before users: an admin-only user may omit `tenants`
  read("users", [&](const Field& f) { ReadUsers(f); });
  read("audit", [&](const Field& f) { config_.audit = ReadAuditSection(reader_, f); });
  read("doctor", [&](const Field& f) { config_.doctor = ReadDoctorSection(reader_, f); });
  read("policy", [&](const Field& f) { config_.policy = ReadPolicySection(reader_, f); });
  read("tls", [&](const Field& f) { config_.tls = ReadTlsSection(reader_, f); });
  TenantCatalogSection catalog;
  read("tenant_catalog", [&](const Field& f) { catalog = ReadTenantCatalogSection(reader_, f); });
  config_.tenant_catalog = catalog.config;
  if (reader_.failed()) return reader_.status();

  // Checks across sections: only on a document whose every part read cleanly.
  CheckDedicatedBackends();
  CheckServerRoles();
  CheckAdminUsers(reader_, config_, admin);
  CheckTlsAndAuth(reader_, config_, top.Get("auth").value_or(root_field), top.Get("tls").value_or(root_field));
  CheckResolvedPools();
  CheckTenantCatalogBackend(reader_, config_, catalog);
  if (reader_.failed()) return reader_.status();
  auto config = std::make_shared<Config>(std::move(config_));
  config->BuildTenantIndex();  // on the Config that is returned: the index points into its tenants
  return std::shared_ptr<const Config>(std::move(config));
}

void ConfigLoader::ReadAuth(const Field& field) {
  const Mapping auth = reader_.ReadMapping(field, ConfigSection::kAuth, {"method"});
  if (auto method = auth.Get("method")) SetIfPresent(config_.auth_method, reader_.ReadEnum(*method, kAuthMethodNames));
  if (auto jwt = auth.Get("jwt")) config_.jwt = ReadJwtSection(reader_, *jwt);
}

void ConfigLoader::ReadUsernameSeparator(const Field& field) {
  std::optional<std::string> separator = reader_.ReadNonEmptyString(field);
  if (separator && separator->find_first_of(" \t\r\n") != std::string::npos) {
    reader_.Fail(field, "must not contain whitespace");
  }
  SetIfPresent(config_.username_separator, separator);
}

void ConfigLoader::ReadTenantSetting(const Field& field) {
  std::optional<std::string> setting = reader_.ReadNonEmptyString(field);
  if (setting && !IsCustomSettingName(*setting)) {
    reader_.Fail(field,
                 "expected a custom setting name such as app.current_organization_id "
                 "(identifiers joined by '.'), got " +
                     Quoted(*setting));
  }
  SetIfPresent(config_.tenant_setting, setting);
}

void ConfigLoader::ReadSessionParameters(const Field& field) {
  // What pgtenant sets itself, or what would let a client around the policy, is never the client's.
  static constexpr std::string_view kNeverAllowed[] = {
      "role",         "session_authorization", "search_path", "row_security", "client_encoding",
      "standard_conforming_strings", "backslash_quote", "transaction_read_only", "default_transaction_read_only"};
  std::vector<std::string> names;
  for (const Field& item : reader_.ReadSequence(field)) {
    std::optional<std::string> name = reader_.ReadNonEmptyString(item);
    if (!name) return;
    const std::string lower = protocol::AsciiLower(*name);
    const bool tenant_setting = lower == protocol::AsciiLower(config_.tenant_setting);
    if (tenant_setting || std::find(std::begin(kNeverAllowed), std::end(kNeverAllowed), lower) != std::end(kNeverAllowed)) {
      reader_.Fail(item, Quoted(*name) + " is set by pgtenant or guards the policy; it cannot be a session parameter");
      return;
    }
    if (!IsSqlIdentifier(*name) && !IsCustomSettingName(*name)) {
      reader_.Fail(item, "expected a parameter name such as TimeZone, got " + Quoted(*name));
      return;
    }
    names.push_back(std::move(*name));
  }
  config_.session_parameters = std::move(names);
}

void ConfigLoader::ReadTenantIdentification(const Field& field) {
  const std::vector<Field> items = reader_.ReadSequence(field);
  if (!reader_.failed() && items.empty()) reader_.Fail(field, "must list at least one method");
  std::vector<IdentificationMethod> methods;
  for (const Field& item : items) {
    std::optional<IdentificationMethod> method = reader_.ReadEnum(item, kIdentificationMethodNames);
    if (!method) break;
    if (std::find(methods.begin(), methods.end(), *method) != methods.end()) {
      reader_.Fail(item, "'" + std::string(ToString(*method)) + "' is listed twice");
      break;
    }
    methods.push_back(*method);
  }
  config_.tenant_identification = std::move(methods);
}

void ConfigLoader::ReadListen(const Field& field) {
  const Mapping listen = reader_.ReadMapping(field, ConfigSection::kListen);
  if (auto f = listen.Get("address")) SetIfPresent(config_.listen.address, reader_.ReadNonEmptyString(*f));
  if (auto f = listen.Get("port")) SetIfPresent(config_.listen.port, reader_.ReadInt(*f, 1, 65535));
  if (auto f = listen.Get("reuse_port")) {
    std::optional<std::string> flag = reader_.ReadString(*f);
    if (flag && *flag != "true" && *flag != "false") reader_.Fail(*f, "expected true or false, got " + Quoted(*flag));
    if (flag) config_.listen.reuse_port = *flag == "true";
  }
}

void ConfigLoader::ReadMetrics(const Field& field) {
  const Mapping map = reader_.ReadMapping(field, ConfigSection::kMetrics, {"port"});
  config_.metrics.enabled = true;
  if (auto f = map.Get("address")) SetIfPresent(config_.metrics.address, reader_.ReadNonEmptyString(*f));
  if (auto f = map.Get("port")) SetIfPresent(config_.metrics.port, reader_.ReadInt(*f, 1, 65535));
  if (auto f = map.Get("port_per_instance")) SetIfPresent(config_.metrics.port_per_instance, reader_.ReadBool(*f));
  if (auto f = map.Get("reuse_port")) SetIfPresent(config_.metrics.reuse_port, reader_.ReadBool(*f));
}

void ConfigLoader::ReadLog(const Field& field) {
  const Mapping map = reader_.ReadMapping(field, ConfigSection::kLog);
  if (auto f = map.Get("level")) SetIfPresent(config_.log.level, reader_.ReadEnum(*f, kLogLevelNames));
  if (auto f = map.Get("format")) SetIfPresent(config_.log.format, reader_.ReadEnum(*f, kLogFormatNames));
}

void ConfigLoader::ReadLimits(const Field& field) {
  const Mapping limits = reader_.ReadMapping(field, ConfigSection::kLimits);
  if (auto f = limits.Get("max_client_connections")) {
    SetIfPresent(config_.max_client_connections, reader_.ReadInt(*f, 1, INT_MAX));
  }
  if (auto f = limits.Get("max_query_size")) {
    std::optional<uint64_t> size = reader_.ReadByteSize(*f, 1, kMaxQuerySizeLimit);
    if (size) config_.max_query_size = static_cast<size_t>(*size);
  }
  if (auto f = limits.Get("max_function_call_size")) {
    std::optional<uint64_t> size = reader_.ReadByteSize(*f, 1, kMaxQuerySizeLimit);
    if (size) config_.max_function_call_size = static_cast<size_t>(*size);
  }
  if (auto f = limits.Get("client_idle_timeout")) {
    SetIfPresent(config_.client_idle_timeout, reader_.ReadDuration(*f, Duration(0)));
  }
  if (auto f = limits.Get("idle_transaction_timeout")) {
    SetIfPresent(config_.idle_transaction_timeout, reader_.ReadDuration(*f, Duration(0)));
  }
  if (auto f = limits.Get("startup_timeout")) {
    SetIfPresent(config_.startup_timeout, reader_.ReadDuration(*f, kPositive));
  }
  if (auto f = limits.Get("shutdown_timeout")) {
    SetIfPresent(config_.shutdown_timeout, reader_.ReadDuration(*f, kPositive));
  }
}

PoolOverrides ConfigLoader::ReadPool(const Field& field) {
  const Mapping pool =
      reader_.ReadMapping(field, ConfigSection::kPool);
  PoolOverrides overrides;
  if (auto f = pool.Get("mode")) overrides.mode = reader_.ReadEnum(*f, kPoolModeNames);
  if (auto f = pool.Get("size")) overrides.size = reader_.ReadInt(*f, 1, INT_MAX);
  if (auto f = pool.Get("min_idle")) overrides.min_idle = reader_.ReadInt(*f, 0, INT_MAX);
  if (auto f = pool.Get("wait_timeout")) overrides.wait_timeout = reader_.ReadDuration(*f, kPositive);
  if (auto f = pool.Get("idle_timeout")) overrides.idle_timeout = reader_.ReadDuration(*f, kPositive);
  if (auto f = pool.Get("lifetime")) overrides.lifetime = reader_.ReadDuration(*f, kPositive);
  return overrides;
}

Mapping ConfigLoader::ReadNamedEntries(const Field& field, std::string_view what) {
  Mapping entries = reader_.ReadMapping(field);
  if (!field.node.IsMap()) return Mapping();
  if (entries.empty() && !reader_.failed()) reader_.Fail(field, "must define at least one " + std::string(what));
  return entries;
}

void ConfigLoader::CheckEntryName(const Field& field, const MappingEntry& entry, std::string_view what) {
  if (IsValidName(entry.key)) return;
  reader_.Fail(entry.key_mark, field.path,
               "invalid " + std::string(what) + " name " + Quoted(entry.key) +
                   "; names use only letters, digits, '_' and '-'");
}

std::optional<std::string> ConfigLoader::ReadPostgresName(const Field& field) {
  std::optional<std::string> name = reader_.ReadNonEmptyString(field);
  if (name && name->size() > kMaxPostgresNameBytes) {
    reader_.Fail(field, "is longer than 63 bytes; PostgreSQL would truncate it");
    return std::nullopt;
  }
  return name;
}

void ConfigLoader::ReadBackends(const Field& field) {
  const Mapping entries = ReadNamedEntries(field, "backend");
  backend_names_known_ = field.node.IsMap();
  for (const MappingEntry& entry : entries.entries()) {
    ErrorScope entry_scope(reader_);  // each backend on its own
    CheckEntryName(field, entry, "backend");
    const Mapping map = reader_.ReadMapping(entry.value, ConfigSection::kBackend, {"database", "user"});
    BackendConfig backend;
    backend.name = entry.key;
    // Either host (+ port): one address; or hosts: the primary and its alternates, in order.
    const std::optional<Field> hosts = map.Get("hosts");
    if (hosts && map.Get("host")) reader_.Fail(*map.Get("host"), "use either host/port or hosts, not both");
    if (hosts && map.Get("port")) reader_.Fail(*map.Get("port"), "use either host/port or hosts, not both");
    if (!hosts && !map.Get("host") && !reader_.failed())
      reader_.Fail(entry.value, "missing required key 'host' (or 'hosts')");
    if (auto f = map.Get("host")) SetIfPresent(backend.host, reader_.ReadNonEmptyString(*f));
    if (auto f = map.Get("port")) SetIfPresent(backend.port, reader_.ReadInt(*f, 1, 65535));
    if (hosts) backend.hosts = ReadBackendHosts(reader_, *hosts);
    if (backend.hosts.empty()) backend.hosts.push_back({backend.host, backend.port});
    backend.host = backend.hosts.front().host;
    backend.port = backend.hosts.front().port;
    if (auto f = map.Get("database")) SetIfPresent(backend.database, ReadPostgresName(*f));
    if (auto f = map.Get("user")) SetIfPresent(backend.user, ReadPostgresName(*f));
    if (auto f = map.Get("password")) SetIfPresent(backend.password, reader_.ReadString(*f));
    if (auto f = map.Get("sslmode")) {
      std::optional<std::string> mode = reader_.ReadString(*f);
      if (mode && std::find(kSslModes.begin(), kSslModes.end(), *mode) == kSslModes.end()) {
        reader_.Fail(*f,
                     "expected one of disable, allow, prefer, require, verify-ca, verify-full, got " + Quoted(*mode));
      }
      SetIfPresent(backend.sslmode, mode);
    }
    if (auto f = map.Get("sslrootcert")) SetIfPresent(backend.sslrootcert, reader_.ReadNonEmptyString(*f));
    CheckSocketHosts(reader_, map, backend);
    if (auto f = map.Get("max_connections")) SetIfPresent(backend.max_connections, reader_.ReadInt(*f, 0, INT_MAX));
    if (auto f = map.Get("connect_timeout")) SetIfPresent(backend.connect_timeout, reader_.ReadDuration(*f, kPositive));
    if (auto f = map.Get("shared_pool")) {
      std::optional<std::string> flag = reader_.ReadString(*f);
      if (flag && *flag != "true" && *flag != "false") reader_.Fail(*f, "expected true or false, got " + Quoted(*flag));
      if (flag) backend.shared_pool = *flag == "true";
    }
    config_.backends.emplace(entry.key, std::move(backend));
  }
}

namespace {

// LoadConfigString, and the keys the loader read into `keys_read` when it is not null.
Result<std::shared_ptr<const Config>> LoadDocument(std::string_view yaml, std::string_view source_name,
                                                   const EnvLookup& env, std::set<std::string>* keys_read) {
  try {
    YamlDocument document;
    if (std::optional<YamlSyntaxError> error = document.Parse(yaml)) {
      return Status::Error(Location(source_name, error->mark) + "YAML syntax error: " + error->message);
    }
    if (document.root().IsNull()) {
      return Status::Error(std::string(source_name) +
                           ":1:1: the configuration is empty; expected a mapping with at least backends, "
                           "tenants and users (see config/examples/minimal.yaml)");
    }
    if (const std::optional<YamlMark>& second = document.second_document()) {
      return Status::Error(Location(source_name, *second) + "expected one YAML document; a second one starts here");
    }
    ConfigLoader loader{std::string(source_name), env};
    Result<std::shared_ptr<const Config>> config = loader.Load(document.root());
    if (keys_read != nullptr) *keys_read = loader.keys_read();
    return config;
  } catch (const std::exception& e) {
    return Status::Error(std::string(source_name) + ": cannot load configuration: " + e.what());
  }
}

}  // namespace

Result<std::shared_ptr<const Config>> LoadConfigString(std::string_view yaml, std::string_view source_name,
                                                       const EnvLookup& env) {
  return LoadDocument(yaml, source_name, env, nullptr);
}

std::set<std::string> KeysReadFrom(std::string_view yaml, const EnvLookup& env) {
  std::set<std::string> keys;
  (void)LoadDocument(yaml, "keys", env, &keys);
  return keys;
}

Result<std::shared_ptr<const Config>> LoadConfigFile(const std::string& path, const EnvLookup& env) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return Status::Error(path + ": cannot open configuration file: " + std::strerror(errno));
  }
  // Sized once from the file's length (a 100,000-tenant file is 26 MB: grown 8 KB at a time it was
  // copied a dozen times, a tenth of the load); read on to the end whatever the length said.
  // Only a regular file's length means anything (a directory's ftell is LONG_MAX).
  std::string text;
  struct stat info {};
  if (::fstat(::fileno(file), &info) == 0 && S_ISREG(info.st_mode) && info.st_size > 0)
    text.reserve(static_cast<size_t>(info.st_size) + 1);
  char buffer[65536];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
  const bool read_failed = std::ferror(file) != 0;
  const int read_errno = errno;
  std::fclose(file);
  if (read_failed) {
    return Status::Error(path + ": cannot read configuration file: " + std::strerror(read_errno));
  }
  return LoadConfigString(text, path, env);
}

}  // namespace pgtenant::config
