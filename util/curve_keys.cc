#include "util/curve_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <set>

#include "util/unique_fd.h"

namespace jobd {
namespace {

constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
constexpr size_t kMaxKeyFileBytes = 1 << 20;
constexpr size_t kMaxNameLength = 64;
constexpr size_t kMaxAccountLength = 256;  // LOGIN_NAME_MAX
constexpr std::string_view kUserField = "user=";

std::string_view Trim(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t\r");
  if (start == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(" \t\r");
  return text.substr(start, end - start + 1);
}

// Calls `line(number, text)` for each line, trimmed, that is neither blank
// nor a comment, until it returns an error.
template <typename OnLine>
Status ForEachLine(std::string_view text, OnLine line) {
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    const size_t end = text.find('\n');
    const std::string_view raw = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    const std::string_view trimmed = Trim(raw);
    // A Z85 key never starts with '#' (its first character encodes at most
    // 82 of the alphabet's 85), so a comment is never a key.
    if (trimmed.empty() || trimmed[0] == '#') continue;
    Status status = line(number, trimmed);
    if (!status.ok()) return status;
  }
  return Status::Ok();
}

std::string At(const std::string& path, size_t line) {
  return path + ":" + std::to_string(line) + ": ";
}

bool IsName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength) return false;
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name[0])) return false;
  for (char c : name) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-' && c != '@') return false;
  }
  return true;
}

// A user name as the user database may hold it (POSIX's portable names,
// and what NSS modules add: "alice@example.org", Samba's "host$"); not
// starting with '-', so that it is never taken for an option.
bool IsAccountName(std::string_view name) {
  if (name.empty() || name.size() > kMaxAccountLength || name[0] == '-') return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' || c == '@';
    if (!plain && !(c == '$' && i + 1 == name.size())) return false;
  }
  return true;
}

// Digits only: a uid, which must fit one and not be (uid_t)-1, "no uid".
bool IsValidUidText(std::string_view digits) {
  uint64_t uid = 0;
  for (char c : digits) {
    uid = uid * 10 + static_cast<uint64_t>(c - '0');
    if (uid >= 0xffffffffu) return false;
  }
  return true;
}

bool IsDigits(std::string_view text) {
  return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

// Whitespace-separated words of a (trimmed) line.
std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> words;
  while (!line.empty()) {
    const size_t end = line.find_first_of(" \t");
    words.push_back(line.substr(0, end));
    if (end == std::string_view::npos) break;
    const size_t next = line.find_first_not_of(" \t", end);
    line = next == std::string_view::npos ? std::string_view() : line.substr(next);
  }
  return words;
}

// A word after NAME KEY is a field; user= is the only one yet.
bool IsField(std::string_view word) { return word.rfind(kUserField, 0) == 0; }

Status ParseField(std::string_view word, AuthorizedKey& entry) {
  if (!IsField(word)) {
    return Status::InvalidArgument("unknown field '" + std::string(word) +
                                   "' (after NAME KEY only user=ACCOUNT may follow)");
  }
  if (!entry.account.empty()) return Status::InvalidArgument("user= is given twice");
  const std::string_view account = word.substr(kUserField.size());
  const bool valid = IsDigits(account) ? IsValidUidText(account) : IsAccountName(account);
  if (!valid) {
    return Status::InvalidArgument(
        "bad account '" + std::string(account) +
        "' in user= (a user name: letters, digits and . _ - @, a $ at the end, up to 256, "
        "not starting with -; or a uid below 4294967295)");
  }
  entry.account.assign(account);
  return Status::Ok();
}

}  // namespace

bool IsZ85Key(std::string_view text) {
  return text.size() == kZ85KeyLength &&
         text.find_first_not_of(kZ85Alphabet) == std::string_view::npos;
}

std::string FormatKeyPairFile(const CurveKeyPair& keys) {
  return "# A jobd CURVE key pair, written by jobctl keygen. Keep this file secret:\n"
         "# whoever reads it can act as its owner.\n"
         "public-key = " + keys.public_key + "\n"
         "secret-key = " + keys.secret_key + "\n";
}

