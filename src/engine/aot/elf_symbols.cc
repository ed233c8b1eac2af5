#include "engine/aot/elf_symbols.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

namespace arcella::engine::aot {
namespace {

template <typename T>
bool ReadAt(std::span<const uint8_t> img, uint64_t off, T* out) {
  if (off > img.size() || img.size() - off < sizeof(T)) return false;
  std::memcpy(out, img.data() + off, sizeof(T));
  return true;
}

// "w2c_f12" or a compiler clone like "w2c_f12.part.0" -> 12; an export
// wrapper "Z_mZ_e3" (into which wasm2c functions are often inlined) -> the
// function export 3 names.
bool ParseFuncName(const char* s, size_t max_len, std::span<const uint32_t> export_func,
                   uint32_t* index) {
  size_t n = strnlen(s, max_len);
  if (n == 15 && std::strncmp(s, "Z_m_instantiate", 15) == 0) {
    // The start function is often inlined here (last entry of export_func).
    if (export_func.empty() || export_func.back() == UINT32_MAX) return false;
    *index = export_func.back();
    return true;
  }
  size_t prefix;
  if (n > 5 && std::strncmp(s, "w2c_f", 5) == 0) {
    prefix = 5;
  } else if (n > 6 && std::strncmp(s, "Z_mZ_e", 6) == 0) {
    prefix = 6;
  } else {
    return false;
  }
  uint64_t v = 0;
  size_t i = prefix;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; ++i) {
    v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    if (v > UINT32_MAX) return false;
  }
  if (i == prefix || (i < n && s[i] != '.')) return false;
  if (prefix == 6) {
    if (v + 1 >= export_func.size() || export_func[v] == UINT32_MAX) return false;
    v = export_func[v];
  }
  *index = static_cast<uint32_t>(v);
  return true;
}

}  // namespace

std::vector<LoadedObject::Range> FunctionRanges(std::span<const uint8_t> img, uintptr_t base,
                                                std::span<const uint32_t> export_func) {
  std::vector<LoadedObject::Range> out;
  Elf64_Ehdr eh;
  if (!ReadAt(img, 0, &eh) || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
      eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_shentsize != sizeof(Elf64_Shdr)) {
    return out;
  }
  for (uint32_t i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    if (!ReadAt(img, eh.e_shoff + uint64_t{i} * sizeof(Elf64_Shdr), &sh)) return out;
    if (sh.sh_type != SHT_SYMTAB || sh.sh_entsize != sizeof(Elf64_Sym)) continue;
    Elf64_Shdr strs;
    if (sh.sh_link >= eh.e_shnum ||
        !ReadAt(img, eh.e_shoff + uint64_t{sh.sh_link} * sizeof(Elf64_Shdr), &strs) ||
        strs.sh_offset > img.size() || img.size() - strs.sh_offset < strs.sh_size) {
      return out;
    }
    const char* names = reinterpret_cast<const char*>(img.data() + strs.sh_offset);
    for (uint64_t k = 0; k < sh.sh_size / sizeof(Elf64_Sym); ++k) {
      Elf64_Sym sym;
      if (!ReadAt(img, sh.sh_offset + k * sizeof(Elf64_Sym), &sym)) break;
      if (ELF64_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_size == 0 || sym.st_name >= strs.sh_size)
        continue;
      uint32_t index;
      if (!ParseFuncName(names + sym.st_name, strs.sh_size - sym.st_name, export_func, &index))
        continue;
      out.push_back({base + sym.st_value, base + sym.st_value + sym.st_size, index});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.lo < b.lo; });
  return out;
}

}  // namespace arcella::engine::aot
