#include "cli/progress_view.h"

#include <ostream>

#include "cli/format.h"
#include "common/status_line.h"

namespace arcella::cli {
namespace {

int64_t Int(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

InstallProgressView::InstallProgressView(std::ostream& err, bool terminal, int columns,
                                         const std::string& file)
    : err_(err), terminal_(terminal), columns_(columns) {
  size_t slash = file.find_last_of('/');
  name_ = slash == std::string::npos ? file : file.substr(slash + 1);
}

InstallProgressView::~InstallProgressView() { Clear(); }

bool InstallProgressView::IsCompileProgress(const nlohmann::json& item) {
  return item.is_object() && item.contains("units_total");
}

void InstallProgressView::Item(const nlohmann::json& item) {
  bool progress = IsCompileProgress(item);
  if (!terminal_) {
    if (!progress) err_ << FormatStreamItem("install", item) << std::flush;
    return;
  }
  std::string stage = item.is_object() && item.contains("stage") && item["stage"].is_string()
                          ? item["stage"].get<std::string>()
                          : "";
  if (progress) {
    Draw(CompileProgressText("compiling " + name_, Int(item, "units_done"),
                             Int(item, "units_total"), Int(item, "elapsed_ms"),
                             Int(item, "estimate_ms")));
  } else if (stage == "validate") {
    Draw("installing " + name_ + ": validating");
  } else if (stage == "compile") {
    Draw("compiling " + name_);
  } else if (stage == "store") {
    Draw("installing " + name_ + ": storing");
  } else if (stage == "done") {
    Clear();
  } else if (!stage.empty()) {
    Draw("installing " + name_ + ": " + stage);
  }
}

void InstallProgressView::Draw(const std::string& text) {
  err_ << RedrawLine(text, columns_) << std::flush;
  drawn_ = true;
}

void InstallProgressView::Clear() {
  if (!drawn_) return;
  err_ << ClearLine() << std::flush;
  drawn_ = false;
}

}  // namespace arcella::cli
