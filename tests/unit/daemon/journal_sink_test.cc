// The native journal output: a record's fields, the JOURNAL_STREAM check, and
// the writer thread with fake senders (one that fails, one that stalls).
// Whether journald itself accepts the entries is checked end to end in
// tests/integration/systemd_test.cc against a stand-in journal socket.
#include "daemon/io/journal_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spdlog/logger.h>

#include "util/record_sink.h"

namespace jobd {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;

LogRecord WorkerRecord() {
  LogRecord r;
  r.ts_unix_us = 1'700'000'000'000'000;
  r.level = LogLevel::kDebug;
  r.pid = 1234;
  r.role = LogRole::kWorker;
  r.worker = 1;
  r.job = 42;
  r.task = 3;
  r.msg = "running";
  return r;
}

LogRecord CoordinatorRecord(std::string msg, LogLevel level = LogLevel::kInfo) {
  LogRecord r;
  r.ts_unix_us = 1'700'000'000'000'000;
  r.level = level;
  r.pid = 99;
  r.role = LogRole::kCoordinator;
  r.msg = std::move(msg);
  return r;
}

// The value of FIELD in fields, or "" when absent.
std::string Field(const std::vector<std::string>& fields, const std::string& name) {
  for (const std::string& f : fields) {
    if (f.rfind(name + "=", 0) == 0) return f.substr(name.size() + 1);
  }
  return "";
}

TEST(JournalFieldsTest, CoordinatorRecordWithoutJob) {
  EXPECT_THAT(JournalFields(CoordinatorRecord("jobd listening", LogLevel::kWarn)),
              ElementsAre("MESSAGE=jobd listening", "PRIORITY=4", "SYSLOG_IDENTIFIER=jobd",
                          "JOBD_ROLE=coordinator", "JOBD_PID=99"));
}

TEST(JournalFieldsTest, WorkerRecordCarriesItsPidSlotJobAndTask) {
  EXPECT_THAT(JournalFields(WorkerRecord()),
              ElementsAre("MESSAGE=worker[1] pid 1234 job=42 task=3: running", "PRIORITY=7",
                          "SYSLOG_IDENTIFIER=jobd", "JOBD_ROLE=worker", "JOBD_PID=1234",
                          "JOBD_WORKER=1", "JOB_ID=42", "TASK_INDEX=3"));
}

TEST(JournalFieldsTest, CoordinatorRecordAboutAJob) {
  LogRecord r = CoordinatorRecord("job accepted: 2 tasks");
  r.job = 7;
  const std::vector<std::string> fields = JournalFields(r);
  EXPECT_EQ(Field(fields, "MESSAGE"), "job=7: job accepted: 2 tasks");
  EXPECT_EQ(Field(fields, "JOB_ID"), "7");
  EXPECT_EQ(Field(fields, "TASK_INDEX"), "");
  EXPECT_EQ(Field(fields, "JOBD_WORKER"), "");
}

TEST(JournalFieldsTest, WorkerWithoutSlotOrContext) {
  LogRecord r = WorkerRecord();
  r.worker.reset();
  r.job.reset();
  r.task.reset();
  const std::vector<std::string> fields = JournalFields(r);
  EXPECT_EQ(Field(fields, "MESSAGE"), "worker pid 1234: running");
  EXPECT_EQ(Field(fields, "JOBD_WORKER"), "");
  EXPECT_EQ(Field(fields, "JOB_ID"), "");
}

TEST(JournalFieldsTest, MultiLineMessagesStayOneField) {
  const std::vector<std::string> fields = JournalFields(CoordinatorRecord("first\nsecond"));
  EXPECT_EQ(Field(fields, "MESSAGE"), "first\nsecond");
  EXPECT_THAT(fields, SizeIs(5));
}

TEST(JournalFieldsTest, PriorityFromLevel) {
  EXPECT_EQ(JournalPriority(LogLevel::kTrace), 7);
  EXPECT_EQ(JournalPriority(LogLevel::kDebug), 7);
  EXPECT_EQ(JournalPriority(LogLevel::kInfo), 6);
  EXPECT_EQ(JournalPriority(LogLevel::kWarn), 4);
  EXPECT_EQ(JournalPriority(LogLevel::kError), 3);
  EXPECT_EQ(JournalPriority(LogLevel::kCritical), 2);
}

TEST(JournalModeTest, Parses) {
  EXPECT_EQ(*ParseJournalMode("auto"), JournalMode::kAuto);
  EXPECT_EQ(*ParseJournalMode("yes"), JournalMode::kYes);
  EXPECT_EQ(*ParseJournalMode("no"), JournalMode::kNo);
  EXPECT_FALSE(ParseJournalMode("maybe").ok());
  EXPECT_THAT(ParseJournalMode("").status().message(), HasSubstr("auto, yes or no"));
  EXPECT_TRUE(UseJournal(JournalMode::kYes));
  EXPECT_FALSE(UseJournal(JournalMode::kNo));
}

TEST(JournalModeTest, StreamIsJournalOnlyForTheStreamNamed) {
  char path[] = "/tmp/jobd-journal-stream.XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  struct stat st;
  ASSERT_EQ(fstat(fd, &st), 0);
  const std::string mine = fmt::format("{}:{}", st.st_dev, st.st_ino);
  EXPECT_TRUE(StreamIsJournal(mine.c_str(), fd));
  const std::string other = fmt::format("{}:{}", st.st_dev, st.st_ino + 1);
  EXPECT_FALSE(StreamIsJournal(other.c_str(), fd));
  EXPECT_FALSE(StreamIsJournal(nullptr, fd));
  EXPECT_FALSE(StreamIsJournal("", fd));
  EXPECT_FALSE(StreamIsJournal("12", fd));
  EXPECT_FALSE(StreamIsJournal("a:b", fd));
  EXPECT_FALSE(StreamIsJournal((mine + "x").c_str(), fd));
  close(fd);
  EXPECT_FALSE(StreamIsJournal(mine.c_str(), fd));  // closed
}

// Records every entry, or fails every one.
class FakeJournal final : public JournalSender {
 public:
  struct State {
    std::mutex mu;
    std::vector<std::vector<std::string>> entries;
    bool fail = false;
  };
  explicit FakeJournal(State* state) : state_(state) {}
  Status Send(const std::vector<std::string>& fields) override {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->fail) return Status::Failed("journal socket: No such file or directory");
    state_->entries.push_back(fields);
    return Status::Ok();
  }

