// The per-user AOT cache folder of `arcella run` and `arcella wast` (the
// daemon uses its home's cache folder instead). The engine reads no
// environment variable; this is where the tools do it for the engine.
#pragma once

#include <string>

namespace arcella::tools {

// $ARCELLA_HOME/cache, else $XDG_CACHE_HOME/arcella (if absolute), else
// ~/.cache/arcella ($HOME if absolute, else the password database's home);
// "" if there is none. Never a shared path like /tmp.
std::string UserCacheDir();

// The C compiler command for the AOT tier: $CC if set and non-empty, else "cc".
std::string CompilerFromEnv();

}  // namespace arcella::tools
