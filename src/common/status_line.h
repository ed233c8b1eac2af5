// One updating status line on a terminal ("compiling x.wasm: 37/112 units,
// 41 s, about 80 s left"), shared by `arcella run` and `arcella-cli install`.
// Header-only text helpers: the callers own the terminal and the threads.
#pragma once

#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace arcella {

// "850 ms" below a second, "41 s" below a minute, "3 min 20 s" above.
inline std::string HumanDuration(int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 1000) return std::to_string(ms) + " ms";
  int64_t s = (ms + 500) / 1000;
  if (s < 60) return std::to_string(s) + " s";
  std::string out = std::to_string(s / 60) + " min";
  if (s % 60) out += " " + std::to_string(s % 60) + " s";
  return out;
}

// "LABEL: 37/112 units, 41 s, about 80 s left"; while the number of units is
// not known yet (`units_total` 0: the C is being generated),
// "LABEL: generating C, 3 s". An estimate of 0 means unknown and is left out.
inline std::string CompileProgressText(const std::string& label, uint64_t units_done,
                                       uint64_t units_total, int64_t elapsed_ms,
                                       int64_t estimate_ms) {
  std::string s = label + ": ";
  if (units_total == 0) {
    s += "generating C";
  } else {
    s += std::to_string(units_done) + "/" + std::to_string(units_total) + " units";
  }
  if (elapsed_ms >= 1000) s += ", " + HumanDuration(elapsed_ms);  // no "0 ms" at the start
  if (units_total != 0 && units_done < units_total && estimate_ms > 0)
    s += ", about " + HumanDuration(estimate_ms) + " left";
  return s;
}

// Columns of the terminal on `fd` (80 if it cannot be asked).
inline int TerminalColumns(int fd) {
  winsize ws{};
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

// The bytes that redraw the current line as `text`: carriage return, the
// text cut to `columns` - 1 (a line that wraps could not be redrawn in
// place), then erase to the end of the line.
inline std::string RedrawLine(const std::string& text, int columns) {
  std::string s = text;
  size_t max = columns > 1 ? static_cast<size_t>(columns - 1) : 0;
  if (s.size() > max) {
    s.resize(max);
    while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();
    if (!s.empty() && (static_cast<unsigned char>(s.back()) & 0x80)) s.pop_back();
  }
  return "\r" + s + "\033[K";
}

// Erases the status line (the cursor ends at its start).
inline std::string ClearLine() { return "\r\033[K"; }

}  // namespace arcella
