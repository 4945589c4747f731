#include "daemon/store/args_codec.h"

#include <cstdint>

namespace jobd {

std::string EncodeArgs(const std::vector<std::string>& args) {
  size_t total = 0;
  for (const std::string& arg : args) total += 4 + arg.size();
  std::string blob;
  blob.reserve(total);
  for (const std::string& arg : args) AppendEncodedArg(blob, arg);
  return blob;
}

void AppendEncodedArg(std::string& blob, std::string_view arg) {
  const auto size = static_cast<uint32_t>(arg.size());
  for (int shift = 0; shift < 32; shift += 8) {
    blob.push_back(static_cast<char>((size >> shift) & 0xff));
  }
  blob.append(arg);
}

std::optional<std::vector<std::string>> DecodeArgs(std::string_view blob) {
  std::vector<std::string> args;
  while (!blob.empty()) {
    if (blob.size() < 4) return std::nullopt;
    uint32_t size = 0;
    for (int i = 0; i < 4; ++i) {
      size |= static_cast<uint32_t>(static_cast<unsigned char>(blob[i])) << (8 * i);
    }
    blob.remove_prefix(4);
    if (blob.size() < size) return std::nullopt;
    args.emplace_back(blob.substr(0, size));
    blob.remove_prefix(size);
  }
  return args;
}

}  // namespace jobd
