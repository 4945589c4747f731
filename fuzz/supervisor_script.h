// The input of the supervisor fuzz target: a script of events, read front to
// back. Byte 0 configures the supervisor; then each event is one op byte
// (modulo kOpCount) and its arguments. A frame is a 16-bit little-endian
// length and that many bytes. Input that runs out reads as zeros.
//
//   kRequest        client byte, caller byte, frame: a client request, decoded
//                   (DecodeRequest) and handled as jobd's server would
//   kWorkerMessage  slot byte, frame: a worker message, decoded (DecodeFromWorker)
//   kReady          slot byte, credit byte: the slot's worker says ready
//   kComplete       slot byte, flags byte, value byte: the oldest task the
//                   slot's worker holds ends (ok or not, command or not)
//   kStarted        slot byte, pgid byte: its oldest task's command started
//   kExit           slot byte, status byte: the slot's worker exits
//   kTime           byte: the clock moves on that many times 37 ms, then OnTick
//   kCommit         byte: the store commits what was recorded (odd: fails)
//   kLoaded         byte: the store answers the oldest job read-back (nothing found)
//   kDrain, kRecycle, kKillAll
//   kDelivery       byte: clients take replies, are slow, or are gone
//   kSpawnFailure   byte: starting workers fails from now on (odd) or not
//
// Config byte: bits 0-1 workers (1 + value % 3), bit 2 a store, bit 3
// command tasks allowed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace jobd::fuzz {

enum Op : uint8_t {
  kRequest,
  kWorkerMessage,
  kReady,
  kComplete,
  kStarted,
  kExit,
  kTime,
  kCommit,
  kLoaded,
  kDrain,
  kRecycle,
  kKillAll,
  kDelivery,
  kSpawnFailure,
  kOpCount
};

class ScriptReader {
 public:
  ScriptReader(const uint8_t* data, size_t size) : next_(data), end_(data + size) {}
  bool done() const { return next_ == end_; }
  uint8_t Byte() { return next_ == end_ ? 0 : *next_++; }
  std::string_view Frame() {
    size_t size = Byte();
    size |= static_cast<size_t>(Byte()) << 8;
    if (size > static_cast<size_t>(end_ - next_)) size = static_cast<size_t>(end_ - next_);
    const std::string_view frame(reinterpret_cast<const char*>(next_), size);
    next_ += size;
    return frame;
  }

 private:
  const uint8_t* next_;
  const uint8_t* end_;
};

// Writes scripts (for the seed corpus).
class ScriptWriter {
 public:
  explicit ScriptWriter(uint8_t config) { script_.push_back(static_cast<char>(config)); }
  ScriptWriter& Add(Op op, std::initializer_list<uint8_t> args = {}) {
    script_.push_back(static_cast<char>(op));
    for (uint8_t a : args) script_.push_back(static_cast<char>(a));
    return *this;
  }
  ScriptWriter& Frame(const std::string& frame) {
    script_.push_back(static_cast<char>(frame.size() & 0xff));
    script_.push_back(static_cast<char>((frame.size() >> 8) & 0xff));
    script_ += frame;
    return *this;
  }
  const std::string& script() const { return script_; }

 private:
  std::string script_;
};

}  // namespace jobd::fuzz
