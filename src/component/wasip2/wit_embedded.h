// The WIT files of src/component/wasip2/wit, compiled into the binary (a
// source generated at build time by embed_wit.cmake). Internal to
// src/component/wasip2: use WasiWitPackages() (wit_host.h).
#pragma once

#include <cstddef>

namespace arcella::component {

struct EmbeddedWit {
  const char* filename;  // "io.wit"
  const char* text;
};
extern const EmbeddedWit kEmbeddedWasiWit[];
extern const size_t kEmbeddedWasiWitCount;

}  // namespace arcella::component
