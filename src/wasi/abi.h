// The wasi_snapshot_preview1 ABI: errno values, flag bits, struct layouts,
// and bounds-checked access to guest memory. Internal to src/wasi.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace arcella::wasi {

// errno (u16). Only the values this implementation returns are named.
enum Errno : uint32_t {
  kSuccess = 0,
  k2Big = 1,
  kAcces = 2,
  kAgain = 6,
  kBadf = 8,
  kBusy = 10,
  kDquot = 19,
  kExist = 20,
  kFault = 21,
  kFbig = 22,
  kIlseq = 25,
  kIntr = 27,
  kInval = 28,
  kIo = 29,
  kIsdir = 31,
  kLoop = 32,
  kMfile = 33,
  kMlink = 34,
  kNametoolong = 37,
  kNfile = 41,
  kNodev = 43,
  kNoent = 44,
  kNomem = 48,
  kNospc = 51,
  kNosys = 52,
  kNotdir = 54,
  kNotempty = 55,
  kNotsock = 57,
  kNotsup = 58,
  kNotty = 59,
  kNxio = 60,
  kOverflow = 61,
  kPerm = 63,
  kPipe = 64,
  kRange = 68,
  kRofs = 69,
  kSpipe = 70,
  kTimedout = 73,
  kTxtbsy = 74,
  kXdev = 75,
  kNotcapable = 76,
};

// Host errno -> WASI errno.
Errno FromHostErrno(int host_errno);

// filetype (u8)
enum FileType : uint8_t {
  kFtUnknown = 0,
  kFtBlockDevice = 1,
  kFtCharDevice = 2,
  kFtDirectory = 3,
  kFtRegularFile = 4,
  kFtSocketDgram = 5,
  kFtSocketStream = 6,
  kFtSymlink = 7,
};

// rights (u64)
namespace right {
constexpr uint64_t kFdDatasync = 1ull << 0, kFdRead = 1ull << 1, kFdSeek = 1ull << 2,
                   kFdFdstatSetFlags = 1ull << 3, kFdSync = 1ull << 4, kFdTell = 1ull << 5,
                   kFdWrite = 1ull << 6, kFdAdvise = 1ull << 7, kFdAllocate = 1ull << 8,
                   kPathCreateDirectory = 1ull << 9, kPathCreateFile = 1ull << 10,
                   kPathLinkSource = 1ull << 11, kPathLinkTarget = 1ull << 12,
                   kPathOpen = 1ull << 13, kFdReaddir = 1ull << 14, kPathReadlink = 1ull << 15,
                   kPathRenameSource = 1ull << 16, kPathRenameTarget = 1ull << 17,
                   kPathFilestatGet = 1ull << 18, kPathFilestatSetSize = 1ull << 19,
                   kPathFilestatSetTimes = 1ull << 20, kFdFilestatGet = 1ull << 21,
                   kFdFilestatSetSize = 1ull << 22, kFdFilestatSetTimes = 1ull << 23,
                   kPathSymlink = 1ull << 24, kPathRemoveDirectory = 1ull << 25,
                   kPathUnlinkFile = 1ull << 26, kPollFdReadwrite = 1ull << 27,
                   kSockShutdown = 1ull << 28, kSockAccept = 1ull << 29;
constexpr uint64_t kAll = (1ull << 30) - 1;
// Rights that modify something; absent on read-only preopens and their files.
constexpr uint64_t kWriting = kFdFdstatSetFlags | kFdWrite | kFdAllocate | kPathCreateDirectory |
                              kPathCreateFile | kPathLinkSource | kPathLinkTarget |
                              kPathRenameSource | kPathRenameTarget | kPathFilestatSetSize |
                              kPathFilestatSetTimes | kFdFilestatSetSize | kFdFilestatSetTimes |
                              kPathSymlink | kPathRemoveDirectory | kPathUnlinkFile;
// Rights that ask path_open for write access.
constexpr uint64_t kOpenForWrite = kFdWrite | kFdAllocate | kFdFilestatSetSize;
// Inheriting rights of a read-only directory: no writing rights, except the
// write-access bits, kept so that libc asks for them and path_open can
// answer EROFS at open time, like a read-only mount.
constexpr uint64_t kReadOnlyInheriting = (kAll & ~kWriting) | kOpenForWrite;
// Rights meaningful on a regular file / on a directory.
constexpr uint64_t kFile = kFdDatasync | kFdRead | kFdSeek | kFdFdstatSetFlags | kFdSync | kFdTell |
                           kFdWrite | kFdAdvise | kFdAllocate | kFdFilestatGet |
                           kFdFilestatSetSize | kFdFilestatSetTimes | kPollFdReadwrite;
constexpr uint64_t kDir = kFdFdstatSetFlags | kFdSync | kFdDatasync | kPathCreateDirectory |
                          kPathCreateFile | kPathLinkSource | kPathLinkTarget | kPathOpen |
                          kFdReaddir | kPathReadlink | kPathRenameSource | kPathRenameTarget |
                          kPathFilestatGet | kPathFilestatSetSize | kPathFilestatSetTimes |
                          kFdFilestatGet | kFdFilestatSetTimes | kPathSymlink |
                          kPathRemoveDirectory | kPathUnlinkFile;
}  // namespace right

