// Garbage collection of the AOT cache folder (cache_store.h): the per-unit
// objects `<unit key>.o` and the lock files `<cache key>.lock` that compiles
// leave behind. Module entries (`<cache key>.so`), the key and compile
// folders are not touched here (compile folders: CleanStaleTempDirs).
//
// Policy (docs/LIMITS.md, "AOT cache"):
//   - unit objects are kept least-recently-used: their mtime is refreshed
//     each time a compile reuses one (TouchCacheEntry); one unused for
//     `unit_max_age` is removed; then, oldest first, until the unit objects
//     together fit `unit_bytes_budget`. One used within `unit_min_age` is
//     never removed (a compile in flight may be about to reuse it; removing
//     it would only cost a recompile of that unit: reads are whole-file).
//   - a lock file is removed only when nobody holds it: the collector takes
//     its flock without blocking, checks that the name still names the
//     inode it locked, and unlinks it while holding the lock. A compile that
//     acquires a lock re-checks the same (LockStillLinked) and, if the file
//     was unlinked meanwhile, opens the new one and locks again.
//
// Threads and processes: safe to run concurrently with compiles and other
// collectors, in this process and others; errors are ignored (a file that
// vanished was collected by someone else).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace arcella::engine::aot {

struct CacheGcPolicy {
  // Unit objects kept at most, in bytes (least recently used go first).
  uint64_t unit_bytes_budget = 1ull << 30;  // 1 GiB
  // A unit object unused this long is removed whatever the budget.
  std::chrono::seconds unit_max_age{30 * 24 * 3600};
  // A unit object used this recently is never removed.
  std::chrono::seconds unit_min_age{600};
  // A lock file touched this recently is left alone (it is about to be used).
  std::chrono::seconds lock_min_age{60};
};

struct CacheGcStats {
  uint64_t units_removed = 0;
  uint64_t unit_bytes_removed = 0;
  uint64_t unit_bytes_kept = 0;
  uint64_t locks_removed = 0;
};

// Collects in the cache folder open as `dir_fd` (CacheStore::dir_fd()).
CacheGcStats CollectCacheGarbage(int dir_fd, const CacheGcPolicy& policy = {});

// CollectCacheGarbage with the default policy, at most once a minute per
// process (compiles call it after each entry they publish; a run of many
// small compiles, like the spec suite, must not rescan the folder each time).
void CollectCacheGarbageSometimes(int dir_fd);

// Marks cache file `name` used now (its mtime), for the LRU order above.
void TouchCacheEntry(int dir_fd, const std::string& name);

// For a compile that has just flock'ed `fd`, opened as lock file `name`:
// true if `name` still names that file (the collector did not unlink it).
bool LockStillLinked(int dir_fd, const std::string& name, int fd);

}  // namespace arcella::engine::aot
