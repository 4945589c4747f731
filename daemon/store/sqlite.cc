#include "daemon/store/sqlite.h"

#include <cstring>
#include <utility>

namespace jobd {

Status SqliteError(sqlite3* db, const std::string& path, const std::string& operation) {
  const int code = db != nullptr ? (sqlite3_errcode(db) & 0xff) : SQLITE_NOMEM;
  if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
    // Retrying cannot help; say what will.
    return CorruptStore(path, sqlite3_errmsg(db));
  }
  std::string msg = "store " + path + ": " + operation + ": ";
  msg += db != nullptr ? sqlite3_errmsg(db) : "out of memory";
  // "unable to open database file" alone does not say why.
  if (code == SQLITE_CANTOPEN || code == SQLITE_IOERR) {
    const int err = sqlite3_system_errno(db);
    if (err != 0) msg += std::string(" (") + std::strerror(err) + ")";
  }
  return Status::Failed(std::move(msg));
}

Status CorruptStore(const std::string& path, const std::string& detail) {
  return Status::Failed("store " + path + " is corrupt (" + detail +
                        "); move it away to start with an empty store");
}

Status Exec(sqlite3* db, const std::string& path, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return SqliteError(db, path, sql);
  }
  return Status::Ok();
}

Result<Statement> Statement::Prepare(sqlite3* db, const std::string& path, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  // PERSISTENT: these live as long as the store, a hint for SQLite's allocator.
  if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    return SqliteError(db, path, std::string("prepare ") + sql);
  }
  return Statement(stmt);
}

Statement::Statement(Statement&& other) noexcept : stmt_(std::exchange(other.stmt_, nullptr)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = std::exchange(other.stmt_, nullptr);
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::BindInt(int pos, int64_t value) { sqlite3_bind_int64(stmt_, pos, value); }

void Statement::BindNull(int pos) { sqlite3_bind_null(stmt_, pos); }

void Statement::BindText(int pos, std::string_view value) {
  // A null pointer would bind NULL; "" keeps an empty string a string.
  sqlite3_bind_text64(stmt_, pos, value.empty() ? "" : value.data(), value.size(),
                      SQLITE_STATIC, SQLITE_UTF8);
}

void Statement::BindBlob(int pos, std::string_view value) {
  sqlite3_bind_blob64(stmt_, pos, value.empty() ? "" : value.data(), value.size(),
                      SQLITE_STATIC);
}

int Statement::Step() { return sqlite3_step(stmt_); }

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::Text(int col) const {
  // Blob first, then bytes: the documented order that avoids a conversion.
  const void* data = sqlite3_column_blob(stmt_, col);
  const int size = sqlite3_column_bytes(stmt_, col);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

}  // namespace jobd