// fdflags (u16), oflags (u16), lookupflags (u32), fstflags (u16)
constexpr uint16_t kFdflagAppend = 1, kFdflagDsync = 2, kFdflagNonblock = 4, kFdflagRsync = 8,
                   kFdflagSync = 16;
constexpr uint16_t kOflagCreat = 1, kOflagDirectory = 2, kOflagExcl = 4, kOflagTrunc = 8;
constexpr uint32_t kLookupSymlinkFollow = 1;
constexpr uint16_t kFstAtim = 1, kFstAtimNow = 2, kFstMtim = 4, kFstMtimNow = 8;
enum Whence : uint8_t { kWhenceSet = 0, kWhenceCur = 1, kWhenceEnd = 2 };
enum ClockId : uint32_t {
  kClockRealtime = 0,
  kClockMonotonic = 1,
  kClockProcessCpu = 2,
  kClockThreadCpu = 3
};
enum EventType : uint8_t { kEventClock = 0, kEventFdRead = 1, kEventFdWrite = 2 };
constexpr uint16_t kSubclockAbstime = 1;
constexpr uint16_t kEventRwHangup = 1;

// Struct sizes (all little-endian, offsets in the writers below).
constexpr uint32_t kFdstatSize = 24, kFilestatSize = 64, kPrestatSize = 8, kDirentSize = 24,
                   kEventSize = 32, kSubscriptionSize = 48, kIovecSize = 8;

// Bounds-checked view of guest linear memory. Every accessor validates the
// whole range first; a bad pointer yields kFault, never a host fault.
class GuestMem {
 public:
  explicit GuestMem(std::span<uint8_t> mem) : mem_(mem) {}
  bool Ok(uint64_t ptr, uint64_t len) const {
    return ptr <= mem_.size() && len <= mem_.size() - ptr;
  }
  uint8_t* At(uint64_t ptr) { return mem_.data() + ptr; }
  size_t size() const { return mem_.size(); }

  template <typename T>
  bool Load(uint32_t ptr, T* out) const {
    if (!Ok(ptr, sizeof(T))) return false;
    std::memcpy(out, mem_.data() + ptr, sizeof(T));
    return true;
  }
  template <typename T>
  bool Store(uint32_t ptr, T v) {
    if (!Ok(ptr, sizeof(T))) return false;
    std::memcpy(mem_.data() + ptr, &v, sizeof(T));
    return true;
  }
  bool Write(uint32_t ptr, const void* data, size_t len) {
    if (!Ok(ptr, len)) return false;
    if (len) std::memcpy(mem_.data() + ptr, data, len);
    return true;
  }
  // A guest string (ptr, len) as a view into memory; false if out of bounds.
  bool Str(uint32_t ptr, uint32_t len, std::string_view* out) const {
    if (!Ok(ptr, len)) return false;
    *out = std::string_view(reinterpret_cast<const char*>(mem_.data()) + ptr, len);
    return true;
  }

 private:
  std::span<uint8_t> mem_;
};

}  // namespace arcella::wasi
