#include "engine/aot/mem_image.h"

#include <wabt/cast.h>
#include <wabt/ir.h>

#include <cctype>
#include <vector>

namespace arcella::engine::aot {
namespace {

bool AllDigits(const std::string& s, size_t from, size_t to) {
  if (from >= to) return false;
  for (size_t i = from; i < to; ++i)
    if (!isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

bool IsIdent(const std::string& s) {
  if (s.empty() || isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char ch : s)
    if (!isalnum(static_cast<unsigned char>(ch)) && ch != '_') return false;
  return true;
}

// Splits "a, b, c" (no nested commas in what wasm2c writes here).
std::vector<std::string> Args(const std::string& s) {
  std::vector<std::string> out;
  size_t p = 0;
  for (;;) {
    size_t c = s.find(',', p);
    std::string a = s.substr(p, c == std::string::npos ? std::string::npos : c - p);
    size_t b = a.find_first_not_of(' '), e = a.find_last_not_of(' ');
    out.push_back(b == std::string::npos ? "" : a.substr(b, e - b + 1));
    if (c == std::string::npos) break;
    p = c + 1;
  }
  return out;
}

}  // namespace

long ImageSegmentCount(const wabt::Module& module) {
  if (module.memories.size() != 1 || module.num_memory_imports != 0) return -1;
  const wabt::Limits& lim = module.memories[0]->page_limits;
  if (lim.is_64 || lim.is_shared) return -1;
  const uint64_t bytes = lim.initial * 65536ull;
  long active = 0;
  bool data = false;
  for (const wabt::DataSegment* ds : module.data_segments) {
    if (ds->kind != wabt::SegmentKind::Active) continue;
    ++active;
    if (ds->offset.size() != 1 || ds->offset.front().type() != wabt::ExprType::Const) return -1;
    const wabt::Const& c = wabt::cast<wabt::ConstExpr>(&ds->offset.front())->const_;
    if (c.type() != wabt::Type::I32) return -1;
    if (static_cast<uint64_t>(c.u32()) + ds->data.size() > bytes) return -1;  // must trap as before
    if (!ds->data.empty()) data = true;
  }
  return data ? active : -1;
}

bool RewriteForImage(std::string* c, long segments, std::string* glue) {
  const std::string head = "static void init_memories(";
  size_t fn = c->find(head);
  if (fn == std::string::npos || c->find(head, fn + 1) != std::string::npos) return false;
  size_t body = c->find("{\n", fn);
  size_t end = c->find("\n}\n", fn);
  if (body == std::string::npos || end == std::string::npos || body > end) return false;
  body += 2;
  // Every statement of the body: one allocation of memory 0, then LOAD_DATAs.
  std::string mem, alloc_args, table;
  size_t alloc_begin = 0, alloc_end = 0;
  long loads = 0;
  for (size_t p = body; p <= end;) {
    size_t nl = c->find('\n', p);
    std::string line = c->substr(p, nl - p);
    size_t b = line.find_first_not_of(' ');
    std::string stmt = b == std::string::npos ? "" : line.substr(b);
    const std::string alloc = "wasm_rt_allocate_memory(&", load = "LOAD_DATA(";
    if (stmt.empty()) {
    } else if (stmt.rfind(alloc, 0) == 0 && stmt.size() > 2 &&
               stmt.substr(stmt.size() - 2) == ");") {
      if (!mem.empty() || loads > 0) return false;
      std::vector<std::string> a = Args(stmt.substr(alloc.size(), stmt.size() - 2 - alloc.size()));
      if (a.size() != 3 || a[0].rfind("instance->", 0) != 0) return false;
      mem = a[0];
      alloc_args = a[1] + ", " + a[2];
      alloc_begin = p;
      alloc_end = nl;
    } else if (stmt.rfind(load, 0) == 0 && stmt.size() > 2 &&
               stmt.substr(stmt.size() - 2) == ");") {
      std::vector<std::string> a = Args(stmt.substr(load.size(), stmt.size() - 2 - load.size()));
      if (mem.empty() || a.size() != 4 || a[0] != mem) return false;
      const std::string& off = a[1];
      if (off.size() < 2 || off.back() != 'u' || !AllDigits(off, 0, off.size() - 1)) return false;
      if (!AllDigits(a[3], 0, a[3].size()) || !(a[2] == "NULL" || IsIdent(a[2]))) return false;
      table += "  {" + off + ", " + a[3] + "u, " + a[2] + "},\n";
      ++loads;
    } else {
      return false;
    }
    if (nl == std::string::npos || nl >= end) break;
    p = nl + 1;
  }
  if (mem.empty() || loads != segments || loads == 0) return false;
  // The table is automatic: segment bytes are found at run time (the data
  // blob, see c_split.h), so its initialisers are not constant.
  c->replace(alloc_begin, alloc_end - alloc_begin,
             "  const arcella_data_seg_t arcella_m0_segs[] = {\n" + table +
                 "  };\n  if (arcella_rt_allocate_memory_image(&" + mem + ", " + alloc_args +
                 ", &arcella_m0_image, arcella_m0_segs, " + std::to_string(loads) + "u)) return;");
  c->insert(fn, "static arcella_mem_image_t arcella_m0_image;\n\n");
  *glue += "void arcella_release_images(void) { arcella_rt_release_image(&arcella_m0_image); }\n";
  return true;
}

}  // namespace arcella::engine::aot
