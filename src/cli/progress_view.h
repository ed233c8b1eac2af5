// How `arcella-cli install` shows the daemon's progress items on stderr.
// On a terminal: one updating line ("compiling yosys.wasm: 37/112 units,
// 41 s, about 80 s left"), erased before the result is printed. Otherwise
// the stage lines ("validating...", "compiling...", "storing...") only;
// compile progress items ({"stage": "compile", "units_done", ...}) show
// nothing there. Not thread-safe: one caller (the Call loop).
#pragma once

#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

namespace arcella::cli {

class InstallProgressView {
 public:
  // `file`: the installed path (its base name labels the line).
  InstallProgressView(std::ostream& err, bool terminal, int columns, const std::string& file);
  ~InstallProgressView();  // Clear()

  void Item(const nlohmann::json& item);
  // Erases the line (on a terminal, if one is drawn).
  void Clear();

  // Whether `item` is a compile progress item (as opposed to a stage).
  static bool IsCompileProgress(const nlohmann::json& item);

 private:
  void Draw(const std::string& text);

  std::ostream& err_;
  const bool terminal_;
  const int columns_;
  std::string name_;
  bool drawn_ = false;
};

}  // namespace arcella::cli
