// Folding the fuel metering's C (see c_peephole.h).
//
// What wasm2c 1.0.32 writes. A stack temporary is named by its type and
// stack slot: "w2c_j<d>" is the i64 in slot d, "w2c_i<d>" the i32. Every
// instruction pops its operands from the top slots and writes its result to
// the slot it pushes; so a slot above the stack top is written before it is
// read again, on every path (labels included: a branch writes the target's
// result slots, and validation fixes the stack height at every label). The
// fuel local F (the function's last local, appended by the instrumenter)
// and the fuel global G (`instance->G`) are written and read only by the
// instrumenter's code (instrument_fuel.cc, FuelCheck in instrument.cc); V is
// the interrupt flag, read only by FuelCheck (MakeVolatile already applied).
// With d the stack height where the sequence starts and N a cost ("17ull"):
//
//   head   H1: j<d> = SRC;  j<d+1> = N;  j<d> -= j<d+1;   value SRC - N
//          H0: j<d> = SRC;                                value SRC
//          (SRC is F or instance->G)
//   tails  T1: instance->G = j<d>;       global.set G: pops slot d
//                -> instance->G = SRC - N;  (or -= N when SRC is G)
//          T2: F = j<d>;  then a line that does not write j<d+1>
//                local.set F (F's only local.tee is always followed by the
//                check's `j<d+1> = 0ull;`): pops slot d
//                -> F = SRC - N;  (or F -= N when SRC is F)
//          T3: F = j<d>;  j<d+1> = 0ull;  i<d> = (u64)((s64)j<d> < (s64)j<d+1>);
//              i<d+1> = (*(volatile u32*)&instance->V);  i<d> |= i<d+1>;
//              if (i<d>) {
//                local.tee F; the check: i64.lt_s pops slots d, d+1, i32.or
//                pops d+1, `if` pops d
//                -> F = SRC - N;  (or F -= N)
//                   if ((u32)((s64)F < 0) | (*(volatile u32*)&instance->V)) {
//                (two statements in wasm2c's order, no branch hint: gcc
//                then lays out the same code as before the fold)
//          T4: (after H0 with SRC = F) the check lines of T3 without `F = j<d>;`
//                -> if ((u32)((s64)F < 0) | (*(volatile u32*)&instance->V)) {
//
// The instrumenter's sequences, and what they become:
//   run charge          local.get F; i64.const N; i64.sub; local.set F  H1 T2  F -= N;
//   reload after call   global.get G; [i64.const N; i64.sub;] local.set F  F = instance->G - N;
//   charged exit        local.get F; [i64.const N; i64.sub;] global.set G  instance->G = F - N;
//   charged exit after  global.get G; i64.const N; i64.sub; global.set G
//     a call                                                        instance->G -= N;
//   entry check         global.get G; [i64.const N; i64.sub;] local.tee F; FuelCheck  (T3)
//   loop check          local.get F; [i64.const N; i64.sub; local.tee F;] FuelCheck  (T3/T4)
//   check body          local.get F; global.set G; call check; global.get G; local.set F
//                                  instance->G = F;  <call>  F = instance->G;
// Every removed statement writes a temporary in a slot the sequence pops;
// every kept effect (the writes of F and G, the volatile read of V, the
// branch) is kept in order where order is observable. A function is only
// rewritten if its fuel entry check (global.get G ... local.tee F; the
// check) identifies F and G; lines that match no rule are copied unchanged.
#include "engine/aot/c_peephole.h"

#include <vector>

