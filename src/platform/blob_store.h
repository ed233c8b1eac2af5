// Content-addressed module binaries: <dir>/<sha256>.wasm.
//
// Put writes a temp file (<dir>/.tmp-*), fsyncs it, renames it into place
// and fsyncs the directory, so a crash leaves either the whole blob or
// nothing; Open removes stale temp files. Get re-hashes and reports
// Corruption on mismatch. Thread-safe (the file system is the only state).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/status.h"

namespace arcella::platform {

class BlobStore {
 public:
  // Creates `dir` (0700) if missing and removes leftover temp files.
  static Result<BlobStore> Open(const std::string& dir);

  // Stores `data`; returns its sha256 hex. Idempotent for equal content.
  Result<std::string> Put(std::span<const uint8_t> data);
  // Reads and verifies the blob (NotFound, Corruption).
  Result<std::vector<uint8_t>> Get(const std::string& hash) const;
  bool Contains(const std::string& hash) const;
  // Removes the blob (call when no module references it). NotFound if absent.
  Status Remove(const std::string& hash);
  // Hashes of all stored blobs.
  Result<std::vector<std::string>> List() const;

  std::string PathOf(const std::string& hash) const { return dir_ + "/" + hash + ".wasm"; }
  const std::string& dir() const { return dir_; }
  // Temp files removed by Open (for logs and tests).
  int cleaned_temp_files() const { return cleaned_; }

 private:
  explicit BlobStore(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  int cleaned_ = 0;
};

}  // namespace arcella::platform
