// Readers for audit:, doctor: and tenants.NAME.compliance: (config_loader_audit.h).
#include "config/config_loader_audit.h"

#include <algorithm>
#include <array>
#include <set>

#include "config/config_enum_names.h"
#include "config/config_loader.h"
#include "config/value_parsers.h"

namespace pgtenant::config {

namespace {

constexpr int kMaxQueueSize = 10'000'000;
constexpr int kMaxRetentionDays = 36500;  // a century: anything longer is a typo

std::optional<AuditSinkConfig> ReadSink(YamlReader& reader, const Field& field) {
  const Mapping map = reader.ReadMapping(field, ConfigSection::kAuditSink, {"type"});
  if (reader.failed()) return std::nullopt;
  AuditSinkConfig sink;
  if (auto f = map.Get("type")) SetIfPresent(sink.type, reader.ReadEnum(*f, kAuditSinkTypeNames));
  const std::optional<Field> path = map.Get("path");
  if (sink.type == AuditSinkType::kFile && !path) {
    reader.Fail(field, "missing required key 'path' (type is file)");
  } else if (sink.type != AuditSinkType::kFile && path) {
    reader.Fail(*path, "only allowed with type: file");
  } else if (path) {
    std::optional<std::string> text = reader.ReadNonEmptyString(*path);
    if (text) sink.path = std::move(*text);
  }
  if (reader.failed()) return std::nullopt;
  return sink;
}

}  // namespace

AuditConfig ReadAuditSection(YamlReader& reader, const Field& field) {
  AuditConfig audit;
  const Mapping map = reader.ReadMapping(field, ConfigSection::kAudit);
  if (auto sinks = map.Get("sinks")) {
    std::set<std::string> paths;
    bool has_stdout = false;
    for (const Field& item : reader.ReadSequence(*sinks)) {
      std::optional<AuditSinkConfig> sink = ReadSink(reader, item);
      if (!sink) break;
      if (sink->type == AuditSinkType::kStdout) {
        if (has_stdout) reader.Fail(item, "stdout is listed twice");
        has_stdout = true;
      } else if (!paths.insert(sink->path).second) {
        reader.Fail(item, "file " + sink->path + " is listed twice");
      }
      audit.sinks.push_back(std::move(*sink));
    }
  }
  if (auto f = map.Get("queue_size")) {
    std::optional<int> size = reader.ReadInt(*f, 1, kMaxQueueSize);
    if (size) audit.queue_size = static_cast<size_t>(*size);
  }
  if (auto f = map.Get("on_overflow")) SetIfPresent(audit.on_overflow, reader.ReadEnum(*f, kAuditOverflowNames));
  if (auto f = map.Get("statements")) SetIfPresent(audit.statements, reader.ReadBool(*f));
  return audit;
}

DoctorConfig ReadDoctorSection(YamlReader& reader, const Field& field) {
  DoctorConfig doctor;
  const Mapping map = reader.ReadMapping(field, ConfigSection::kDoctor);
  if (auto f = map.Get("tenant_column")) {
    std::optional<std::string> column = reader.ReadNonEmptyString(*f);
    if (column && !IsSqlIdentifier(*column)) {
      reader.Fail(*f, "expected a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*, at most 63 bytes), got " +
                          Quoted(*column));
    }
    SetIfPresent(doctor.tenant_column, column);
  }
  return doctor;
}

ComplianceConfig ReadComplianceSection(YamlReader& reader, const Field& field) {
  ComplianceConfig compliance;
  const Mapping map = reader.ReadMapping(field, ConfigSection::kCompliance);
  if (auto f = map.Get("regulations")) {
    for (const Field& item : reader.ReadSequence(*f)) {
      std::optional<std::string> name = reader.ReadNonEmptyString(item);
      if (!name) break;
      auto& list = compliance.regulations;
      if (std::find(list.begin(), list.end(), *name) != list.end()) {
        reader.Fail(item, Quoted(*name) + " is listed twice");
        break;
      }
      list.push_back(std::move(*name));
    }
  }
  if (auto f = map.Get("retention")) {
    std::optional<std::string> text = reader.ReadNonEmptyString(*f);
    if (text) {
      std::string_view digits = *text;
      if (digits.size() > 1 && digits.back() == 'd') digits.remove_suffix(1);
      Result<int64_t> days = ParseInteger(digits);
      if (!days.ok() || *days < 1 || *days > kMaxRetentionDays) {
        reader.Fail(*f, "expected a number of days from 1 to " + std::to_string(kMaxRetentionDays) +
                            " (\"365\" or \"365d\"; 6 years is \"2190d\"), got " + Quoted(*text));
      } else {
        compliance.retention_days = static_cast<int>(*days);
      }
    }
  }
  return compliance;
}

}  // namespace pgtenant::config
