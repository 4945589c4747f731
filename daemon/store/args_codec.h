// A task's arguments as one blob in the store: each argument is a 4-byte
// little-endian length and then its bytes. Any bytes round-trip (spaces,
// quotes, newlines, even NUL), and encoding is a copy, not a JSON escape.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jobd {

std::string EncodeArgs(const std::vector<std::string>& args);
// Appends one argument's encoding to `blob`: encoding without the vector.
void AppendEncodedArg(std::string& blob, std::string_view arg);

// nullopt if the blob is not a sequence of whole length-prefixed strings.
std::optional<std::vector<std::string>> DecodeArgs(std::string_view blob);

}  // namespace jobd
