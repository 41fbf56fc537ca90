// `pgtenant doctor`: one connection per backend, the checks (doctor_checks.h), the report, the exit code.
#include "doctor/doctor.h"

#include "doctor/doctor_checks.h"
#include "doctor/doctor_connection.h"

namespace pgtenant::doctor {

namespace {

std::string TenantLabel(const config::TenantConfig& tenant) {
  std::string label = tenant.name + " (" + std::string(config::ToString(tenant.isolation));
  if (!tenant.schema.empty()) label += " " + tenant.schema;
  return label + ")";
}

}  // namespace

std::vector<BackendReport> RunDoctorChecks(const config::Config& config) {
  std::vector<BackendReport> reports;
  for (const auto& [name, backend] : config.backends) {
    BackendReport report;
    report.backend = name;
    report.target = backend.user + "@" + config::DescribeAddress(backend.host, backend.port) + "/" + backend.database;
    for (const auto& [tenant_name, tenant] : config.tenants) {
      if (tenant.backend == name) report.tenants.push_back(TenantLabel(tenant));
    }
    Result<DoctorConnection> connection = DoctorConnection::Connect(backend);
    if (!connection.ok()) {
      report.error = "cannot connect as " + backend.user + " to " + config::DescribeAddress(backend.host, backend.port) +
                     "/" + backend.database + ": " + connection.status().message();
    } else {
      BackendChecker(config, backend, *connection, report).Run();
    }
    reports.push_back(std::move(report));
  }
  return reports;
}

std::string FormatDoctorReport(const std::vector<BackendReport>& reports) {
  std::string out;
  size_t findings = 0;
  for (const BackendReport& report : reports) {
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
  out += "doctor: " + std::to_string(findings) + " findings on " + std::to_string(reports.size()) + " backends\n";
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
