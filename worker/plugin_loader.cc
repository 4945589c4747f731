#include "worker/plugin_loader.h"

#include <dlfcn.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <new>
#include <set>
#include <system_error>
#include <type_traits>
#include <utility>

namespace jobd {
namespace {

// What one task appended, bounded by the limit.
struct Collector {
  uint64_t limit = 0;
  uint64_t total = 0;  // every byte appended, kept or not (saturating)
  bool failed = false;
  std::string value;  // what was appended, while within the limit; then nothing
  std::string error;
};

// What the plugin's jobd_output* points at. Standard layout with `base`
// first, so the pointer converts back to the whole (pointer-interconvertible).
struct OutputHandle {
  jobd_output base;
  Collector* collector;
};
static_assert(std::is_standard_layout_v<OutputHandle>);

Collector& CollectorOf(jobd_output* out) {
  return *reinterpret_cast<OutputHandle*>(out)->collector;
}

// The two callbacks are entered from C: nothing may propagate out of them.
void Append(jobd_output* out, const char* data, size_t size) noexcept {
  Collector& c = CollectorOf(out);
  if (c.failed || size == 0) return;
  if (data == nullptr) {
    c.failed = true;
    c.error = "jobd_output_append: NULL data with a size of " + std::to_string(size);
    return;
  }
  if (__builtin_add_overflow(c.total, size, &c.total)) c.total = UINT64_MAX;
  if (c.total > c.limit) {
    // Over the limit: keep counting, but keep nothing.
    std::string().swap(c.value);
    return;
  }
  try {
    c.value.append(data, size);
  } catch (const std::bad_alloc&) {
    c.failed = true;
    std::string().swap(c.value);
    c.error.clear();  // reported as "out of memory" by RunPluginTask
  }
}

void Error(jobd_output* out, const char* message) noexcept {
  Collector& c = CollectorOf(out);
  if (c.failed) return;
  c.failed = true;
  try {
    c.error = message != nullptr ? message : "task failed";
  } catch (const std::bad_alloc&) {
    c.error.clear();
  }
}

constexpr jobd_output_ops kOutputOps = {Append, Error};

// dlerror() usually starts with the path already; no need to say it twice.
std::string DlError(const std::string& path) {
  const char* text = dlerror();
  std::string message = text != nullptr ? text : "unknown dlopen error";
  if (message.rfind(path + ": ", 0) == 0) message.erase(0, path.size() + 2);
  return message;
}

Status LoadError(const std::string& path, const std::string& reason) {
  return Status::InvalidArgument(path + ": " + reason);
}

// A name `jobctl map` can take as one argument and `jobctl tasks` print as
// one column.
bool ValidName(const char* name) {
  if (name == nullptr || *name == '\0') return false;
  for (const char* p = name; *p != '\0'; ++p) {
    const unsigned char ch = static_cast<unsigned char>(*p);
    if (std::isspace(ch) || std::iscntrl(ch)) return false;
  }
  return true;
}

// Closes the library unless released: a rejected plugin leaves nothing behind.
class LibraryHandle {
 public:
  explicit LibraryHandle(void* handle) : handle_(handle) {}
  ~LibraryHandle() {
    if (handle_ != nullptr) dlclose(handle_);
  }
  LibraryHandle(const LibraryHandle&) = delete;
  LibraryHandle& operator=(const LibraryHandle&) = delete;
  void* get() const { return handle_; }
  void Release() { handle_ = nullptr; }

 private:
  void* handle_;
};

// The optional JOBD_PLUGIN_RUNS_CODE_SYMBOL: absent, as in every plugin
// older than it, means an ordinary plugin.
bool RunsCallerCode(void* library) {
  const auto* flag = static_cast<const int*>(dlsym(library, JOBD_PLUGIN_RUNS_CODE_SYMBOL));
  dlerror();  // an absent symbol's message is no load error
  return flag != nullptr && *flag != 0;
}

}  // namespace

TaskOutput RunPluginTask(jobd_task_fn run, const std::vector<std::string>& args,
                         uint64_t max_output) {
  std::vector<const char*> argv;
  argv.reserve(args.size() + 1);
  for (const std::string& arg : args) argv.push_back(arg.c_str());
  argv.push_back(nullptr);

  Collector collector;
  collector.limit = max_output;
  OutputHandle handle{{&kOutputOps}, &collector};
  run(argv.data(), args.size(), &handle.base);

  if (collector.failed) {
    return TaskOutput::Failure(collector.error.empty() ? "out of memory" : collector.error);
  }
  if (collector.total > collector.limit) {
    return TaskOutput::Failure("output of " + std::to_string(collector.total) +
                               " bytes is over the limit of " +
                               std::to_string(collector.limit));
  }
  return TaskOutput::Success(std::move(collector.value));
}

Status LoadPlugin(const std::string& path, uint64_t max_output, TaskRegistry& registry) {
  dlerror();  // clear any earlier message
  LibraryHandle library(dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL));
  if (library.get() == nullptr) return LoadError(path, DlError(path));

