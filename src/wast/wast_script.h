// Executes the commands of one parsed .wast script. Internal to the runner
// (see wast_runner.h for the public entry points).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "wast/wast_runner.h"
#include "wast/wast_spectest.h"

namespace wabt {
struct Script;
class Command;
class Action;
struct Var;
}  // namespace wabt

namespace arcella::wast {

class ScriptRunner {
 public:
  ScriptRunner(std::string file, const WastOptions& options, std::ostream& log);
  // Runs every command; results accumulate in summary().
  void Run(wabt::Script& script);
  const WastSummary& summary() const { return summary_; }

 private:
  struct ActionResult {
    std::string error;                  // could not perform the action at all
    std::optional<engine::Trap> trap;   // it trapped
    std::vector<engine::Value> values;  // otherwise, its results
  };
  struct Compiled {
    std::shared_ptr<const engine::Module> module;
    Status status;
  };

  void RunCommand(uint32_t index, wabt::Command& command);
  void DoModule(uint32_t index, int line, const std::string& name, wabt::Command& command);
  void DoRegister(wabt::Command& command);
  void DoAssertReturn(wabt::Command& command);
  void DoAssertTrap(int line, const char* what, wabt::Action& action, const std::string& text);
  void DoAssertRejected(wabt::Command& command, const char* what);
  void DoAssertUnlinkable(wabt::Command& command);
  void DoAssertUninstantiable(wabt::Command& command);

  ActionResult Perform(wabt::Action& action);
  std::shared_ptr<engine::Instance> Lookup(const wabt::Var& var);
  const Compiled& CompileCached(const std::vector<uint8_t>& wasm, engine::Tier tier);
  Result<std::shared_ptr<engine::Instance>> Instantiate(std::shared_ptr<const engine::Module> m);

  void Pass() { ++summary_.passed; }
  void Fail(int line, const std::string& what, const std::string& why);
  void Skip(int line, const std::string& what, const std::string& why);

  std::string file_;
  WastOptions options_;
  std::ostream& log_;
  // Uninstrumented (Metering::kNone), like the scripts' expectations.
  Result<std::shared_ptr<engine::Engine>> engine_;
  Spectest spectest_;
  WastSummary summary_;

  std::map<uint32_t, std::shared_ptr<engine::Instance>> by_command_;
  std::map<std::string, std::shared_ptr<engine::Instance>> by_name_;
  std::map<std::string, std::shared_ptr<engine::Instance>> registered_;
  std::shared_ptr<engine::Instance> current_;
  std::map<std::string, Compiled> compiled_;  // key: tier + bytes
};

}  // namespace arcella::wast
