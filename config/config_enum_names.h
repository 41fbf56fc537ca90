// The YAML spelling of every config enum (config.h), one table each: ToString (config.cc) and the
// loaders' YamlReader::ReadEnum read the same table, so a spelling is written once.
// A table lists every enumerator, in declaration order (tests/config/config_enum_names_test.cc).
#pragma once

#include <array>

#include "config/config.h"
#include "protocol/enum_names.h"

namespace pgtenant::config {

inline constexpr std::array<EnumName<PoolMode>, 2> kPoolModeNames = {{
    {PoolMode::kSession, "session"},
    {PoolMode::kTransaction, "transaction"},
}};

inline constexpr std::array<EnumName<AuthMethod>, 5> kAuthMethodNames = {{
    {AuthMethod::kScramSha256, "scram-sha-256"},
    {AuthMethod::kMd5, "md5"},
    {AuthMethod::kTrust, "trust"},
    {AuthMethod::kCert, "cert"},
    {AuthMethod::kJwt, "jwt"},
}};

inline constexpr std::array<EnumName<IsolationMode>, 3> kIsolationModeNames = {{
    {IsolationMode::kRls, "rls"},
    {IsolationMode::kSchema, "schema"},
    {IsolationMode::kDatabase, "database"},
}};

inline constexpr std::array<EnumName<TenantRole>, 3> kTenantRoleNames = {{
    {TenantRole::kAdmin, "admin"},
    {TenantRole::kMember, "member"},
    {TenantRole::kViewer, "viewer"},
}};

inline constexpr std::array<EnumName<IdentificationMethod>, 5> kIdentificationMethodNames = {{
    {IdentificationMethod::kSni, "sni"},
    {IdentificationMethod::kUsernameSuffix, "username_suffix"},
    {IdentificationMethod::kStartupOption, "startup_option"},
    {IdentificationMethod::kDatabaseName, "database_name"},
    {IdentificationMethod::kSingleTenant, "single_tenant"},
}};

inline constexpr std::array<EnumName<WorkerPlacement>, 2> kWorkerPlacementNames = {{
    {WorkerPlacement::kAdaptive, "adaptive"},
    {WorkerPlacement::kSpread, "spread"},
}};

inline constexpr std::array<EnumName<TlsClientMode>, 3> kTlsClientModeNames = {{
    {TlsClientMode::kDisable, "disable"},
    {TlsClientMode::kAllow, "allow"},
    {TlsClientMode::kRequire, "require"},
}};

inline constexpr std::array<EnumName<AuditSinkType>, 2> kAuditSinkTypeNames = {{
    {AuditSinkType::kFile, "file"},
    {AuditSinkType::kStdout, "stdout"},
}};

inline constexpr std::array<EnumName<AuditOverflow>, 2> kAuditOverflowNames = {{
    {AuditOverflow::kBlock, "block"},
    {AuditOverflow::kDrop, "drop"},
}};

inline constexpr std::array<EnumName<LogLevel>, 4> kLogLevelNames = {{
    {LogLevel::kDebug, "debug"},
    {LogLevel::kInfo, "info"},
    {LogLevel::kWarning, "warning"},
    {LogLevel::kError, "error"},
}};

inline constexpr std::array<EnumName<LogFormat>, 2> kLogFormatNames = {{
    {LogFormat::kText, "text"},
    {LogFormat::kJson, "json"},
}};

}  // namespace pgtenant::config
