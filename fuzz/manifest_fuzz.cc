// libFuzzer target for the TOML readers: component.toml, *.deployment.toml,
// arcella.toml snippets and the scalar parsers (ids, sizes, durations).
//
// Properties checked: no crash/UB (ASan/UBSan); every rejection carries a
// non-empty message; every accepted manifest/spec survives ToToml -> parse ->
// ToToml unchanged and still validates.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "platform/config.h"
#include "platform/manifest.h"

using namespace arcella;
using namespace arcella::platform;

namespace {

void Check(bool cond, const char* what) {
  if (!cond) {
    fprintf(stderr, "property violated: %s\n", what);
    abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);

  auto m = ParseComponentManifest(text, "fuzz.component.toml");
  if (m.ok()) {
    std::string t1 = ToToml(*m);
    auto again = ParseComponentManifest(t1, "round-trip");
    Check(again.ok(), "component manifest round trip parses");
    Check(ToToml(*again) == t1, "component manifest round trip is stable");
  } else {
    Check(!m.status().message().empty(), "component error has a message");
  }

  auto d = ParseDeploymentSpec(text, "fuzz.deployment.toml");
  if (d.ok()) {
    Check(ValidateDeploymentSpec(*d, KeyStyle::kCliFlags, "fuzz").ok(), "parsed spec validates");
    std::string t1 = ToToml(*d);
    auto again = ParseDeploymentSpec(t1, "round-trip");
    Check(again.ok(), "deployment round trip parses");
    Check(ToToml(*again) == t1, "deployment round trip is stable");
  } else {
    Check(!d.status().message().empty(), "deployment error has a message");
  }

  auto c = ApplyConfigText(Config(), text, "fuzz.arcella.toml");
  if (!c.ok()) Check(!c.status().message().empty(), "config error has a message");

  if (size < 512) {
    auto id = ParseModuleId(text);
    if (id.ok()) Check(id->str() == text, "module id round trip");
    (void)ParseByteSize(text);
    (void)ParseDuration(text);
    (void)ValidateDirGrant(text);
    (void)ManifestFromFileName(text);
  }
  return 0;
}
