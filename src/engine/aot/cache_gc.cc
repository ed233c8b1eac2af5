// AOT cache garbage collection (cache_gc.h).
#include "engine/aot/cache_gc.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <ctime>
#include <vector>

namespace arcella::engine::aot {
namespace {

bool EndsWith(const std::string& s, const char* suffix) {
  const std::string t(suffix);
  return s.size() > t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

// "<64 hex digits><suffix>": the names the compiler gives cache files.
bool IsKeyName(const std::string& name, const char* suffix) {
  if (!EndsWith(name, suffix)) return false;
  const size_t n = name.size() - std::string(suffix).size();
  if (n != 64) return false;
  for (size_t i = 0; i < n; ++i)
    if (!std::isxdigit(static_cast<unsigned char>(name[i]))) return false;
  return true;
}

// Unlinks lock `name` if nobody holds it and it still is the file locked.
bool RemoveUnheldLock(int dir_fd, const std::string& name) {
  int fd = openat(dir_fd, name.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;
  bool removed = false;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0 && LockStillLinked(dir_fd, name, fd))
    removed = unlinkat(dir_fd, name.c_str(), 0) == 0;
  close(fd);  // releases the flock (after the unlink: a waiter re-checks)
  return removed;
}

struct Unit {
  std::string name;
  uint64_t bytes;
  time_t used;  // mtime
};

}  // namespace

bool LockStillLinked(int dir_fd, const std::string& name, int fd) {
  struct stat held, named;
  if (fstat(fd, &held) != 0) return false;
  if (fstatat(dir_fd, name.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0) return false;
  return held.st_dev == named.st_dev && held.st_ino == named.st_ino;
}

void CollectCacheGarbageSometimes(int dir_fd) {
  static std::atomic<int64_t> last{0};
  const int64_t now = time(nullptr);
  int64_t prev = last.load();
  if (now - prev < 60 || !last.compare_exchange_strong(prev, now)) return;
  CollectCacheGarbage(dir_fd);
}

void TouchCacheEntry(int dir_fd, const std::string& name) {
  (void)utimensat(dir_fd, name.c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
}

CacheGcStats CollectCacheGarbage(int dir_fd, const CacheGcPolicy& policy) {
  CacheGcStats stats;
  int scan_fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (scan_fd < 0) return stats;
  DIR* d = fdopendir(scan_fd);
  if (d == nullptr) {
    close(scan_fd);
    return stats;
  }
  const time_t now = time(nullptr);
  std::vector<Unit> units;
  std::vector<std::string> locks;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    const bool unit = IsKeyName(name, ".o"), lock = IsKeyName(name, ".lock");
    if (!unit && !lock) continue;
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (unit) units.push_back({name, static_cast<uint64_t>(st.st_size), st.st_mtime});
    else if (now - st.st_mtime >= policy.lock_min_age.count()) locks.push_back(name);
  }
  closedir(d);  // closes scan_fd

  for (const std::string& name : locks)
    if (RemoveUnheldLock(dir_fd, name)) ++stats.locks_removed;

  // Least recently used first.
  std::sort(units.begin(), units.end(), [](const Unit& a, const Unit& b) {
    return a.used != b.used ? a.used < b.used : a.name < b.name;
  });
  uint64_t total = 0;
  for (const Unit& u : units) total += u.bytes;
  for (const Unit& u : units) {
    const time_t age = now - u.used;
    if (age < policy.unit_min_age.count()) break;  // this and all newer stay
    if (age < policy.unit_max_age.count() && total <= policy.unit_bytes_budget) break;
    if (unlinkat(dir_fd, u.name.c_str(), 0) == 0 || errno == ENOENT) {
      total -= u.bytes;
      ++stats.units_removed;
      stats.unit_bytes_removed += u.bytes;
    }
  }
  stats.unit_bytes_kept = total;
  return stats;
}

}  // namespace arcella::engine::aot
