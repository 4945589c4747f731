// A job's CommandOptions and a task's CommandEnd as blobs in the store, in the
// encoding of args_codec.h: a list of strings, numbers in decimal. Fields are
// positional; a later version may append fields, never reorder them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "proto/messages.h"

namespace jobd {

std::string EncodeCommandOptions(const CommandOptions& options);
std::optional<CommandOptions> DecodeCommandOptions(std::string_view blob);

std::string EncodeCommandEnd(const CommandEnd& end);
std::optional<CommandEnd> DecodeCommandEnd(std::string_view blob);

}  // namespace jobd