namespace arcella::engine::aot {
namespace {

struct Line {
  std::string_view indent, stmt;  // stmt: the text after the indentation
};

bool IsIdentChar(char c) { return isalnum(static_cast<unsigned char>(c)) || c == '_'; }

bool IsIdent(std::string_view s) {
  if (s.empty() || isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!IsIdentChar(c)) return false;
  return true;
}

bool IsDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

// "w2c_<type><d>" -> d, or -1.
int TempSlot(std::string_view name, char type) {
  constexpr std::string_view kPrefix = "w2c_";
  if (name.size() < kPrefix.size() + 2 || name.substr(0, kPrefix.size()) != kPrefix ||
      name[kPrefix.size()] != type)
    return -1;
  std::string_view digits = name.substr(kPrefix.size() + 1);
  if (!IsDigits(digits) || digits.size() > 6 || (digits.size() > 1 && digits[0] == '0')) return -1;
  int d = 0;
  for (char c : digits) d = d * 10 + (c - '0');
  return d;
}

std::string Temp(char type, int slot) {
  return "w2c_" + std::string(1, type) + std::to_string(slot);
}

// "LHS <op> RHS;" -> LHS, RHS; `sep` is the operator with its spaces (" = ").
bool SplitAssign(std::string_view stmt, std::string_view sep, std::string_view* lhs,
                 std::string_view* rhs) {
  if (stmt.empty() || stmt.back() != ';') return false;
  size_t p = stmt.find(sep);
  if (p == std::string_view::npos || p == 0) return false;
  *lhs = stmt.substr(0, p);
  *rhs = stmt.substr(p + sep.size(), stmt.size() - 1 - (p + sep.size()));
  return !rhs->empty();
}

constexpr std::string_view kInstance = "instance->";

bool IsField(std::string_view s) {
  return s.substr(0, kInstance.size()) == kInstance && IsIdent(s.substr(kInstance.size()));
}

// A head at lines[i]: "j<d> = SRC;" [+ "j<d+1> = Nll;" "j<d> -= j<d+1>;"].
struct Head {
  int slot = -1;
  std::string_view src, cost;  // cost empty: H0
  size_t len = 0;
};

bool MatchHead(const std::vector<Line>& l, size_t i, Head* h) {
  if (l[i].stmt.substr(0, 5) != "w2c_j") return false;  // most lines: not a head
  std::string_view lhs, rhs;
  if (!SplitAssign(l[i].stmt, " = ", &lhs, &rhs)) return false;
  int d = TempSlot(lhs, 'j');
  if (d < 0 || !(IsIdent(rhs) || IsField(rhs)) || TempSlot(rhs, 'j') >= 0 ||
      TempSlot(rhs, 'i') >= 0)
    return false;
  *h = Head{d, rhs, {}, 1};
  if (i + 2 >= l.size() || l[i + 1].indent != l[i].indent || l[i + 2].indent != l[i].indent)
    return true;
  std::string_view zl, zr, sl, sr;
  const std::string x = Temp('j', d), z = Temp('j', d + 1);
  if (SplitAssign(l[i + 1].stmt, " = ", &zl, &zr) && zl == z && zr.size() > 3 &&
      zr.substr(zr.size() - 3) == "ull" && IsDigits(zr.substr(0, zr.size() - 3)) &&
      SplitAssign(l[i + 2].stmt, " -= ", &sl, &sr) && sl == x && sr == z) {
    h->cost = zr;
    h->len = 3;
  }
  return true;
}

// The check after the tee (or local.get) of slot d, at lines[k..k+4].
bool MatchCheck(const std::vector<Line>& l, size_t k, int d, std::string_view indent,
                const std::string& vol) {
  if (k + 5 > l.size()) return false;
  for (size_t j = k; j < k + 5; ++j)
    if (l[j].indent != indent) return false;
  const std::string x = Temp('j', d), z = Temp('j', d + 1);
  const std::string c = Temp('i', d), c1 = Temp('i', d + 1);
  return l[k].stmt == z + " = 0ull;" &&
         l[k + 1].stmt == c + " = (u64)((s64)" + x + " < (s64)" + z + ");" &&
         l[k + 2].stmt == c1 + " = " + vol + ";" && l[k + 3].stmt == c + " |= " + c1 + ";" &&
         l[k + 4].stmt == "if (" + c + ") {";
}

std::vector<Line> Split(std::string_view text) {
  std::vector<Line> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view s = text.substr(pos, nl - pos);
    size_t ind = s.find_first_not_of(' ');
    if (ind == std::string_view::npos) ind = s.size();
    out.push_back({s.substr(0, ind), s.substr(ind)});
    pos = nl + 1;
  }
  return out;
}

}  // namespace

