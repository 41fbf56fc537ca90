// Integrity of bulk data through pgtenant (issue 8, item 5): N MB in with COPY FROM STDIN and out with
// COPY TO STDOUT, with the SHA-256 of the bytes the client sent, of the bytes PostgreSQL itself returns
// (COPY TO STDOUT straight from the server, no proxy) and of the bytes the client received through the
// proxy all equal.
//
// The size is PGTENANT_INTEGRITY_MB (default kDefaultMegabytes, per format); bench/integrity runs it with
// 1024. Why not 1 GB in the suite: on the 2 shared cores it was measured on, the 1 GB text case took
// ~27 s when the machine was quiet but ~110 s under other builds (near the 120 s per-case deadline),
// it needs ~3 GB in /tmp, and the suite also runs under ASan. The data is generated from a seed (printed; PGTENANT_INTEGRITY_SEED repeats a run) in the
// canonical form COPY TO emits, so a byte-exact round trip is the expected result: text rows with
// escapes, raw control bytes and multi-byte UTF-8; binary rows with bytea of every byte value. Chunks
// handed to PQputCopyData have random sizes, so CopyData messages split rows anywhere.
#include <catch2/catch.hpp>
#include <libpq-fe.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"

namespace pgtenant::integration {
namespace {

constexpr long kDefaultMegabytes = 32;
constexpr size_t kMaxChunk = 256 * 1024;

long Megabytes() {
  const char* value = std::getenv("PGTENANT_INTEGRITY_MB");
  if (value == nullptr || *value == '\0') return kDefaultMegabytes;
  const long mb = std::strtol(value, nullptr, 10);
  return mb > 0 ? mb : kDefaultMegabytes;
}

uint64_t Seed() {
  const char* value = std::getenv("PGTENANT_INTEGRITY_SEED");
  if (value != nullptr && *value != '\0') return std::strtoull(value, nullptr, 10);
  return std::random_device{}();
}

// splitmix64: fast, and the same stream for the same seed on every machine.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }

 private:
  uint64_t state_;
};

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr); }
  void Update(const char* data, size_t size) {
    EVP_DigestUpdate(ctx_.get(), data, size);
    bytes_ += size;
  }
  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_DigestFinal_ex(ctx_.get(), digest, &size);
    static const char kHex[] = "0123456789abcdef";
    std::string hex;
    for (unsigned int i = 0; i < size; ++i) {
      hex += kHex[digest[i] >> 4];
      hex += kHex[digest[i] & 15];
    }
    return hex;
  }
  uint64_t bytes() const { return bytes_; }

 private:
  struct Free {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD_CTX, Free> ctx_;
  uint64_t bytes_ = 0;
};

enum class CopyFormat { kText, kBinary };

// Appends rows of the canonical COPY form to a buffer until the target size is reached.
class RowGenerator {
 public:
  RowGenerator(CopyFormat format, uint64_t seed, uint64_t target_bytes)
      : format_(format), random_(seed), target_bytes_(target_bytes) {}

  // Appends the next piece (header, rows, trailer) to `out`; false once everything was produced.
  bool Fill(std::string& out, size_t at_least) {
    if (done_) return false;
    if (produced_ == 0 && format_ == CopyFormat::kBinary) {
      static const char kHeader[] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0";  // signature, flags 0, no extension
      Append(out, std::string(kHeader, 19));
    }
    const size_t start = out.size();
    while (out.size() - start < at_least) {
      if (produced_ >= target_bytes_) {
        if (format_ == CopyFormat::kBinary) Append(out, std::string("\xff\xff", 2));  // field count -1
        done_ = true;
        break;
      }
      ++rows_;
      if (format_ == CopyFormat::kText) {
        AppendTextRow(out);
      } else {
        AppendBinaryRow(out);
      }
    }
    return true;
  }
  uint64_t rows() const { return rows_; }

 private:
  void Append(std::string& out, const std::string& piece) {
    out += piece;
    produced_ += piece.size();
  }

