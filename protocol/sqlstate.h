// SQLSTATE codes pgtenant reports to clients (PostgreSQL Appendix A, "PostgreSQL Error Codes").
//
// Each constant is the five-character code as sent in the 'C' field of an ErrorResponse.
#pragma once

#include <string_view>

namespace pgtenant::sqlstate {

// Class 00 — Successful Completion
inline constexpr std::string_view kSuccessfulCompletion = "00000";
// Class 08 — Connection Exception
inline constexpr std::string_view kConnectionException = "08000";
inline constexpr std::string_view kSqlclientUnableToEstablishSqlconnection = "08001";
inline constexpr std::string_view kConnectionFailure = "08006";
inline constexpr std::string_view kProtocolViolation = "08P01";
// Class 0A — Feature Not Supported
inline constexpr std::string_view kFeatureNotSupported = "0A000";
// Class 22 — Data Exception
inline constexpr std::string_view kInvalidParameterValue = "22023";
// Class 25 — Invalid Transaction State
inline constexpr std::string_view kIdleInTransactionSessionTimeout = "25P03";
// Class 26 — Invalid SQL Statement Name
inline constexpr std::string_view kInvalidSqlStatementName = "26000";
// Class 28 — Invalid Authorization Specification
inline constexpr std::string_view kInvalidAuthorizationSpecification = "28000";
inline constexpr std::string_view kInvalidPassword = "28P01";
// Class 3D — Invalid Catalog Name
inline constexpr std::string_view kInvalidCatalogName = "3D000";
// Class 42 — Syntax Error or Access Rule Violation
inline constexpr std::string_view kInsufficientPrivilege = "42501";
inline constexpr std::string_view kSyntaxError = "42601";
// Class 53 — Insufficient Resources
inline constexpr std::string_view kTooManyConnections = "53300";
// Class 54 — Program Limit Exceeded
inline constexpr std::string_view kProgramLimitExceeded = "54000";
inline constexpr std::string_view kStatementTooComplex = "54001";
// Class 57 — Operator Intervention
inline constexpr std::string_view kQueryCanceled = "57014";
inline constexpr std::string_view kAdminShutdown = "57P01";
inline constexpr std::string_view kCannotConnectNow = "57P03";
inline constexpr std::string_view kIdleSessionTimeout = "57P05";
// Class F0 — Configuration File Error
inline constexpr std::string_view kConfigFileError = "F0000";
// Class XX — Internal Error
inline constexpr std::string_view kInternalError = "XX000";

}  // namespace pgtenant::sqlstate