  dlerror();
  void* symbol = dlsym(library.get(), JOBD_PLUGIN_SYMBOL);
  if (symbol == nullptr) {
    return LoadError(path, "no " JOBD_PLUGIN_SYMBOL " symbol (" + DlError(path) + ")");
  }
  // POSIX guarantees that a dlsym() result converts to a function pointer.
  auto tasks_fn = reinterpret_cast<jobd_plugin_tasks_fn>(symbol);
  int abi_version = 0;
  size_t count = 0;
  const jobd_task* tasks = tasks_fn(&abi_version, &count);
  if (abi_version != JOBD_TASK_ABI_VERSION) {
    return LoadError(path, "ABI version " + std::to_string(abi_version) +
                               ", but this worker loads version " +
                               std::to_string(JOBD_TASK_ABI_VERSION));
  }
  if (tasks == nullptr && count > 0) {
    return LoadError(path, JOBD_PLUGIN_SYMBOL " returned NULL for " + std::to_string(count) +
                               " tasks");
  }

  const bool runs_code = RunsCallerCode(library.get());

  // Check everything before registering anything.
  std::set<std::string, std::less<>> names;
  for (size_t i = 0; i < count; ++i) {
    const jobd_task& task = tasks[i];
    if (!ValidName(task.name)) {
      return LoadError(path, "task " + std::to_string(i) +
                                 " has no name, or one with spaces or control characters");
    }
    if (task.run == nullptr) {
      return LoadError(path, "task '" + std::string(task.name) + "' has no run function");
    }
    if (const TaskEntry* taken = registry.Find(task.name)) {
      std::string owner(TaskKindName(taken->kind));
      if (!taken->file.empty()) owner += " " + taken->file;
      return LoadError(path, "task '" + std::string(task.name) + "' is already registered (" +
                                 owner + ")");
    }
    if (!names.insert(task.name).second) {
      return LoadError(path, "task '" + std::string(task.name) + "' appears twice");
    }
  }

  for (size_t i = 0; i < count; ++i) {
    const jobd_task& task = tasks[i];
    TaskEntry entry;
    entry.name = task.name;
    entry.kind = TaskKind::kPlugin;
    entry.description = task.description != nullptr ? task.description : "";
    entry.file = path;
    entry.runs_code = runs_code;
    entry.function = [run = task.run, max_output](const std::vector<std::string>& args) {
      return RunPluginTask(run, args, max_output);
    };
    // Cannot fail: every name was checked above.
    const Status status = registry.Register(std::move(entry));
    if (!status.ok()) return LoadError(path, status.message());
  }
  library.Release();  // its tasks point into it from now on
  return Status::Ok();
}

std::vector<std::string> LoadPlugins(const std::string& dir, uint64_t max_output,
                                     TaskRegistry& registry, spdlog::logger& logger) {
  namespace fs = std::filesystem;
  std::vector<std::string> errors;
  if (dir.empty()) return errors;

  std::error_code ec;
  const fs::path root = fs::absolute(dir, ec).lexically_normal();
  std::vector<std::string> files;
  if (!ec) {
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.size() > 3 && name.compare(name.size() - 3, 3, ".so") == 0) {
        files.push_back(it->path().string());
      }
    }
  }
  if (ec) {
    errors.push_back("plugin directory " + dir + ": " + ec.message());
    logger.warn("plugin not loaded: {}", errors.back());
    return errors;
  }
  std::sort(files.begin(), files.end());

  for (const std::string& file : files) {
    const size_t before = registry.List().size();
    if (Status status = LoadPlugin(file, max_output, registry); !status.ok()) {
      errors.push_back(status.message());
      logger.warn("plugin not loaded: {}", status.message());
      continue;
    }
    std::string names;
    bool runs_code = false;
    for (const TaskEntry* entry : registry.List()) {
      if (entry->file != file) continue;
      if (!names.empty()) names += ", ";
      names += entry->name;
      runs_code = entry->runs_code;
    }
    logger.info("loaded plugin {}: {} tasks ({}){}", file, registry.List().size() - before, names,
                runs_code ? ", which run their callers' code" : "");
  }
  return errors;
}

}  // namespace jobd
