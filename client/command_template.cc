#include "client/command_template.h"

#include <array>
#include <optional>
#include <utility>

namespace jobd {
namespace {

// The placeholders follow GNU parallel's rules, which its users know.

// What follows the last "/" (nothing after a trailing one), as parallel's
// s:.*/::.
std::string_view BaseName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// POSIX dirname(3), as parallel's File::Basename::dirname: trailing slashes
// are ignored, then the last name and the slashes before it go.
std::string_view DirName(std::string_view path) {
  const size_t name_end = path.find_last_not_of('/');
  if (name_end == std::string_view::npos) return path.empty() ? "." : "/";
  const size_t slash = path.rfind('/', name_end);
  if (slash == std::string_view::npos) return ".";
  const size_t dir_end = path.find_last_not_of('/', slash);
  return dir_end == std::string_view::npos ? "/" : path.substr(0, dir_end + 1);
}

// Drops the last "." and what follows unless a "/" follows it, as
// parallel's s:\.[^/.]*$::. A dotfile is all extension: ".bashrc" gives "".
std::string_view WithoutExtension(std::string_view path) {
  const size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || path.find('/', dot) != std::string_view::npos) return path;
  return path.substr(0, dot);
}

// Longest first: "{/.}" must not be read as "{/" + ".}".
constexpr std::array<std::string_view, 5> kPlaceholders = {"{//}", "{/.}", "{/}", "{.}", "{}"};
// --shell: placeholder k of this list is the positional parameter k + 1.
constexpr std::array<std::string_view, 5> kParameterOrder = {"{}", "{.}", "{/}", "{//}", "{/.}"};

size_t ParameterOf(std::string_view placeholder) {
  for (size_t k = 0; k < kParameterOrder.size(); ++k) {
    if (kParameterOrder[k] == placeholder) return k + 1;
  }
  return 1;
}

std::string ValueOf(std::string_view placeholder, std::string_view item) {
  if (placeholder == "{}") return std::string(item);
  if (placeholder == "{.}") return std::string(WithoutExtension(item));
  if (placeholder == "{/}") return std::string(BaseName(item));
  if (placeholder == "{//}") return std::string(DirName(item));
  return std::string(WithoutExtension(BaseName(item)));  // {/.}
}

std::optional<std::string_view> PlaceholderAt(std::string_view text, size_t pos) {
  for (std::string_view p : kPlaceholders) {
    if (text.substr(pos, p.size()) == p) return p;
  }
  return std::nullopt;
}

// Replaces every placeholder in `text` by quote(value).
template <typename Quote>
std::string Replace(std::string_view text, std::string_view item, Quote quote) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (std::optional<std::string_view> p = PlaceholderAt(text, i)) {
      out += quote(ValueOf(*p, item));
      i += p->size();
    } else {
      out += text[i++];
    }
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> SplitWords(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == ' ' || c == '\t' || c == '\n') {
      if (in_word) words.push_back(std::exchange(word, {}));
      in_word = false;
      continue;
    }
    const bool was_in_word = in_word;
    in_word = true;
    if (c == '\\') {
      if (++i == text.size()) return Status::InvalidArgument("the command ends with a lone \\");
      if (text[i] == '\n') {
        in_word = was_in_word;  // a line continuation: as if it were not there
        continue;
      }
      word += text[i];
    } else if (c == '\'') {
      const size_t end = text.find('\'', i + 1);
      if (end == std::string_view::npos) return Status::InvalidArgument("unclosed ' in the command");
      word += text.substr(i + 1, end - i - 1);
      i = end;
    } else if (c == '"') {
      for (++i;; ++i) {
        if (i == text.size()) return Status::InvalidArgument("unclosed \" in the command");
        if (text[i] == '"') break;
        const bool escapes = text[i] == '\\' && i + 1 < text.size() &&
                             std::string_view("\\\"$`\n").find(text[i + 1]) != std::string_view::npos;
        if (escapes && text[++i] == '\n') continue;  // a line continuation
        word += text[i];
      }
    } else {
      word += c;
    }
  }
  if (in_word) words.push_back(std::move(word));
  if (words.empty()) return Status::InvalidArgument("the command is empty");
  return words;
}

std::vector<std::string> ExpandWords(const std::vector<std::string>& words,
                                     const std::string& item) {
  std::vector<std::string> argv;
  argv.reserve(words.size() + 1);
  bool placed = false;
  for (const std::string& word : words) {
    placed = placed || HasPlaceholder(word);
    argv.push_back(Replace(word, item, [](std::string value) { return value; }));
  }
  if (!placed) argv.push_back(item);
  return argv;
}

Result<std::vector<std::string>> ShellArgv(const std::string& command, const std::string& item) {
  enum class Quote { kNone, kSingle, kDouble } quote = Quote::kNone;
  std::string script;
  bool placed = false;
  for (size_t i = 0; i < command.size();) {
    if (std::optional<std::string_view> p = PlaceholderAt(command, i)) {
      const std::string ref = "${" + std::to_string(ParameterOf(*p)) + "}";
      if (quote == Quote::kNone) script += '"' + ref + '"';
      if (quote == Quote::kDouble) script += ref;
      if (quote == Quote::kSingle) script += "'\"" + ref + "\"'";
      placed = true;
      i += p->size();
      continue;
    }
    const char c = command[i++];
    script += c;
    if (c == '\\' && quote != Quote::kSingle && i < command.size()) {
      script += command[i++];  // escaped: it neither opens nor closes a quote
    } else if (c == '\'' && quote != Quote::kDouble) {
      quote = quote == Quote::kSingle ? Quote::kNone : Quote::kSingle;
    } else if (c == '"' && quote != Quote::kSingle) {
      quote = quote == Quote::kDouble ? Quote::kNone : Quote::kDouble;
    }
  }
  if (quote != Quote::kNone) {
    return Status::InvalidArgument(quote == Quote::kSingle ? "unclosed ' in the command"
                                                           : "unclosed \" in the command");
  }
  if (!placed) script += " \"${1}\"";
  std::vector<std::string> argv = {"/bin/sh", "-c", std::move(script), "sh"};
  for (std::string_view p : kParameterOrder) argv.push_back(ValueOf(p, item));
  return argv;
}

bool HasPlaceholder(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (PlaceholderAt(text, i)) return true;
  }
  return false;
}

}  // namespace jobd
