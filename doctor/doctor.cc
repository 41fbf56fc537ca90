// `pgtenant doctor`: one connection per backend, the checks (doctor_checks.h), the report, the exit code.
#include "doctor/doctor.h"

#include <set>

#include "doctor/doctor_checks.h"
#include "doctor/doctor_connection.h"

namespace pgtenant::doctor {

namespace {

std::string TenantLabel(const config::TenantConfig& tenant) {
  std::string label = tenant.name + " (" + std::string(config::ToString(tenant.isolation));
  if (!tenant.schema.empty()) label += " " + tenant.schema;
  return label + ")";
}

// One login per role pgtenant's server connections use: each backend's user (for the tenants that
// have no server_role of their own, and for health checks), then each schema tenant's server_role.
struct DoctorLogin {
  config::BackendConfig backend;  // with the login's user and password
  std::vector<const config::TenantConfig*> tenants;
};

std::vector<DoctorLogin> LoginsOf(const config::Config& config) {
  std::vector<DoctorLogin> logins;
  for (const auto& [name, backend] : config.backends) {
    DoctorLogin own{backend, {}};
    std::vector<DoctorLogin> tenant_logins;
    for (const auto& [tenant_name, tenant] : config.tenants) {
      if (tenant.backend != name) continue;
      if (tenant.server_role->user.empty()) {
        own.tenants.push_back(&tenant);
        continue;
      }
      DoctorLogin login{backend, {&tenant}};
      login.backend.user = tenant.server_role->user;
      login.backend.password = tenant.server_role->password;
      tenant_logins.push_back(std::move(login));
    }
    logins.push_back(std::move(own));
    for (DoctorLogin& login : tenant_logins) logins.push_back(std::move(login));
  }
  return logins;
}

}  // namespace

std::vector<BackendReport> RunDoctorChecks(const config::Config& config) {
  std::vector<BackendReport> reports;
  for (const DoctorLogin& login : LoginsOf(config)) {
    const config::BackendConfig& backend = login.backend;
    BackendReport report;
    report.backend = backend.name;
    report.target = backend.user + "@" + config::DescribeAddress(backend.host, backend.port) + "/" + backend.database;
    for (const config::TenantConfig* tenant : login.tenants) report.tenants.push_back(TenantLabel(*tenant));
    Result<DoctorConnection> connection = DoctorConnection::Connect(backend);
    if (!connection.ok()) {
      report.error = "cannot connect as " + backend.user + " to " + config::DescribeAddress(backend.host, backend.port) +
                     "/" + backend.database + ": " + connection.status().message();
    } else {
      BackendChecker(config, backend, login.tenants, *connection, report).Run();
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

std::string FormatDoctorReport(const std::vector<BackendReport>& reports) {
  std::string out;
  size_t findings = 0;
  std::set<std::string> backends;
  for (const BackendReport& report : reports) {
    backends.insert(report.backend);
    out += "backend " + report.backend + ": " + report.target;
    out += report.tenants.empty() ? " (no tenants)" : "; tenants " + Join(report.tenants, ", ");
    out += "\n";
    if (!report.findings.empty()) out += "  (run each fix as a superuser in this backend's database)\n";
    for (const std::string& check : report.checks) {
      bool failed = false;
      for (const DoctorFinding& finding : report.findings) {
        if (finding.check != check) continue;
        failed = true;
        out += "FAIL " + finding.check + ": " + finding.what + "\n";
        out += "  fix: " + finding.fix + "\n";
      }
      if (!failed) out += "ok   " + check + "\n";
    }
    for (const DoctorNote& note : report.notes) out += "note " + note.check + ": " + note.text + "\n";
    if (!report.error.empty()) out += "ERROR " + report.error + "\n";
    out += "\n";
    findings += report.findings.size();
  }
  out += "doctor: " + std::to_string(findings) + " findings on " + std::to_string(backends.size()) + " backends\n";
  return out;
}

int DoctorExitCode(const std::vector<BackendReport>& reports) {
  bool findings = false;
  for (const BackendReport& report : reports) {
    if (!report.error.empty()) return 2;
    findings = findings || !report.findings.empty();
  }
  return findings ? 1 : 0;
}

int RunDoctor(const std::string& config_path, std::FILE* out) {
  auto config = config::LoadConfigFile(config_path);
  if (!config.ok()) {
    std::fprintf(stderr, "%s\n", config.status().message().c_str());
    return 2;
  }
  const std::vector<BackendReport> reports = RunDoctorChecks(**config);
  const std::string text = FormatDoctorReport(reports);
  std::fputs(text.c_str(), out);
  std::fflush(out);
  return DoctorExitCode(reports);
}

}  // namespace pgtenant::doctor
