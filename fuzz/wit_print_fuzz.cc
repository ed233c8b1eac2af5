// libFuzzer target for the WIT printer (src/component/wit_print.cc) behind
// the component decoder: any input the decoder accepts is printed or refused
// with a non-empty InvalidArgument message naming the import/export; printed
// WIT starts with the root package and world and has balanced braces.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "component/ast.h"
#include "component/decoder.h"
#include "component/wit_print.h"

using namespace arcella;
using namespace arcella::component;

namespace {
[[noreturn]] void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "wit_print_fuzz: %s: %s\n", what, detail.c_str());
  __builtin_trap();
}

void Check(const Result<std::string>& wit) {
  if (!wit.ok()) {
    if (wit.status().code() != StatusCode::kInvalidArgument || wit.status().message().empty()) {
      Fail("unexpected refusal", wit.status().ToString());
    }
    return;
  }
  const std::string& s = *wit;
  if (s.rfind("package root:component;\n\nworld root {\n", 0) != 0) Fail("no world", s);
  long depth = 0;
  for (char c : s) {
    depth += c == '{' ? 1 : c == '}' ? -1 : 0;
    if (depth < 0) Fail("unbalanced braces", s);
  }
  if (depth != 0) Fail("unbalanced braces", s);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto c = DecodeComponent(std::span<const uint8_t>(data, size));
  if (!c.ok()) return 0;
  Check(PrintComponentWit(**c));
  Check(PrintComponentWit(**c, {.foreign_packages = true}));
  return 0;
}
