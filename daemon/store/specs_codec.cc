#include "daemon/store/specs_codec.h"

#include <cstdint>

#include "daemon/core/task_specs.h"
#include "daemon/store/args_codec.h"

namespace jobd {
namespace {

void AppendU32(std::string& blob, uint32_t value) {
  for (int shift = 0; shift < 32; shift += 8) {
    blob.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

// Reads the blob front to back; every read checks what is left first.
class Reader {
 public:
  explicit Reader(std::string_view blob) : rest_(blob) {}

  bool U32(uint32_t& value) {
    if (rest_.size() < 4) return false;
    value = 0;
    for (int i = 0; i < 4; ++i) {
      value |= static_cast<uint32_t>(static_cast<unsigned char>(rest_[i])) << (8 * i);
    }
    rest_.remove_prefix(4);
    return true;
  }
  bool String(std::string& value) {
    uint32_t size = 0;
    if (!U32(size) || rest_.size() < size) return false;
    value.assign(rest_.substr(0, size));
    rest_.remove_prefix(size);
    return true;
  }
  size_t left() const { return rest_.size(); }

 private:
  std::string_view rest_;
};

// Each task takes at least its name length and argument count.
constexpr size_t kMinTaskBytes = 8;

}  // namespace

std::string EncodeSpecs(const TaskSpecs& specs) {
  size_t total = 1 + 4;
  for (uint32_t t = 0; t < specs.size(); ++t) {
    total += kMinTaskBytes + specs.own_name(t).size();
    for (uint32_t a = 0; a < specs.arg_count(t); ++a) total += 4 + specs.arg(t, a).size();
  }
  std::string blob;
  blob.reserve(total);
  blob.push_back(kSpecsFormatVersion);
  AppendU32(blob, specs.size());
  for (uint32_t t = 0; t < specs.size(); ++t) {
    AppendEncodedArg(blob, specs.own_name(t));  // a name is encoded as an argument is
    AppendU32(blob, specs.arg_count(t));
    for (uint32_t a = 0; a < specs.arg_count(t); ++a) AppendEncodedArg(blob, specs.arg(t, a));
  }
  return blob;
}

std::string EncodeSpecs(const std::vector<StoredTask>& tasks) {
  std::string blob;
  blob.push_back(kSpecsFormatVersion);
  AppendU32(blob, static_cast<uint32_t>(tasks.size()));
  for (const StoredTask& task : tasks) {
    AppendEncodedArg(blob, task.name);
    AppendU32(blob, static_cast<uint32_t>(task.args.size()));
    for (const std::string& arg : task.args) AppendEncodedArg(blob, arg);
  }
  return blob;
}

std::optional<std::vector<StoredTask>> DecodeSpecs(std::string_view blob) {
  if (blob.empty() || blob[0] != kSpecsFormatVersion) return std::nullopt;
  Reader reader(blob.substr(1));
  uint32_t count = 0;
  // A count the bytes cannot hold is garbage: refuse it before allocating.
  if (!reader.U32(count) || count > reader.left() / kMinTaskBytes) return std::nullopt;
  std::vector<StoredTask> tasks(count);
  for (uint32_t i = 0; i < count; ++i) {
    StoredTask& task = tasks[i];
    task.index = i;
    uint32_t args = 0;
    if (!reader.String(task.name) || !reader.U32(args) || args > reader.left() / 4) {
      return std::nullopt;
    }
    task.args.resize(args);
    for (std::string& arg : task.args) {
      if (!reader.String(arg)) return std::nullopt;
    }
  }
  if (reader.left() != 0) return std::nullopt;
  return tasks;
}

}  // namespace jobd