  // id, tab, body, newline. The body mixes printable ASCII, the escapes COPY TO writes (\\ \t \n \r \b
  // \f \v), control bytes it leaves raw, and 2-, 3- and 4-byte UTF-8.
  void AppendTextRow(std::string& out) {
    static const char* const kSpecial[] = {"\\\\", "\\t",         "\\n",          "\\r",          "\\b",
                                           "\\f",  "\\v",         "\x01",         "\x1b",         "\x7f",
                                           "\xc3\xa9", "\xc3\x9f", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    const size_t before = out.size();
    out += std::to_string(rows_);
    out += '\t';
    const size_t length = 100 + random_.Below(1600);
    for (size_t i = 0; i < length; ++i) {
      const uint64_t r = random_.Next();
      if (r % 16 == 0) {
        out += kSpecial[(r >> 8) % (sizeof(kSpecial) / sizeof(kSpecial[0]))];
      } else {
        char c = static_cast<char>(0x20 + (r >> 8) % 95);  // ' ' .. '~'
        if (c == '\\') c = '/';
        out += c;
      }
    }
    out += '\n';
    produced_ += out.size() - before;
  }

  // Field count 2; int8 id; bytea of 100..1699 random bytes (every byte value appears).
  void AppendBinaryRow(std::string& out) {
    const size_t before = out.size();
    const size_t length = 100 + random_.Below(1600);
    out += std::string("\0\2\0\0\0\x08", 6);
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((rows_ >> shift) & 0xff);
    for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((length >> shift) & 0xff);
    for (size_t i = 0; i < length; i += 8) {
      const uint64_t r = random_.Next();
      for (size_t k = 0; k < 8 && i + k < length; ++k) out += static_cast<char>((r >> (8 * k)) & 0xff);
    }
    produced_ += out.size() - before;
  }

  CopyFormat format_;
  Random random_;
  uint64_t target_bytes_;
  uint64_t produced_ = 0;
  uint64_t rows_ = 0;
  bool done_ = false;
};

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct CopyOutcome {
  std::string sha256;
  uint64_t bytes = 0;
  std::string tuples;  // the command tag's row count
  double seconds = 0;
};

// COPY ... TO STDOUT on `conn`, hashing every CopyData payload.
CopyOutcome CopyOut(PGconn* conn, const std::string& sql) {
  const auto start = std::chrono::steady_clock::now();
  PgResult copy_out = Exec(conn, sql);
  REQUIRE(PQresultStatus(copy_out.get()) == PGRES_COPY_OUT);
  Sha256 hash;
  for (;;) {
    char* data = nullptr;
    const int n = PQgetCopyData(conn, &data, 0);
    if (n < 0) break;
    hash.Update(data, static_cast<size_t>(n));
    PQfreemem(data);
  }
  PgResult done(PQgetResult(conn));
  INFO(PQerrorMessage(conn));
  REQUIRE(PQresultStatus(done.get()) == PGRES_COMMAND_OK);
  while (PgResult rest{PQgetResult(conn)}) {
  }
  CopyOutcome outcome;
  outcome.tuples = PQcmdTuples(done.get());
  outcome.bytes = hash.bytes();
  outcome.sha256 = hash.HexDigest();
  outcome.seconds = SecondsSince(start);
  return outcome;
}

void Report(const char* what, uint64_t bytes, double seconds, const std::string& sha256) {
  const double mb = static_cast<double>(bytes) / (1024.0 * 1024.0);
  std::printf("copy integrity: %-38s %9.1f MB in %7.2f s (%6.1f MB/s) sha256 %s\n", what, mb, seconds,
              seconds > 0 ? mb / seconds : 0.0, sha256.c_str());
  std::fflush(stdout);
}

void RoundTrip(CopyFormat format) {
  const long megabytes = Megabytes();
  const uint64_t seed = Seed();
  const char* name = format == CopyFormat::kText ? "text" : "binary";
  std::printf("copy integrity: format %s, %ld MB, seed %llu (PGTENANT_INTEGRITY_SEED repeats it)\n", name,
              megabytes, static_cast<unsigned long long>(seed));
  INFO("format " << name << ", " << megabytes << " MB, seed " << seed);

  TestDatabase db = PostgresServer::Shared().CreateTestDatabase("integrity");
  PgConn direct = Connect(PostgresServer::Shared().ConnString(db.role, db.password, db.database));
  REQUIRE(PQstatus(direct.get()) == CONNECTION_OK);
  // No autovacuum pass competing with the load; bodies are mostly small enough to stay out of TOAST.
  MustExec(direct.get(), std::string("CREATE TABLE payloads (id bigint NOT NULL, body ") +
                             (format == CopyFormat::kText ? "text" : "bytea") +
                             " NOT NULL) WITH (autovacuum_enabled = off)");
  const std::string options = format == CopyFormat::kText ? "" : " WITH (FORMAT binary)";

  ProxyProcess proxy(StandardConfig(db));
  PgConn conn = MustConnectProxy(proxy, "alice", kAlicePassword, "app");

  // In: generate, hash and send in chunks of random size.
  const auto in_start = std::chrono::steady_clock::now();
  PgResult copy_in = Exec(conn.get(), "COPY payloads FROM STDIN" + options);
  REQUIRE(PQresultStatus(copy_in.get()) == PGRES_COPY_IN);
  RowGenerator rows(format, seed, static_cast<uint64_t>(megabytes) * 1024 * 1024);
  Random chunks(seed ^ 0x5bd1e995);
  Sha256 sent;
  std::string buffer;
  size_t offset = 0;
  for (;;) {
    const size_t chunk = 1 + chunks.Below(kMaxChunk);
    if (buffer.size() - offset < chunk) {
      buffer.erase(0, offset);
      offset = 0;
      rows.Fill(buffer, chunk);
    }
    if (buffer.size() == offset) break;
    const size_t size = std::min(chunk, buffer.size() - offset);
    sent.Update(buffer.data() + offset, size);
    INFO(PQerrorMessage(conn.get()));
    REQUIRE(PQputCopyData(conn.get(), buffer.data() + offset, static_cast<int>(size)) == 1);
    offset += size;
  }
  REQUIRE(PQputCopyEnd(conn.get(), nullptr) == 1);
  PgResult copied(PQgetResult(conn.get()));
  INFO(PQerrorMessage(conn.get()));
  REQUIRE(PQresultStatus(copied.get()) == PGRES_COMMAND_OK);
  CHECK(std::string(PQcmdTuples(copied.get())) == std::to_string(rows.rows()));
  while (PgResult rest{PQgetResult(conn.get())}) {
  }
  const std::string sent_sha256 = sent.HexDigest();
  Report("COPY FROM STDIN through pgtenant", sent.bytes(), SecondsSince(in_start), sent_sha256);

  // Rows come back in id order: COPY FROM's multi-insert does not keep the heap in insertion order.
  // The index is built without the proxy, after the load, so that it does not slow the load down.
  MustExec(direct.get(), "CREATE INDEX ON payloads (id)");
  MustExec(direct.get(), "ANALYZE payloads");
  const std::string copy_out = "COPY (SELECT id, body FROM payloads ORDER BY id) TO STDOUT" + options;
  // What the server stored, read back without the proxy.
  const CopyOutcome server = CopyOut(direct.get(), copy_out);
  Report("COPY TO STDOUT directly from PostgreSQL", server.bytes, server.seconds, server.sha256);
  // The same through the proxy.
  const CopyOutcome proxied = CopyOut(conn.get(), copy_out);
  Report("COPY TO STDOUT through pgtenant", proxied.bytes, proxied.seconds, proxied.sha256);

  CHECK(server.tuples == std::to_string(rows.rows()));
  CHECK(proxied.tuples == std::to_string(rows.rows()));
  CHECK(server.bytes == sent.bytes());
  CHECK(proxied.bytes == sent.bytes());
  CHECK(server.sha256 == sent_sha256);
  CHECK(proxied.sha256 == sent_sha256);
  CHECK(QueryValue(conn.get(), "SELECT 'session still usable'") == "session still usable");

  MustExec(direct.get(), "DROP TABLE payloads");
}

TEST_CASE("COPY in and out through pgtenant in text format: the SHA-256 of sent, stored and received bytes match",
          "[copy][integrity]") {
  RoundTrip(CopyFormat::kText);
}

TEST_CASE("COPY in and out through pgtenant in binary format (every byte value): the SHA-256s match",
          "[copy][integrity]") {
  RoundTrip(CopyFormat::kBinary);
}

}  // namespace
}  // namespace pgtenant::integration
