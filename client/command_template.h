// Turning `jobctl map --exec TEMPLATE ITEM...` into one command per ITEM, the
// way GNU parallel users expect: {} is the item, {.} the item without its
// extension, {/} its base name, {//} its directory, {/.} its base name without
// extension. A template with none of them gets the item as a last argument.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace jobd {

// Splits a template into words as a POSIX shell would split a simple command:
// blanks separate words; '...' and "..." quote (inside "...", \ escapes only
// \ " $ `); \ outside quotes escapes the next character. Nothing is expanded:
// no variables, globs or command substitution. Fails on an unclosed quote or
// an empty template.
Result<std::vector<std::string>> SplitWords(std::string_view text);

// The argv for one item: each word with its placeholders replaced, in one
// pass (an item that itself contains "{}" is not expanded again).
std::vector<std::string> ExpandWords(const std::vector<std::string>& words,
                                     const std::string& item);

// For --shell: the command text with each placeholder replaced by the value
// quoted for sh, so that an item is always one word and never code.
std::string ExpandShellCommand(const std::string& command, const std::string& item);

// 'text' with every ' written as '\''; the empty string as ''.
std::string ShellQuote(std::string_view text);

// True when `text` holds any placeholder.
bool HasPlaceholder(std::string_view text);

}  // namespace jobd
