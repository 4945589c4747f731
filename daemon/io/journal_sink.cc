#include "daemon/io/journal_sink.h"

#include <sys/stat.h>
#include <sys/uio.h>
// No CODE_FILE/CODE_LINE/CODE_FUNC of this file on every entry.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>

#include "util/clock.h"

namespace jobd {
namespace {

// An unsigned decimal that is all of `text`.
std::optional<uint64_t> ParseNumber(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

int JournalPriority(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
    case LogLevel::kDebug: return 7;  // LOG_DEBUG
    case LogLevel::kInfo: return 6;   // LOG_INFO
    case LogLevel::kWarn: return 4;   // LOG_WARNING
    case LogLevel::kError: return 3;  // LOG_ERR
    case LogLevel::kCritical: return 2;  // LOG_CRIT
  }
  return 6;
}

std::string JournalMessage(const LogRecord& r) {
  std::string prefix;
  if (r.role == LogRole::kWorker) {
    prefix = r.worker ? fmt::format("worker[{}] pid {}", *r.worker, r.pid)
                      : fmt::format("worker pid {}", r.pid);
  }
  if (r.job) prefix += fmt::format("{}job={}", prefix.empty() ? "" : " ", *r.job);
  if (r.task) prefix += fmt::format("{}task={}", prefix.empty() ? "" : " ", *r.task);
  if (prefix.empty()) return r.msg;
  return prefix + ": " + r.msg;
}

std::vector<std::string> JournalFields(const LogRecord& r) {
  std::vector<std::string> fields;
  fields.reserve(8);
  fields.push_back("MESSAGE=" + JournalMessage(r));
  fields.push_back(fmt::format("PRIORITY={}", JournalPriority(r.level)));
  fields.push_back("SYSLOG_IDENTIFIER=jobd");
  fields.push_back(r.role == LogRole::kWorker ? "JOBD_ROLE=worker" : "JOBD_ROLE=coordinator");
  fields.push_back(fmt::format("JOBD_PID={}", r.pid));
  if (r.worker) fields.push_back(fmt::format("JOBD_WORKER={}", *r.worker));
  if (r.job) fields.push_back(fmt::format("JOB_ID={}", *r.job));
  if (r.task) fields.push_back(fmt::format("TASK_INDEX={}", *r.task));
  return fields;
}

Status SdJournalSender::Send(const std::vector<std::string>& fields) {
  // sd_journal_sendv reports success when there is no journald at all (it
  // "fails silently if the journal is not available"): a record would
  // vanish. Say so instead, and the writer falls back to stderr.
  static constexpr const char* kSocket = "/run/systemd/journal/socket";
  if (::access(kSocket, F_OK) != 0) return SysError("sd_journal_sendv", kSocket, errno);
  std::vector<iovec> iov;
  iov.reserve(fields.size());
  for (const std::string& field : fields) {
    // sd_journal_sendv only reads the buffers.
    iov.push_back(iovec{const_cast<char*>(field.data()), field.size()});
  }
  const int rc = sd_journal_sendv(iov.data(), static_cast<int>(iov.size()));
  if (rc < 0) return SysError("sd_journal_sendv", kSocket, -rc);
  return Status::Ok();
}

Result<JournalMode> ParseJournalMode(std::string_view text) {
  if (text == "auto") return JournalMode::kAuto;
  if (text == "yes") return JournalMode::kYes;
  if (text == "no") return JournalMode::kNo;
  return Status::InvalidArgument(fmt::format("'{}' is not auto, yes or no", text));
}

bool StreamIsJournal(const char* journal_stream, int fd) {
  if (journal_stream == nullptr) return false;
  const std::string_view text(journal_stream);
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos) return false;
  const std::optional<uint64_t> dev = ParseNumber(text.substr(0, colon));
  const std::optional<uint64_t> ino = ParseNumber(text.substr(colon + 1));
  struct stat st;
  if (!dev || !ino || ::fstat(fd, &st) != 0) return false;
  return static_cast<uint64_t>(st.st_dev) == *dev && static_cast<uint64_t>(st.st_ino) == *ino;
}

bool UseJournal(JournalMode mode) {
  switch (mode) {
    case JournalMode::kYes: return true;
    case JournalMode::kNo: return false;
    case JournalMode::kAuto: return StreamIsJournal(std::getenv("JOURNAL_STREAM"), STDERR_FILENO);
  }
  return false;
}

JournalWriter::JournalWriter(std::unique_ptr<JournalSender> sender, Fallback fallback,
                             JournalWriterOptions options)
    : shared_(std::make_shared<Shared>()), exit_grace_(options.exit_grace) {
  shared_->sender = std::move(sender);
  shared_->fallback = std::move(fallback);
  shared_->max_queued = options.max_queued;
  thread_ = std::thread([shared = shared_] { Run(*shared); });
}

JournalWriter::~JournalWriter() {
  std::unique_lock<std::mutex> lock(shared_->mu);
  shared_->stopping = true;
  shared_->wake.notify_one();
  const bool done =
      shared_->finished.wait_for(lock, exit_grace_, [this] { return shared_->done; });
  lock.unlock();
  if (done) {
    thread_.join();
  } else {
    // Stuck in the journal: the thread keeps what it uses alive and ends
    // with the process.
    thread_.detach();
  }
}

void JournalWriter::Write(LogRecord record) {
  {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->queue.size() >= shared_->max_queued) {
      ++shared_->dropped;
      return;
    }
    shared_->queue.push_back(std::move(record));
  }
  shared_->wake.notify_one();
}

void JournalWriter::Run(Shared& s) {
  while (true) {
    std::deque<LogRecord> batch;
    size_t dropped = 0;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(s.mu);
      s.wake.wait(lock, [&] { return s.stopping || !s.queue.empty(); });
      batch.swap(s.queue);
      std::swap(dropped, s.dropped);
      stopping = s.stopping;
    }
    for (const LogRecord& record : batch) SendOne(s, record);
    if (dropped > 0) {
      LogRecord note;
      note.ts_unix_us = UnixMicrosNow();
      note.level = LogLevel::kWarn;
      note.pid = getpid();
      note.msg = fmt::format("{} log records dropped: the journal fell behind", dropped);
      SendOne(s, note);
    }
    if (stopping) {
      std::lock_guard<std::mutex> lock(s.mu);
      s.done = true;
      s.finished.notify_all();
      return;
    }
  }
}

void JournalWriter::SendOne(Shared& s, const LogRecord& record) {
  const Status sent = s.sender->Send(JournalFields(record));
  if (sent.ok()) {
    if (s.failing) {
      s.failing = false;
      s.fallback("jobd: the journal takes records again");
    }
    return;
  }
  if (!s.failing) {
    s.failing = true;
    s.fallback(fmt::format("jobd: cannot send to the journal ({}): records go to stderr until it "
                           "works again",
                           sent.message()));
  }
  s.fallback(FormatHumanLine(record));
}

}  // namespace jobd
