#include "daemon/store/command_codec.h"

#include <charconv>
#include <vector>

#include "daemon/store/args_codec.h"

namespace jobd {
namespace {

template <typename T>
bool ParseNumber(const std::string& text, T& out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, out);
  return ec == std::errc() && ptr == end;
}

// cwd, stdin, max_output, memory_limit, cpu_limit_us, then the env entries.
constexpr size_t kOptionsFixed = 5;
constexpr size_t kEndFields = 6;

}  // namespace

std::string EncodeCommandOptions(const CommandOptions& options) {
  std::vector<std::string> fields = {options.cwd, options.stdin_path,
                                     std::to_string(options.max_output),
                                     std::to_string(options.memory_limit),
                                     std::to_string(options.cpu_limit_us)};
  fields.insert(fields.end(), options.env.begin(), options.env.end());
  return EncodeArgs(fields);
}

std::optional<CommandOptions> DecodeCommandOptions(std::string_view blob) {
  std::optional<std::vector<std::string>> fields = DecodeArgs(blob);
  if (!fields || fields->size() < kOptionsFixed) return std::nullopt;
  CommandOptions options;
  options.cwd = (*fields)[0];
  options.stdin_path = (*fields)[1];
  if (!ParseNumber((*fields)[2], options.max_output) ||
      !ParseNumber((*fields)[3], options.memory_limit) ||
      !ParseNumber((*fields)[4], options.cpu_limit_us)) {
    return std::nullopt;
  }
  options.env.assign(fields->begin() + kOptionsFixed, fields->end());
  return options;
}

std::string EncodeCommandEnd(const CommandEnd& end) {
  return EncodeArgs({std::to_string(end.exit_code), std::to_string(end.signal),
                     std::to_string(end.cpu_us), std::to_string(end.max_rss_bytes),
                     end.stdout_truncated ? "1" : "0", end.stderr_truncated ? "1" : "0"});
}

std::optional<CommandEnd> DecodeCommandEnd(std::string_view blob) {
  std::optional<std::vector<std::string>> fields = DecodeArgs(blob);
  if (!fields || fields->size() < kEndFields) return std::nullopt;
  const std::vector<std::string>& f = *fields;
  CommandEnd end;
  if (!ParseNumber(f[0], end.exit_code) || !ParseNumber(f[1], end.signal) ||
      !ParseNumber(f[2], end.cpu_us) || !ParseNumber(f[3], end.max_rss_bytes) ||
      (f[4] != "0" && f[4] != "1") || (f[5] != "0" && f[5] != "1")) {
    return std::nullopt;
  }
  end.stdout_truncated = f[4] == "1";
  end.stderr_truncated = f[5] == "1";
  return end;
}

}  // namespace jobd
