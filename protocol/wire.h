// Wire-protocol constants of PostgreSQL frontend/backend protocol 3.0 (PostgreSQL docs, chapter
// "Frontend/Backend Protocol", sections "Message Formats" and "Message Flow").
//
// Message tags are enum class values equal to their byte; protocol numbers have names.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pgtenant::protocol {

// First byte of a message sent by a client (frontend).
enum class FrontendTag : uint8_t {
  kBind = 'B',
  kClose = 'C',
  kCopyData = 'd',
  kCopyDone = 'c',
  kCopyFail = 'f',
  kDescribe = 'D',
  kExecute = 'E',
  kFlush = 'H',
  kFunctionCall = 'F',
  kParse = 'P',
  kPassword = 'p',  // also SASLInitialResponse, SASLResponse, GSSResponse
  kQuery = 'Q',
  kSync = 'S',
  kTerminate = 'X',
};

// First byte of a message sent by a server (backend).
enum class BackendTag : uint8_t {
  kAuthentication = 'R',
  kBackendKeyData = 'K',
  kBindComplete = '2',
  kCloseComplete = '3',
  kCommandComplete = 'C',
  kCopyData = 'd',
  kCopyDone = 'c',
  kCopyInResponse = 'G',
  kCopyOutResponse = 'H',
  kCopyBothResponse = 'W',
  kDataRow = 'D',
  kEmptyQueryResponse = 'I',
  kErrorResponse = 'E',
  kFunctionCallResponse = 'V',
  kNegotiateProtocolVersion = 'v',
  kNoData = 'n',
  kNoticeResponse = 'N',
  kNotificationResponse = 'A',
  kParameterDescription = 't',
  kParameterStatus = 'S',
  kParseComplete = '1',
  kPortalSuspended = 's',
  kReadyForQuery = 'Z',
  kRowDescription = 'T',
};

// The status byte of ReadyForQuery.
enum class TransactionStatus : uint8_t {
  kIdle = 'I',
  kInTransaction = 'T',
  kFailed = 'E',
};

// The int32 request code that follows the length of an Authentication ('R') message.
enum class AuthRequest : int32_t {
  kOk = 0,
  kCleartextPassword = 3,
  kMd5Password = 5,
  kSasl = 10,
  kSaslContinue = 11,
  kSaslFinal = 12,
};

inline constexpr int32_t kProtocolVersion3 = 196608;  // 3.0: (3 << 16) | 0
inline constexpr int32_t kSslRequestCode = 80877103;  // (1234 << 16) | 5679
inline constexpr int32_t kGssEncRequestCode = 80877104;  // (1234 << 16) | 5680
inline constexpr int32_t kCancelRequestCode = 80877102;  // (1234 << 16) | 5678
inline constexpr size_t kMaxStartupPacketLength = 10000;  // PostgreSQL's MAX_STARTUP_PACKET_LENGTH
inline constexpr size_t kHeaderSize = 5;  // tag + int32 length
inline constexpr uint32_t kMaxMessageLength = 0x3fffffff;  // PostgreSQL's own 1 GB cap (PQ_LARGE_MESSAGE_LIMIT)
// PostgreSQL's PQ_SMALL_MESSAGE_LIMIT: the most a Close, Describe, Execute, Flush, Sync, Terminate,
// CopyDone or CopyFail may announce in its length field. A backend reading a longer one drops the
// connection without a word ("invalid message length" in its log only).
inline constexpr uint32_t kMaxSmallMessageLength = 10000;

}  // namespace pgtenant::protocol