 private:
  State* state_;
};

struct Lines {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> lines;
  void Add(const std::string& line) {
    std::lock_guard<std::mutex> lock(mu);
    lines.push_back(line);
    cv.notify_all();
  }
  // Waits (bounded) until there are `n` lines.
  bool WaitFor(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [&] { return lines.size() >= n; });
  }
};

TEST(JournalWriterTest, SendsEveryRecordInOrderBeforeItStops) {
  FakeJournal::State journal;
  Lines fallback;
  {
    JournalWriter writer(std::make_unique<FakeJournal>(&journal),
                         [&](const std::string& line) { fallback.Add(line); });
    for (int i = 0; i < 500; ++i) writer.Write(CoordinatorRecord(fmt::format("record {}", i)));
    writer.Write(WorkerRecord());
  }  // the destructor sends what is queued
  ASSERT_THAT(journal.entries, SizeIs(501));
  for (int i = 0; i < 500; ++i) {
    EXPECT_EQ(Field(journal.entries[static_cast<size_t>(i)], "MESSAGE"), fmt::format("record {}", i));
  }
  EXPECT_EQ(Field(journal.entries.back(), "JOB_ID"), "42");
  EXPECT_THAT(fallback.lines, IsEmpty());
}

TEST(JournalWriterTest, AFailingJournalDoesNotStopLogging) {
  // A logger as jobd builds it with the journal on: one sink that hands each
  // record to the file and to the journal.
  FakeJournal::State journal;
  journal.fail = true;
  Lines fallback;
  std::vector<std::string> file;  // the sink's mutex guards it
  {
    JournalWriter writer(std::make_unique<FakeJournal>(&journal),
                         [&](const std::string& line) { fallback.Add(line); });
    LogRecord base;
    base.pid = 99;
    auto sink = std::make_shared<RecordSink>(base, [&](LogRecord r) {
      file.push_back(FormatJsonLine(r));
      writer.Write(std::move(r));
    });
    spdlog::logger log("test", sink);
    log.set_level(spdlog::level::debug);
    for (int i = 0; i < 20; ++i) log.info("message {}", i);
    log.warn("the last one");
  }
  // The file has every record.
  ASSERT_THAT(file, SizeIs(21));
  EXPECT_THAT(file.back(), HasSubstr("the last one"));
  // The journal none, and stderr has each once, after one note saying why.
  EXPECT_THAT(journal.entries, IsEmpty());
  ASSERT_THAT(fallback.lines, SizeIs(22));
  EXPECT_THAT(fallback.lines[0], AllOf(HasSubstr("cannot send to the journal"),
                                       HasSubstr("No such file or directory")));
  EXPECT_THAT(fallback.lines[1], HasSubstr("message 0"));
  EXPECT_THAT(fallback.lines[1], HasSubstr("PID 99"));
  EXPECT_THAT(fallback.lines.back(), HasSubstr("the last one"));
}

