// Bounded reading of files named by users, hot-deploy files and
// configuration: only regular files, only up to a cap, never blocking.
//
// The file is opened with O_RDONLY|O_CLOEXEC|O_NONBLOCK (a FIFO cannot block
// the caller), its type is checked with fstat on the opened descriptor (so
// a symlink or rename between a check and the read changes nothing), and
// anything but a regular file is refused before a byte is read:
//   "/dev/zero is a character device, not a regular file"
// A file larger than `max_bytes` is refused by its size; a file that grows
// while being read is cut at max_bytes + 1 and refused, so memory stays
// bounded by the cap whatever the file does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace arcella::platform {

struct FileReadLimit {
  uint64_t max_bytes = 0;
  // Names the limit in messages, e.g. "limits.max_module_bytes".
  std::string name;
};

// "a directory", "a FIFO (named pipe)", "a character device", ...
const char* FileTypeName(unsigned mode);

// InvalidArgument for a file of the wrong type or size (naming the path,
// the type or the size and the cap); NotFound / IoError for the OS.
Result<std::vector<uint8_t>> ReadRegularFile(const std::string& path, const FileReadLimit& limit);
Result<std::string> ReadRegularFileText(const std::string& path, const FileReadLimit& limit);

// True when some process has `path` open for writing (a copy in progress).
// Uses a read lease, which the kernel grants only when no writer exists;
// returns false when that cannot be determined (not the file's owner and no
// CAP_LEASE, or a file system without leases).
bool OpenForWritingElsewhere(const std::string& path);

}  // namespace arcella::platform