std::string FoldFuel(std::string_view func, std::string_view interrupt_field, FoldStats* stats) {
  if (interrupt_field.empty() || func.empty() || func.back() != '\n') return std::string(func);
  const std::string vol = "(*(volatile u32*)&instance->" + std::string(interrupt_field) + ")";
  if (func.find(vol) == std::string_view::npos) return std::string(func);
  const std::vector<Line> l = Split(func);

  // F and G from the first check whose head reads a field and tees a local:
  // the entry check (global.get G ... local.tee F; FuelCheck).
  std::string_view fuel_local, fuel_global;
  for (size_t i = 0; i < l.size() && fuel_local.empty(); ++i) {
    Head h;
    if (!MatchHead(l, i, &h) || !IsField(h.src)) continue;
    size_t k = i + h.len;
    std::string_view lhs, rhs;
    if (k < l.size() && l[k].indent == l[i].indent && SplitAssign(l[k].stmt, " = ", &lhs, &rhs) &&
        rhs == Temp('j', h.slot) && IsIdent(lhs) && TempSlot(lhs, 'j') < 0 &&
        TempSlot(lhs, 'i') < 0 && MatchCheck(l, k + 1, h.slot, l[i].indent, vol)) {
      fuel_local = lhs;
      fuel_global = h.src;
    }
  }
  if (fuel_local.empty()) return std::string(func);

  std::string out;
  out.reserve(func.size());
  uint64_t folds = 0, removed = 0;
  auto emit = [&](std::string_view indent, const std::string& stmt, size_t consumed) {
    out.append(indent).append(stmt).push_back('\n');
    ++folds;
    removed += consumed - 1;
  };
  for (size_t i = 0; i < l.size();) {
    Head h;
    if (MatchHead(l, i, &h) && (h.src == fuel_local || h.src == fuel_global)) {
      const std::string_view ind = l[i].indent;
      const std::string x = Temp('j', h.slot);
      const size_t k = i + h.len;
      std::string value(h.src);
      if (!h.cost.empty()) value += " - " + std::string(h.cost);
      std::string_view lhs, rhs;
      const bool same = k < l.size() && l[k].indent == ind;
      if (same && SplitAssign(l[k].stmt, " = ", &lhs, &rhs) && rhs == x) {
        if (lhs == fuel_global) {  // T1
          std::string g(fuel_global);
          emit(ind,
               h.src == fuel_global && !h.cost.empty() ? g + " -= " + std::string(h.cost) + ";"
                                                       : g + " = " + value + ";",
               h.len + 1);
          i = k + 1;
          continue;
        }
        if (lhs == fuel_local) {
          std::string f(fuel_local);
          std::string assign = h.src == fuel_local && !h.cost.empty()
                                   ? f + " -= " + std::string(h.cost)
                                   : f + " = " + value;
          if (MatchCheck(l, k + 1, h.slot, ind, vol)) {  // T3
            out.append(ind).append(assign).append(";\n");
            emit(ind, "if ((u32)((s64)" + f + " < 0) | " + vol + ") {", h.len + 5);
            i = k + 6;
            continue;
          }
          const std::string z = Temp('j', h.slot + 1) + " =";
          if (k + 1 < l.size() && l[k + 1].stmt.substr(0, z.size()) != z) {  // T2
            emit(ind, assign + ";", h.len + 1);
            i = k + 1;
            continue;
          }
        }
      }
      if (h.len == 1 && h.src == fuel_local && MatchCheck(l, k, h.slot, ind, vol)) {  // T4
        emit(ind, "if ((u32)((s64)" + std::string(fuel_local) + " < 0) | " + vol + ") {", 6);
        i = k + 5;
        continue;
      }
    }
    out.append(l[i].indent).append(l[i].stmt).push_back('\n');
    ++i;
  }
  if (stats != nullptr) {
    stats->folds += folds;
    stats->lines_removed += removed;
  }
  return out;
}

}  // namespace arcella::engine::aot
