// Splits wasm2c's C output, as it is written, into translation units.
//
// CSplitter is the wabt::Stream wasm2c's writer writes m.c into. It never
// holds the whole C text: it recognises, line by line, the parts of wabt
// 1.0.32's output and writes
//   shared.h  the prelude (macros, static inline helpers; RefineTraps
//             applied), one macro per data segment naming its bytes in
//             `arcella_data_segments[]` (data never goes through the
//             compiler), `func_types` and the element segments as hidden
//             globals, and a hidden prototype of every function;
//   u<k>.c    consecutive function definitions (hidden, non-static) until
//             the unit holds `unit_budget` bytes of C; a function larger
//             than the budget gets a unit of its own;
//   main      everything else (instance init, exports, instantiate, free),
//             kept in memory (small: no data) and returned by TakeMain().
// Every access to `instance-><volatile_field>` is made volatile, per piece,
// and the fuel metering's statements of each function are folded into one C
// statement each (FoldFuel, c_peephole.h).
// Output of an unexpected shape fails the stream (wabt then stops writing)
// with an Internal status naming the line; nothing is miscompiled.
//
// Threads: one writer (wasm2c's); callbacks run on it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include <wabt/stream.h>

#include "common/status.h"
#include "engine/aot/c_peephole.h"

namespace arcella::engine::aot {

// One finished function unit (its file is closed).
struct CUnit {
  uint32_t index = 0;
  std::string path;               // <dir>/u<index>.c
  uint64_t bytes = 0;             // C bytes written
  uint64_t largest_function = 0;  // C bytes of its largest function
  uint32_t functions = 0;
  std::string digest;  // sha256 hex of the unit's text
};

struct SplitConfig {
  std::string dir;                 // existing folder the files go to
  uint64_t unit_budget = 4 << 20;  // bytes of function C per unit
  std::string volatile_field;      // instance field made volatile ("" none)
  uint32_t data_segments = 0;      // the module's data segments ($d<i> names)
  // Written to <dir>/m.h when the shared header is complete (wasm2c writes
  // its header stream before the source).
  const std::vector<uint8_t>* module_header = nullptr;
  // Called with a function's index ("w2c_f<index>") once its definition has
  // been written out (the writer may still be finishing that function).
  std::function<void(uint32_t func_index)> on_function;
};

class CSplitter : public wabt::Stream {
 public:
  // `on_header` runs once, when shared.h and m.h are on disk (before the
  // first unit); `on_unit` after each unit is closed. A failing callback
  // fails the stream with its status.
  CSplitter(SplitConfig config, std::function<Status(const std::string& header_digest)> on_header,
            std::function<Status(const CUnit&)> on_unit);
  ~CSplitter() override;

  // Ends the split after wasm2c returned: checks the output was complete,
  // closes the last unit. The error of the first failure, if any.
  Status Finish();
  // The main unit's text (valid after Finish): include shared.h first.
  std::string TakeMain() { return std::move(main_); }
  const std::vector<CUnit>& units() const { return units_; }
  const Status& status() const { return status_; }
  // What FoldFuel did to the functions written so far.
  const FoldStats& fold_stats() const { return fold_stats_; }

 protected:
  wabt::Result WriteDataImpl(size_t offset, const void* data, size_t size) override;
  wabt::Result MoveDataImpl(size_t, size_t, size_t) override;
  wabt::Result TruncateImpl(size_t) override;

 private:
  enum class State { kPrelude, kDecls, kFuncs, kTail };
  enum class Block { kNone, kMain, kDrop, kElem };

  void Line(std::string_view line);
  void Dispatch(std::string_view line);
  void Fail(const std::string& what, std::string_view line = {});
  void DeclLine(std::string_view line);
  void FlushHeader();
  void StartFunction(std::string_view line);
  void EndFunction();
  void CloseUnit();
  void WriteUnit(const std::string& text);

  SplitConfig config_;
  std::function<Status(const std::string&)> on_header_;
  std::function<Status(const CUnit&)> on_unit_;
  Status status_;
  State state_ = State::kPrelude;
  Block block_ = Block::kNone;
  std::string pending_;  // an incomplete line
  std::string join_;     // a wrapped signature being joined
  std::string prelude_, header_, main_, func_;
  uint32_t func_index_ = 0;  // of the function being collected
  bool in_func_ = false, header_done_ = false, saw_init_flag_ = false;
  std::vector<CUnit> units_;
  CUnit cur_;
  FILE* unit_file_ = nullptr;
  void* unit_hash_ = nullptr;  // EVP_MD_CTX of the open unit
  FoldStats fold_stats_;
};

// Makes every access to `instance->FIELD` in `c` (except taking its
// address) a volatile access.
std::string MakeVolatile(const std::string& c, const std::string& field);
// Replaces the prelude's CALL_INDIRECT and table helper traps (see c_split.cc).
Status RefineTraps(std::string* prelude);

}  // namespace arcella::engine::aot
