// Thin RAII over the SQLite C API: a connection, a prepared statement, and
// SQLite errors as Status values that name the operation and the file.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "util/status.h"

namespace jobd {

struct SqliteCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
// A connection. Statements must be finalized before it closes (declare them
// after it, so they are destroyed first).
using SqliteDb = std::unique_ptr<sqlite3, SqliteCloser>;

// "store <path>: <operation>: <SQLite's message for the connection's last error>",
// or, for a corrupt file, "store <path> is corrupt (<message>); move it away...".
Status SqliteError(sqlite3* db, const std::string& path, const std::string& operation);

// "store <path> is corrupt (<detail>); move it away to start with an empty store"
Status CorruptStore(const std::string& path, const std::string& detail);

// Runs SQL that returns no rows (DDL, BEGIN, COMMIT, some PRAGMAs).
Status Exec(sqlite3* db, const std::string& path, const char* sql);

// A prepared statement, owned. Binds take 1-based positions; text and blobs
// are not copied, so they must stay alive until the statement is reset.
class Statement {
 public:
  Statement() = default;
  static Result<Statement> Prepare(sqlite3* db, const std::string& path, const char* sql);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  void BindInt(int pos, int64_t value);
  void BindNull(int pos);
  void BindText(int pos, std::string_view value);
  void BindBlob(int pos, std::string_view value);

  // SQLITE_ROW, SQLITE_DONE or an error code (the message is on the connection).
  int Step();
  // Ready for the next use; releases what the last Step held (read snapshot).
  void Reset();

  bool IsNull(int col) const;
  int64_t Int(int col) const;
  std::string Text(int col) const;  // also reads blobs: both are bytes to us

 private:
  explicit Statement(sqlite3_stmt* stmt) : stmt_(stmt) {}
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when the scope ends, on every path out.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& stmt) : stmt_(stmt) {}
  ~ResetOnExit() { stmt_.Reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& stmt_;
};

}  // namespace jobd
