#include "platform/spec.h"

namespace arcella::platform {

const char* IsolationName(Isolation i) { return i == Isolation::kMain ? "main" : "worker"; }

const char* GrantOriginName(GrantOrigin o) {
  return o == GrantOrigin::kOperator ? "operator" : "hot-deploy";
}

const char* RestartPolicyName(RestartPolicy p) {
  switch (p) {
    case RestartPolicy::kNever: return "never";
    case RestartPolicy::kOnFailure: return "on-failure";
    case RestartPolicy::kAlways: return "always";
  }
  return "?";
}

const char* StateName(State s) {
  switch (s) {
    case State::kInstalled: return "installed";
    case State::kResolved: return "resolved";
    case State::kStarting: return "starting";
    case State::kActive: return "active";
    case State::kStopping: return "stopping";
    case State::kFailed: return "failed";
  }
  return "?";
}

std::optional<State> ParseState(std::string_view name) {
  for (State s : {State::kInstalled, State::kResolved, State::kStarting, State::kActive,
                  State::kStopping, State::kFailed})
    if (name == StateName(s)) return s;
  return std::nullopt;
}

}  // namespace arcella::platform