Result<CurveKeyPair> ParseKeyPairFile(std::string_view text, const std::string& path) {
  CurveKeyPair keys;
  Status status = ForEachLine(text, [&](size_t number, std::string_view line) -> Status {
    const size_t eq = line.find('=');
    const std::string_view name = Trim(line.substr(0, eq));
    std::string* field = name == "public-key"   ? &keys.public_key
                         : name == "secret-key" ? &keys.secret_key
                                                : nullptr;
    if (eq == std::string_view::npos || field == nullptr) {
      return Status::InvalidArgument(At(path, number) +
                                     "expected \"public-key = KEY\" or \"secret-key = KEY\"");
    }
    const std::string_view value = Trim(line.substr(eq + 1));
    if (!IsZ85Key(value)) {
      return Status::InvalidArgument(At(path, number) + std::string(name) +
                                     " is not a Z85 key (40 characters)");
    }
    field->assign(value);
    return Status::Ok();
  });
  if (!status.ok()) return status;
  if (keys.public_key.empty() || keys.secret_key.empty()) {
    return Status::InvalidArgument(path + ": not a key pair file (it needs public-key and "
                                   "secret-key lines; jobctl keygen writes one)");
  }
  return keys;
}

Result<std::string> ResolvePublicKey(const std::string& key_or_file) {
  if (IsZ85Key(key_or_file)) return key_or_file;
  Result<std::string> text = ReadKeyFile(key_or_file);
  if (!text.ok()) {
    return Status::InvalidArgument("'" + key_or_file + "' is neither a Z85 key (40 characters) "
                                   "nor a readable file: " + text.status().message());
  }
  std::string key;
  Status status = ForEachLine(*text, [&](size_t number, std::string_view line) -> Status {
    if (line.rfind("secret-key", 0) == 0) return Status::Ok();
    if (line.rfind("public-key", 0) == 0) {
      const size_t eq = line.find('=');
      if (eq != std::string_view::npos) line = Trim(line.substr(eq + 1));
    }
    if (!IsZ85Key(line) || !key.empty()) {
      return Status::InvalidArgument(At(key_or_file, number) +
                                     "expected one public key (40 characters of Z85)");
    }
    key.assign(line);
    return Status::Ok();
  });
  if (!status.ok()) return status;
  if (key.empty()) return Status::InvalidArgument(key_or_file + ": no public key in it");
  return key;
}

Result<std::vector<AuthorizedKey>> ParseAuthorizedKeys(std::string_view text,
                                                       const std::string& path) {
  std::vector<AuthorizedKey> keys;
  std::set<std::string, std::less<>> seen;
  Status status = ForEachLine(text, [&](size_t number, std::string_view line) -> Status {
    const std::vector<std::string_view> words = Words(line);
    AuthorizedKey entry;
    entry.line = number;
    if (words.size() == 1) {
      entry.key.assign(words[0]);
      entry.name = entry.key;
    } else {
      entry.name.assign(words[0]);
      entry.key.assign(words[1]);
      if (words.size() == 2 && IsField(words[1]) && !IsZ85Key(words[1])) {
        return Status::InvalidArgument(At(path, number) + "expected \"NAME KEY " +
                                       std::string(words[1]) + "\": a field needs a name and a "
                                       "key before it");
      }
      if (!IsName(entry.name)) {
        return Status::InvalidArgument(
            At(path, number) + "bad name '" + entry.name +
            "' (letters, digits and . _ - @, starting with a letter or digit, up to 64)");
      }
    }
    if (!IsZ85Key(entry.key)) {
      return Status::InvalidArgument(At(path, number) +
                                     "expected \"KEY\" or \"NAME KEY [user=ACCOUNT]\", KEY a "
                                     "public key in Z85 (40 characters)");
    }
    for (size_t i = 2; i < words.size(); ++i) {
      Status field = ParseField(words[i], entry);
      if (!field.ok()) return Status::InvalidArgument(At(path, number) + field.message());
    }
    if (!seen.insert(entry.key).second) {
      return Status::InvalidArgument(At(path, number) + "this key is listed twice");
    }
    keys.push_back(std::move(entry));
    return Status::Ok();
  });
  if (!status.ok()) return status;
  return keys;
}

Result<std::string> ReadKeyFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return SysError("open", path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return SysError("stat", path, errno);
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + " is not a regular file");
  if (static_cast<size_t>(st.st_size) > kMaxKeyFileBytes) {
    return Status::InvalidArgument(path + " is too large for a keys file");
  }
  std::string text;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SysError("read", path, errno);
    if (n == 0) break;
    text.append(buffer, static_cast<size_t>(n));
    if (text.size() > kMaxKeyFileBytes) {
      return Status::InvalidArgument(path + " is too large for a keys file");
    }
  }
  return text;
}

}  // namespace jobd