TEST(JournalWriterTest, AJournalThatComesBackGetsTheRecordsAgain) {
  FakeJournal::State journal;
  Lines fallback;
  {
    JournalWriter writer(std::make_unique<FakeJournal>(&journal),
                         [&](const std::string& line) { fallback.Add(line); });
    journal.mu.lock();
    journal.fail = true;
    journal.mu.unlock();
    writer.Write(CoordinatorRecord("lost to the journal"));
    // Once the writer has handled it, the note and the record are on the
    // fallback.
    ASSERT_TRUE(fallback.WaitFor(2));
    journal.mu.lock();
    journal.fail = false;
    journal.mu.unlock();
    writer.Write(CoordinatorRecord("back in the journal"));
  }
  ASSERT_THAT(journal.entries, SizeIs(1));
  EXPECT_EQ(Field(journal.entries[0], "MESSAGE"), "back in the journal");
  ASSERT_THAT(fallback.lines, SizeIs(3));
  EXPECT_THAT(fallback.lines[1], HasSubstr("lost to the journal"));
  EXPECT_THAT(fallback.lines[2], HasSubstr("takes records again"));
}

// Blocks in Send until released, as a journald that is behind would.
class StalledJournal final : public JournalSender {
 public:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    bool entered = false;
    bool released = false;
    std::vector<std::string> messages;
  };
  explicit StalledJournal(State* state) : state_(state) {}
  Status Send(const std::vector<std::string>& fields) override {
    std::unique_lock<std::mutex> lock(state_->mu);
    state_->entered = true;
    state_->cv.notify_all();
    state_->cv.wait(lock, [&] { return state_->released; });
    state_->messages.push_back(Field(fields, "MESSAGE"));
    state_->cv.notify_all();
    return Status::Ok();
  }

 private:
  State* state_;
};

TEST(JournalWriterTest, WriteNeverBlocksAndCountsWhatItDrops) {
  StalledJournal::State journal;
  Lines fallback;
  {
    JournalWriterOptions options;
    options.max_queued = 4;
    JournalWriter writer(std::make_unique<StalledJournal>(&journal),
                         [&](const std::string& line) { fallback.Add(line); }, options);
    writer.Write(CoordinatorRecord("first"));
    {
      std::unique_lock<std::mutex> lock(journal.mu);
      ASSERT_TRUE(journal.cv.wait_for(lock, std::chrono::seconds(10), [&] { return journal.entered; }));
    }
    // The writer is stuck in the journal: these return at once, 4 queued and
    // 5 dropped.
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 9; ++i) writer.Write(CoordinatorRecord(fmt::format("more {}", i)));
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
    {
      std::lock_guard<std::mutex> lock(journal.mu);
      journal.released = true;
    }
    journal.cv.notify_all();
  }
  EXPECT_THAT(journal.messages,
              ElementsAre("first", "more 0", "more 1", "more 2", "more 3",
                          "5 log records dropped: the journal fell behind"));
  EXPECT_THAT(fallback.lines, IsEmpty());
}

TEST(JournalWriterTest, AStuckJournalDoesNotKeepJobdFromExiting) {
  StalledJournal::State journal;
  Lines fallback;
  const auto start = std::chrono::steady_clock::now();
  {
    JournalWriterOptions options;
    options.exit_grace = Millis(200);
    JournalWriter writer(std::make_unique<StalledJournal>(&journal),
                         [&](const std::string& line) { fallback.Add(line); }, options);
    writer.Write(CoordinatorRecord("stuck"));
    std::unique_lock<std::mutex> lock(journal.mu);
    ASSERT_TRUE(journal.cv.wait_for(lock, std::chrono::seconds(10), [&] { return journal.entered; }));
  }  // gives up on the journal after 200 ms
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, Millis(200));
  EXPECT_LT(took, std::chrono::seconds(5));
  // The abandoned thread still owns what it uses: let it finish, then the
  // journal's state may go.
  std::unique_lock<std::mutex> lock(journal.mu);
  journal.released = true;
  journal.cv.notify_all();
  ASSERT_TRUE(journal.cv.wait_for(lock, std::chrono::seconds(10),
                                  [&] { return journal.messages.size() == 1; }));
  EXPECT_EQ(journal.messages[0], "stuck");
}

TEST(SdJournalSenderTest, FailsCleanlyWithoutJournald) {
  if (std::filesystem::exists("/run/systemd/journal/socket")) {
    GTEST_SKIP() << "a journald runs here: not sending test entries to it";
  }
  SdJournalSender sender;
  const Status sent = sender.Send(JournalFields(CoordinatorRecord("nobody listens")));
  EXPECT_FALSE(sent.ok());
  EXPECT_THAT(sent.message(), AllOf(HasSubstr("/run/systemd/journal/socket"),
                                    HasSubstr("No such file or directory")));
  // Logging through it goes on: the fallback gets the record.
  Lines fallback;
  {
    JournalWriter writer(std::make_unique<SdJournalSender>(),
                         [&](const std::string& line) { fallback.Add(line); });
    writer.Write(CoordinatorRecord("still logged"));
  }
  EXPECT_THAT(fallback.lines, Contains(HasSubstr("still logged")));
}

}  // namespace
}  // namespace jobd
