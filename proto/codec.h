// Translates between messages.h structs and Cap'n Proto frames. This is the
// only place that sees capnp; its exceptions stop here and become Status.
#pragma once

#include <string>
#include <string_view>

#include "proto/messages.h"
#include "util/status.h"

namespace jobd {

// Hard bounds on what a peer may send us (see PROTOCOL.md).
inline constexpr size_t kMaxFrameBytes = 256u << 20;

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
