// jobd's --config file, checked line by line: CLI11 reads it well but says
// neither the file nor the line of a bad entry, and nothing near a misspelt
// name ("INI was not able to parse wrokers").
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/status.h"

namespace jobd {

// One entry of a config file: `name = value`, or `name` alone (a flag set).
struct ConfigEntry {
  int line = 0;      // of its first line, from 1
  std::string name;  // "workers"; a section header has "[name]"
  std::string text;  // as written (lines joined by \n), to be read again alone
};

// The entries of a config file in CLI11's format (TOML-like): blank lines
// and those starting with # or ; are skipped; a value starting with [ goes
// on to the line ending with ]. Headers of sections other than [default]
// are entries too, so that they can be refused.
std::vector<ConfigEntry> ConfigEntries(std::string_view text);

// Checks the config file at `path`, entry by entry in order, and fails on
// the first bad one with the file and line: "jobd.conf:3: unknown option
// 'wrokers' (did you mean 'workers'?)" for a name not in `names`, or
// "jobd.conf:3: " and what `check_entry` says of the entry's text alone.
// A file that cannot be read fails too.
Status CheckConfigFile(const std::string& path, const std::vector<std::string>& names,
                       const std::function<Status(const std::string& entry_text)>& check_entry);

}  // namespace jobd
