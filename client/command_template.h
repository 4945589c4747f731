// Turning `jobctl map --exec TEMPLATE ITEM...` into one command per ITEM, the
// way GNU parallel users expect: {} is the item, {.} the item without its
// extension, {/} its base name, {//} its directory, {/.} its base name without
// extension, each by parallel's rules (a dotfile is all extension, {//} is
// POSIX dirname). A template with none of them gets the item as a last
// argument.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace jobd {

// Splits a template into words as a POSIX shell would split a simple command:
// blanks separate words; '...' and "..." quote (inside "...", \ escapes only
// \ " $ ` and newline); \ outside quotes escapes the next character, and
// \ before a newline joins lines. Nothing is expanded: no variables, globs or
// command substitution. Fails on an unclosed quote or an empty template.
Result<std::vector<std::string>> SplitWords(std::string_view text);

// The argv for one item: each word with its placeholders replaced, in one
// pass (an item that itself contains "{}" is not expanded again).
std::vector<std::string> ExpandWords(const std::vector<std::string>& words,
                                     const std::string& item);

// For --shell: {"/bin/sh", "-c", SCRIPT, "sh", ITEM, {.}, {/}, {//}, {/.}}.
// The item's values are positional parameters, never part of SCRIPT: each
// placeholder in the command becomes a reference to its parameter ("${1}"
// for {}), quoted for where it stands (outside quotes, inside "...", or
// inside '...'), so an item is one word and never code, however the template
// quotes it. With no placeholder, "${1}" is appended. Fails on an unclosed
// quote.
Result<std::vector<std::string>> ShellArgv(const std::string& command, const std::string& item);

// True when `text` holds any placeholder.
bool HasPlaceholder(std::string_view text);

}  // namespace jobd
