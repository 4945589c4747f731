// Translates between messages.h structs and Cap'n Proto frames. This is the
// only place that sees capnp; its exceptions stop here and become Status.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proto/messages.h"
#include "util/status.h"

namespace jobd {

// Hard bounds on what a peer may send us (see PROTOCOL.md). The decoders
// refuse a larger frame with a readable error, and no jobd takes a larger
// request (--max-message-size is at most this).
inline constexpr size_t kMaxFrameBytes = 256u << 20;
// The largest client request jobd reads by default (--max-message-size).
inline constexpr size_t kDefaultMaxMessageBytes = 64u << 20;
// ZeroMQ's own bound (ZMQ_MAXMSGSIZE) on a socket whose messages are checked
// against `limit` by the code that reads them: twice that, so that a message
// a little over the limit still arrives and gets its clear error. ZeroMQ
// drops a larger one, with its connection, before reading it and without a
// word to the peer: a ceiling against memory, not an answer.
constexpr int64_t TransportCeiling(size_t limit) { return static_cast<int64_t>(limit) * 2; }

std::string EncodeRequest(const Request& request);
std::string EncodeReply(const Reply& reply);
std::string EncodeToWorker(const ToWorker& message);
std::string EncodeFromWorker(const FromWorker& message);

// Decoders accept any alignment (ZeroMQ frames are often unaligned) and
// reject truncated, oversized or unknown messages with a readable Status.
// A decoded message with a version other than kProtocolVersion is returned
// as is: the caller answers with a version error.
Result<Request> DecodeRequest(std::string_view frame);
Result<Reply> DecodeReply(std::string_view frame);
Result<ToWorker> DecodeToWorker(std::string_view frame);
Result<FromWorker> DecodeFromWorker(std::string_view frame);

}  // namespace jobd
