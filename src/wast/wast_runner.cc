#include "wast/wast_runner.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "wabt/error-formatter.h"
#include "wabt/feature.h"
#include "wabt/ir.h"
#include "wabt/wast-lexer.h"
#include "wabt/wast-parser.h"
#include "wast/wast_modules.h"
#include "wast/wast_script.h"

namespace arcella::wast {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string SummaryLine(const WastSummary& s) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "%d passed, %d failed%s (%.2fs)", s.passed, s.failed,
                s.skipped ? (", " + std::to_string(s.skipped) + " skipped").c_str() : "",
                s.seconds);
  return buf;
}

}  // namespace

Result<WastSummary> RunWastText(const std::string& name, std::string_view text,
                                const WastOptions& options, std::ostream& log) {
  auto start = std::chrono::steady_clock::now();
  wabt::Errors errors;
  auto lexer = wabt::WastLexer::CreateBufferLexer(name, text.data(), text.size(), &errors);
  wabt::WastParseOptions parse_options(TextFeatures(options.multi_memory));
  std::unique_ptr<wabt::Script> script;
  if (wabt::Failed(wabt::ParseWastScript(lexer.get(), &script, &errors, &parse_options)) ||
      !script) {
    std::string first = errors.empty() ? "parse error" : errors.front().message;
    int line = errors.empty() ? 0 : errors.front().loc.line;
    return Status::InvalidArgument(name + ":" + std::to_string(line) + ": " + first);
  }
  ScriptRunner runner(name, options, log);
  runner.Run(*script);
  WastSummary summary = runner.summary();
  summary.seconds = SecondsSince(start);
  summary.files = 1;
  summary.files_failed = summary.failed ? 1 : 0;
  log << name << ": " << SummaryLine(summary) << "\n";
  return summary;
}

Result<WastSummary> RunWastFile(const std::string& path, const WastOptions& options,
                                std::ostream& log) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot read " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Status::IoError("error reading " + path);
  return RunWastText(path, buf.str(), options, log);
}

WastSummary RunWastFiles(const std::vector<std::string>& paths, const WastOptions& options,
                         std::ostream& log) {
  auto start = std::chrono::steady_clock::now();
  WastSummary total;
  for (const std::string& path : paths) {
    auto s = RunWastFile(path, options, log);
    ++total.files;
    if (!s.ok()) {
      std::string msg = s.status().ToString();
      log << msg << "\n";
      ++total.failed;
      ++total.files_failed;
      total.failures.push_back(std::move(msg));
      continue;
    }
    total.passed += s->passed;
    total.failed += s->failed;
    total.skipped += s->skipped;
    total.files_failed += s->files_failed;
    for (auto& f : s->failures) total.failures.push_back(std::move(f));
  }
  total.seconds = SecondsSince(start);
  if (paths.size() != 1) {
    log << "total: " << SummaryLine(total) << "; " << total.files - total.files_failed << "/"
        << total.files << " files passed\n";
  }
  return total;
}

}  // namespace arcella::wast
