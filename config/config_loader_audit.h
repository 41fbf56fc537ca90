// Readers for the audit-related sections of the YAML: audit:, doctor: and tenants.NAME.compliance:.
//
// Internal to config/ (exposes YamlDocument nodes through yaml_reader.h). Each reads one section with the
// loader's reader, so errors are located and the first one wins like everywhere else in the loader.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace pgtenant::config {

// audit: { sinks: [ {type: file, path: P} | {type: stdout} ], queue_size, on_overflow, statements }
AuditConfig ReadAuditSection(YamlReader& reader, const Field& field);

// doctor: { tenant_column }
DoctorConfig ReadDoctorSection(YamlReader& reader, const Field& field);

// tenants.NAME.compliance: { regulations: [GDPR, ...], retention: 365d | 365 }
ComplianceConfig ReadComplianceSection(YamlReader& reader, const Field& field);

}  // namespace pgtenant::config
