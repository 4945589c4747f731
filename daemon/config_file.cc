#include "daemon/config_file.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <optional>

#include "util/closest_name.h"

namespace jobd {
namespace {

std::string_view Trim(std::string_view text) {
  const size_t start = text.find_first_not_of(" \t\r");
  if (start == std::string_view::npos) return {};
  const size_t end = text.find_last_not_of(" \t\r");
  return text.substr(start, end - start + 1);
}

// As CLI11 does to a name: "x" or 'x' become x.
std::string_view Unquoted(std::string_view name) {
  if (name.size() >= 2 && (name.front() == '"' || name.front() == '\'') &&
      name.back() == name.front()) {
    return name.substr(1, name.size() - 2);
  }
  return name;
}

std::string Lower(std::string_view text) {
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const size_t end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

}  // namespace

std::vector<ConfigEntry> ConfigEntries(std::string_view text) {
  const std::vector<std::string_view> lines = Lines(text);
  std::vector<ConfigEntry> entries;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string_view line = Trim(lines[i]);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    ConfigEntry entry;
    entry.line = static_cast<int>(i + 1);
    entry.text = std::string(lines[i]);
    if (line.front() == '[' && line.back() == ']') {
      std::string_view section = line.substr(1, line.size() - 2);
      if (section.size() > 1 && section.front() == '[' && section.back() == ']') {
        section = section.substr(1, section.size() - 2);  // TOML's [[name]]
      }
      if (Lower(section) == "default") continue;
      entry.name.append("[").append(section).append("]");
      entries.push_back(std::move(entry));
      continue;
    }
    const size_t equals = line.find('=');
    if (equals == std::string_view::npos) {
      entry.name = std::string(Unquoted(Trim(line.substr(0, line.find('#')))));
    } else {
      entry.name = std::string(Unquoted(Trim(line.substr(0, equals))));
      // A list goes on to its closing bracket, as CLI11 reads it.
      std::string value(Trim(line.substr(equals + 1)));
      value = std::string(Trim(value.substr(0, value.find('#'))));
      if (value.size() > 1 && value.front() == '[') {
        while (value.back() != ']' && i + 1 < lines.size()) {
          ++i;
          value += Trim(lines[i]);
          entry.text += '\n';
          entry.text += lines[i];
        }
      }
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

Status CheckConfigFile(const std::string& path, const std::vector<std::string>& names,
                       const std::function<Status(const std::string& entry_text)>& check_entry) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read " + path + ": " + std::strerror(errno));
  const std::string text(std::istreambuf_iterator<char>(in), {});
  for (const ConfigEntry& entry : ConfigEntries(text)) {
    const std::string where = path + ":" + std::to_string(entry.line) + ": ";
    if (entry.name.empty()) return Status::InvalidArgument(where + "no option name before =");
    if (entry.name.front() == '[') {
      return Status::InvalidArgument(where + "section " + entry.name +
                                     ": jobd's options take none; write them as name = value "
                                     "lines at the top");
    }
    if (std::find(names.begin(), names.end(), entry.name) == names.end()) {
      std::string message = where + "unknown option '" + entry.name + "'";
      if (std::optional<std::string> near = ClosestName(entry.name, names)) {
        message += " (did you mean '" + *near + "'?)";
      } else {
        message += " (see jobd --help)";
      }
      return Status::InvalidArgument(message);
    }
    if (Status checked = check_entry(entry.text); !checked.ok()) {
      return Status::InvalidArgument(where + checked.message());
    }
  }
  return Status::Ok();
}

}  // namespace jobd
