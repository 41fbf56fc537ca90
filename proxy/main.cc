// pgtenant: command-line entry point (run, --check-config, doctor, --hash-password, --version).
#include <malloc.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "catalog/catalog_reader.h"
#include "config/config.h"
#include "config/config_enum_names.h"
#include "doctor/doctor.h"
#include "protocol/md5_auth.h"
#include "protocol/scram.h"
#include "proxy/build_info.h"
#include "proxy/io/tls_context.h"
#include "proxy/telemetry/log.h"
#include "proxy/worker/config_thread.h"
#include "proxy/worker/proxy_server.h"
#include "proxy/worker/worker_group.h"

namespace {

constexpr std::string_view kUsage =
    "usage:\n"
    "  pgtenant --config FILE [--instance-id N]\n"
    "                                    run the proxy in the foreground; N (0..1023, or the environment's\n"
    "                                    PGTENANT_INSTANCE_ID) is this instance's id under peers\n"
    "  pgtenant --check-config FILE      validate FILE: every error found, one per line; exit 0 if valid,\n"
    "                                    1 otherwise\n"
    "  pgtenant doctor --config FILE     check every backend's database baseline; print fixes; exit 0 if\n"
    "                                    clean, 1 on findings, 2 if a backend cannot be checked\n"
    "  pgtenant --hash-password [--md5 USER]\n"
    "                                    read a password from stdin, print a verifier for users.NAME.password\n"
    "  pgtenant --version                print the version and the git revision built from\n"
    "environment: PGTENANT_LOG_LEVEL=debug|info|warning|error overrides log.level (also after a reload)\n";

int Usage(int code) {
  std::fputs(std::string(kUsage).c_str(), code == 0 ? stdout : stderr);
  return code;
}

int CheckConfig(const std::string& path) {
  auto config = pgtenant::config::LoadConfigFile(path);
  if (!config.ok()) {
    // One error per line (FILE:LINE:COLUMN: key.path: message), every one the loader found.
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 1;
  }
  // The files the TLS and JWT settings name: certificates, keys, CAs, JWKS.
  if (pgtenant::Status files = pgtenant::proxy::PreloadConfigFiles(*config); !files.ok()) {
    std::fprintf(stderr, "%s: %s\n", path.c_str(), files.message().c_str());
    return 1;
  }
  std::printf("%s: OK (%zu backends, %zu tenants, %zu users)\n", path.c_str(), (*config)->backends.size(),
              (*config)->tenants.size(), (*config)->users.size());
  return 0;
}

int HashPassword(const char* md5_user) {
  if (isatty(STDIN_FILENO)) std::fprintf(stderr, "password: ");
  std::string password;
  if (!std::getline(std::cin, password) || password.empty()) {
    std::fprintf(stderr, "pgtenant: no password on stdin\n");
    return 1;
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (md5_user != nullptr) {
    std::printf("%s\n", pgtenant::protocol::Md5PasswordHash(password, md5_user).c_str());
  } else {
    std::printf("%s\n", pgtenant::protocol::MakeScramVerifier(password).ToString().c_str());
  }
  return 0;
}

// "--instance-id N" or PGTENANT_INSTANCE_ID: an integer 0..kMaxInstanceId. Returns false (after
// saying why) when the value is not one.
bool ParseInstanceId(const char* flag, std::optional<int>& id) {
  const char* text = flag != nullptr ? flag : std::getenv("PGTENANT_INSTANCE_ID");
  if (text == nullptr || *text == '\0') return true;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || value < 0 || value > pgtenant::config::kMaxInstanceId || !std::isdigit(*text)) {
    std::fprintf(stderr, "pgtenant: %s must be an integer 0..%d, got \"%s\"\n",
                 flag != nullptr ? "--instance-id" : "PGTENANT_INSTANCE_ID", pgtenant::config::kMaxInstanceId, text);
    return false;
  }
  id = static_cast<int>(value);
  return true;
}

// PGTENANT_LOG_LEVEL: when set, it overrides log.level for the process's lifetime. Returns false
// (after saying why) for a value that is not a level.
bool ReadLogLevelOverride() {
  const char* text = std::getenv("PGTENANT_LOG_LEVEL");
  if (text == nullptr || *text == '\0') return true;
  const std::optional<pgtenant::config::LogLevel> level = ValueNamed(pgtenant::config::kLogLevelNames, text);
  if (!level) {
    std::fprintf(stderr, "pgtenant: PGTENANT_LOG_LEVEL must be debug, info, warning or error, got \"%s\"\n", text);
    return false;
  }
  pgtenant::proxy::SetLogLevelOverride(*level);
  return true;
}

// tenant_catalog: the reader's thread, whose rows the config thread merges and worker 0 applies
// (ProxyServer::ApplyCatalog). Its settings are the YAML's at start (`yaml`): a reload that changes them
// says it takes a restart. Null when off.
std::unique_ptr<pgtenant::catalog::CatalogReader> StartTenantCatalog(
    std::shared_ptr<const pgtenant::config::Config> yaml, pgtenant::proxy::WorkerGroup& group) {
  if (yaml == nullptr || !yaml->tenant_catalog.enabled) return nullptr;
  const pgtenant::config::Config& config = *yaml;
  group.shared().catalog.Start(pgtenant::proxy::RetireOffLoop(std::move(yaml)));
  auto reader = std::make_unique<pgtenant::catalog::CatalogReader>(
      config.tenant_catalog, *config.FindBackend(config.tenant_catalog.backend),
      [&group](pgtenant::config::CatalogRows rows) {
        // Merged and compared on the config thread, not on worker 0's loop (tenant_catalog_state.h).
        auto prepared = std::make_shared<pgtenant::proxy::TenantCatalogState::Prepared>();
        pgtenant::proxy::RunOnConfigThread([&] { *prepared = group.shared().catalog.Prepare(std::move(rows)); });
        group.Post(0, [prepared](pgtenant::proxy::ProxyServer& worker) { worker.ApplyCatalog(std::move(*prepared)); });
      },
      [](pgtenant::config::LogLevel level, const std::string& message) {
        pgtenant::proxy::Log(level, "catalog", message);
      });
  if (pgtenant::Status started = reader->Start(); !started.ok()) {
    pgtenant::proxy::LogError("catalog", started.message());
    return nullptr;
  }
  return reader;
}

int Run(const std::string& path, const char* instance_id_flag) {
  std::optional<int> instance_id;
  if (!ParseInstanceId(instance_id_flag, instance_id)) return 2;
  if (!ReadLogLevelOverride()) return 2;
  auto config = pgtenant::config::LoadConfigFile(path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 1;
  }
  // Parsing left the YAML tree's memory free but mapped (about 5 KB per tenant and user): give it
  // back, or RSS stays at the parse's peak for the life of the process.
  malloc_trim(0);
  // The workers hold the running config from here on: a reference kept here would pin the first
  // config for the life of the process, one more config's worth of RSS after the first reload.
  std::shared_ptr<const pgtenant::config::Config> running = std::move(*config);
  pgtenant::proxy::ApplyLogConfig(running->log);
  const int workers = running->workers > 0 ? running->workers : pgtenant::proxy::DefaultWorkers();
  // With a tenant catalog, its state keeps the YAML as started (the first rows merge with it) until a
  // reload replaces it.
  std::shared_ptr<const pgtenant::config::Config> catalog_yaml = running->tenant_catalog.enabled ? running : nullptr;
  pgtenant::proxy::WorkerGroup group(std::move(running), path, workers);
  group.set_instance_id(instance_id);
  // The reader copies its settings.
  std::unique_ptr<pgtenant::catalog::CatalogReader> catalog = StartTenantCatalog(std::move(catalog_yaml), group);
  pgtenant::Status s = group.Run();
  if (catalog) catalog->Stop();
  if (!s.ok()) {
    pgtenant::proxy::LogError("proxy", s.message());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // One mode per call; CLI11 names an unknown flag or a missing value in its error.
  CLI::App app("pgtenant", "pgtenant");
  app.set_help_flag();  // our own -h/--help prints kUsage
  bool help = false;
  bool version = false;
  bool hash_password = false;
  std::string config_path;
  std::string check_config_path;
  std::string instance_id;
  std::string md5_user;
  app.add_flag("-h,--help", help);
  app.add_flag("--version", version);
  CLI::Option* run = app.add_option("--config", config_path);
  CLI::Option* check = app.add_option("--check-config", check_config_path);
  CLI::Option* hash = app.add_flag("--hash-password", hash_password);
  CLI::Option* instance = app.add_option("--instance-id", instance_id)->needs(run);
  app.add_option("--md5", md5_user)->needs(hash);
  run->excludes(check)->excludes(hash);
  check->excludes(hash);
  CLI::App* doctor = app.add_subcommand("doctor");
  doctor->set_help_flag();
  std::string doctor_config;
  doctor->add_option("--config", doctor_config)->required();
  doctor->excludes(run)->excludes(check)->excludes(hash);

  if (argc < 2) return Usage(2);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "pgtenant: %s\n", e.what());
    return Usage(2);
  }
  if (help) return Usage(0);
  if (version) {
    std::printf("pgtenant %s (revision %s)\n", std::string(pgtenant::proxy::kBuildVersion).c_str(),
                std::string(pgtenant::proxy::kBuildRevision).c_str());
    return 0;
  }
  if (doctor->parsed()) return pgtenant::doctor::RunDoctor(doctor_config, stdout);
  if (check->count() > 0) return CheckConfig(check_config_path);
  if (run->count() > 0) return Run(config_path, instance->count() > 0 ? instance_id.c_str() : nullptr);
  if (hash_password) return HashPassword(app.count("--md5") > 0 ? md5_user.c_str() : nullptr);
  return Usage(2);
}
