// The AOT cache directory as a trusted store: opened safely, keyed, cleaned.
//
// A cache directory is used only if it is a real directory (not a symlink)
// owned by the effective uid and not group/other-writable; a missing one is
// created 0700. It holds a 32-byte secret `key` (random, 0600, created once
// with O_EXCL|O_NOFOLLOW), entries `<cache key>.so` that end with
// HMAC-SHA256(key, object bytes || cache key) + magic, and `.tmp-<pid>-<start>-*`
// compile folders. All access goes through the directory's descriptor, so a
// rename of a parent directory cannot redirect it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace arcella::engine::aot {

class CacheStore {
 public:
  static constexpr size_t kMacSize = 32;
  static constexpr size_t kMagicSize = 16;
  static constexpr size_t kFooterSize = kMacSize + kMagicSize;

  // Creates `path` (0700, parents 0700) if missing, checks owner and mode,
  // loads or creates the key and, the first time this process opens `path`,
  // removes compile folders of dead processes.
  // Errors name the path, its owner and its mode.
  static Result<std::unique_ptr<CacheStore>> Open(const std::string& path);
  ~CacheStore();
  CacheStore(const CacheStore&) = delete;
  CacheStore& operator=(const CacheStore&) = delete;

  const std::string& path() const { return path_; }
  int dir_fd() const { return dir_fd_; }

  // Reads entry `name` once (null result: missing). The caller verifies.
  Result<std::vector<uint8_t>> ReadEntry(const std::string& name) const;

  // Entry `name` copied by the kernel into a sealed, close-on-exec memory
  // file (no copy passes through this process's memory, and nobody can
  // change the file's bytes afterwards), then verified for `cache_key` by
  // reading that memory file: the bytes verified are the bytes any later
  // mapping of `fd` (dlopen, mmap) sees. `fd` -1: no such entry. An entry
  // that fails verification is an error naming why (the caller discards it).
  // The caller owns (closes) `fd`.
  struct SealedEntry {
    int fd = -1;
    uint64_t body = 0;  // bytes before the footer
  };
  Result<SealedEntry> OpenVerifiedEntry(const std::string& name,
                                        const std::string& cache_key) const;
  // Appends the footer for `cache_key` to `object`.
  void Seal(std::vector<uint8_t>* object, const std::string& cache_key) const;
  // True if `file` ends with a valid footer for `cache_key`; on success
  // `object_size` is the length of the object before the footer.
  bool Verify(std::span<const uint8_t> file, const std::string& cache_key,
              size_t* object_size) const;
  // Writes `bytes` to a temporary file and renames it to `name` (atomic).
  Status Publish(const std::string& name, std::span<const uint8_t> bytes) const;
  // Removes entry `name` if present (a rejected entry).
  void Discard(const std::string& name) const;

  // A fresh private compile folder `.tmp-<pid>-<start time>-<tag>-XXXXXX`;
  // returns its full path.
  Result<std::string> MakeTempDir(const std::string& tag) const;
  // Removes a compile folder (by full path) and its files.
  void RemoveTempDir(const std::string& full_path) const;
  // Removes compile folders whose creating process is gone; returns how many.
  int CleanStaleTempDirs() const;

 private:
  CacheStore(std::string path, int dir_fd) : path_(std::move(path)), dir_fd_(dir_fd) {}
  Status LoadOrCreateKey();
  std::array<uint8_t, kMacSize> Mac(std::span<const uint8_t> object,
                                    const std::string& cache_key) const;
  // The MAC of the first `body` bytes of `fd`, read in chunks.
  std::array<uint8_t, kMacSize> MacOfFile(int fd, uint64_t body,
                                          const std::string& cache_key) const;

  std::string path_;
  int dir_fd_;
  std::array<uint8_t, 32> key_{};
};

// Checks (and creates, 0700) a private directory: a directory, not a symlink,
// owned by the effective uid, not group/other-writable. Used for cache dirs.
Status EnsurePrivateDir(const std::string& path);

}  // namespace arcella::engine::aot
