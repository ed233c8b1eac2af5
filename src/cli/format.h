// Human-readable output of arcella-cli: tables and one-line confirmations
// built from ALME results (docs/ALME.md). Tolerant of missing keys: a value
// the daemon did not send prints as "-".
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/command_line.h"

namespace arcella::cli {

// The text printed on stdout for a command's final result ("" for none).
std::string FormatResult(const Invocation& inv, const Json& result);

// JSON text of `j`. Strings that are not UTF-8 (guest output in `logs`, a
// trap message) are printed with U+FFFD instead of throwing.
std::string DumpJson(const Json& j);

// One stream item: a log line, an event, or install progress ("" to skip).
std::string FormatStreamItem(const std::string& command, const Json& item);

// `status`: DEPLOYMENT MODULE GROUP STATE REPLICAS ISOLATION, then replica
// detail for every deployment when `verbose`, else only for failed ones.
std::string FormatStatus(const Json& result, bool verbose);

// `list`: ID KIND TIER SIZE DEPLOYMENTS.
std::string FormatModuleList(const Json& result);

// `inspect`: key/value lines, then imports, exports, WIT.
std::string FormatInspect(const Json& result);

// 512 B, 12.3 KiB, 4.0 MiB, 1.5 GiB.
std::string FormatSize(uint64_t bytes);
// 850ms, 12s, 5m03s, 2h07m, 3d04h.
std::string FormatUptime(uint64_t ms);

}  // namespace arcella::cli
