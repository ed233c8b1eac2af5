#include "cli/run.h"

#include <filesystem>
#include <optional>
#include <ostream>

#include "alme/client.h"
#include "alme/protocol.h"
#include "cli/command_line.h"
#include "cli/exit_codes.h"
#include "cli/format.h"
#include "cli/interrupt.h"
#include "cli/progress_view.h"

namespace arcella::cli {
namespace {

// "cannot connect to /x/alme: no such socket; is the daemon running? start it with `arcella`"
std::string ConnectError(const std::string& socket, const GlobalOptions& g, const Status& st) {
  std::error_code ec;
  std::string why;
  if (!std::filesystem::exists(socket, ec)) {
    why = "no such socket";
  } else {
    // Keep only the OS's reason from the client's message: it may repeat
    // the path and already ask the question, which we ask once, below.
    why = st.message();
    std::string prefix = "cannot connect to " + socket + ": ";
    if (why.rfind(prefix, 0) == 0) why.erase(0, prefix.size());
    for (const char* tail : {" \u2014 ", " - ", "is the daemon running"})
      if (size_t q = why.find(tail); q != std::string::npos) why.erase(q);
    while (!why.empty() && (why.back() == ' ' || why.back() == ':' || why.back() == ';' ||
                            why.back() == ',' || why.back() == '('))
      why.pop_back();
    if (why.empty()) why = "nothing is listening";
  }
  std::string start = "arcella";
  if (!g.home.empty()) start += " --home " + g.home;
  return "cannot connect to " + socket + ": " + why + "; is the daemon running? start it with `" +
         start + "`";
}

}  // namespace

int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
        const Console& console) {
  ParseOutcome parsed = ParseCommandLine(args, out, err);
  if (!parsed.invocation) return parsed.exit_code;
  const Invocation& inv = *parsed.invocation;
  const GlobalOptions& g = inv.global;

  std::string socket = ResolveSocketPath(g);
  auto timeout_hint = [&] {
    return inv.global.timeout ? std::string(" (--timeout)")
                              : std::string(" (--timeout DURATION or ARCELLA_TIMEOUT changes it; 0 "
                                            "waits forever)");
  };
  auto client = alme::Client::Connect(socket, inv.ConnectTimeout());
  // Connect reports a timeout as an IoError starting "timed out".
  if (!client.ok() && client.status().message().rfind("timed out", 0) == 0) {
    err << "arcella-cli: " << client.status().message() << timeout_hint() << "\n";
    return kExitTimeout;
  }
  if (!client.ok()) {
    err << "arcella-cli: " << ConnectError(socket, g, client.status()) << "\n";
    return kExitUnreachable;
  }

  // install: progress on stderr; Ctrl-C cancels the install in the daemon.
  const bool install = inv.command == "install";
  std::optional<InstallProgressView> view;
  std::optional<Interrupts> interrupts;
  if (install) {
    view.emplace(err, console.err_is_terminal, console.columns, inv.params.value("path", ""));
    interrupts.emplace();
    (*client)->SetInterruptFd(interrupts->fd());
  }
  auto on_item = [&](const Json& item) {
    if (g.json) {
      if (install && InstallProgressView::IsCompileProgress(item)) return true;
      out << DumpJson(item) << "\n";
      out.flush();
    } else if (install) {
      if (!g.quiet) view->Item(item);
    } else {
      out << FormatStreamItem(inv.command, item) << std::flush;
    }
    return true;  // streams end on their own or when the user interrupts us
  };

  alme::RemoteError remote{static_cast<alme::ErrorCode>(0), {}};
  (*client)->SetCallTimeout(inv.CallTimeout());
  Result<Json> result = (*client)->Call(inv.method, inv.params, &remote, on_item);
  if (view) view->Clear();
  if (install && (*client)->interrupted()) {
    bool cancelled = result.ok() ? result->is_object() && result->value("cancelled", false)
                                 : remote.code == alme::ErrorCode::kUnavailable;
    if (cancelled) {
      err << "arcella-cli: install cancelled\n";
      return 128 + interrupts->signal();
    }
  }
  if (!result.ok() && (*client)->timed_out()) {
    err << "arcella-cli: " << result.status().message() << timeout_hint() << "\n";
    return kExitTimeout;
  }
  if (!result.ok()) {
    if (static_cast<int>(remote.code) != 0) {
      err << "arcella-cli: "
          << (remote.message.empty() ? alme::ErrorCodeName(remote.code) : remote.message) << "\n";
      return ExitCodeFor(remote.code);
    }
    err << "arcella-cli: lost the connection to the daemon at " << socket << ": "
        << result.status().message() << "\n";
    return kExitUnreachable;
  }

  const Json& r = *result;
  if (g.json) {
    out << DumpJson(r) << "\n";
  } else {
    out << FormatResult(inv, r);
  }
  if (inv.command == "ping" && r.is_object() && r.contains("protocol") &&
      r["protocol"] != alme::kProtocolVersion)
    err << "arcella-cli: warning: the daemon speaks ALME protocol " << DumpJson(r["protocol"])
        << ", this client " << alme::kProtocolVersion << "\n";
  out.flush();
  return kExitOk;
}

}  // namespace arcella::cli
