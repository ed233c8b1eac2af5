// arcella-cli's command line: parses argv with CLI11 and turns each command
// into one ALME request (method + params, docs/ALME.md). No I/O with the
// daemon happens here; local files (`deploy -f`, `install --manifest`) are
// read here and paths are made absolute, since the daemon has its own
// working directory.
#pragma once

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace arcella::cli {

using Json = nlohmann::json;

struct GlobalOptions {
  std::string home;    // --home DIR
  std::string socket;  // --socket PATH (wins over --home)
  bool json = false;   // --json: raw results, one JSON object per line
  bool quiet = false;  // -q: no progress or confirmations
  // --timeout DURATION (else $ARCELLA_TIMEOUT): how long to wait for the
  // daemon's answer; unset: the command's default (DefaultTimeout).
  std::optional<std::chrono::milliseconds> timeout;
};

// Without --timeout or ARCELLA_TIMEOUT: 30 s, or 10 min for `install`
// (a compile). Streams (`logs -f`, `events --watch`) bound only the connect.
inline constexpr std::chrono::milliseconds kDefaultTimeout{30'000};
inline constexpr std::chrono::milliseconds kDefaultInstallTimeout{600'000};

// "30s", "500ms", "2m", "1h", or a bare number of seconds; "0" = none.
std::optional<std::chrono::milliseconds> ParseTimeout(const std::string& text);

// One parsed command, ready to send.
struct Invocation {
  GlobalOptions global;
  std::string command;  // "install", "status", ... (CLI name)
  std::string method;   // ALME method, e.g. "deployment.create"
  Json params = Json::object();
  bool verbose = false;  // status -v: replica detail
  bool stream = false;   // `logs -f`, `events --watch`: runs until cancelled

  // The bound on waiting for the answer (zero: none), and on connecting.
  std::chrono::milliseconds CallTimeout() const;
  std::chrono::milliseconds ConnectTimeout() const;
};

// Either an invocation to run, or an immediate exit (help printed to `out`,
// or a usage / local-file error printed to `err` as "arcella-cli: ...").
struct ParseOutcome {
  std::optional<Invocation> invocation;
  int exit_code = 0;
};

// `args` excludes the program name.
ParseOutcome ParseCommandLine(const std::vector<std::string>& args, std::ostream& out,
                              std::ostream& err);

// --socket, else --home/alme, else $ARCELLA_HOME/alme, else $HOME/.arcella/alme.
std::string ResolveSocketPath(const GlobalOptions& global);

}  // namespace arcella::cli
