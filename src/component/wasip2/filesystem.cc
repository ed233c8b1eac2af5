// wasi:filesystem@0.2.12 host functions over the shared capability layer
// (wasi/fs_ops.h). See filesystem.h for the permission rules and
// docs/WASI.md ("WASI 0.2 filesystem") for the error mapping.
#include "component/wasip2/filesystem.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <string>
#include <utility>

#include "component/reader.h"
#include "component/wasip2/filesystem_streams.h"
#include "component/wasip2/host.h"
#include "wasi/fs_ops.h"

namespace arcella::component {

using wasi::Errno;
using wasi::FdEntry;

uint32_t ErrorCodeOf(Errno err) {
  enum : uint32_t {
    kAccess = 0,
    kWouldBlock = 1,
    kBadDescriptor = 3,
    kBusy = 4,
    kQuota = 6,
    kExist = 7,
    kFileTooLarge = 8,
    kIllegalByteSequence = 9,
    kInterrupted = 11,
    kInvalid = 12,
    kIo = 13,
    kIsDirectory = 14,
    kLoop = 15,
    kTooManyLinks = 16,
    kNameTooLong = 18,
    kNoDevice = 19,
    kNoEntry = 20,
    kInsufficientMemory = 22,
    kInsufficientSpace = 23,
    kNotDirectory = 24,
    kNotEmpty = 25,
    kUnsupported = 27,
    kNoTty = 28,
    kNoSuchDevice = 29,
    kOverflow = 30,
    kNotPermitted = 31,
    kPipe = 32,
    kReadOnly = 33,
    kInvalidSeek = 34,
    kTextFileBusy = 35,
    kCrossDevice = 36,

  };
  switch (err) {
    case wasi::kAcces: return kAccess;
    case wasi::kAgain: return kWouldBlock;
    case wasi::kBadf: return kBadDescriptor;
    case wasi::kBusy: return kBusy;
    case wasi::kDquot: return kQuota;
    case wasi::kExist: return kExist;
    case wasi::kFbig: return kFileTooLarge;
    case wasi::kIlseq: return kIllegalByteSequence;
    case wasi::kIntr: return kInterrupted;
    case wasi::kIsdir: return kIsDirectory;
    case wasi::kLoop: return kLoop;
    case wasi::kMlink: return kTooManyLinks;
    case wasi::kNametoolong: return kNameTooLong;
    case wasi::kNodev: return kNoDevice;
    case wasi::kNoent: return kNoEntry;
    case wasi::kMfile:
    case wasi::kNfile:
    case wasi::kNomem: return kInsufficientMemory;
    case wasi::kNospc: return kInsufficientSpace;
    case wasi::kNotdir: return kNotDirectory;
    case wasi::kNotempty: return kNotEmpty;
    case wasi::kNosys:
    case wasi::kNotsock:
    case wasi::kNotsup: return kUnsupported;
    case wasi::kNotty: return kNoTty;
    case wasi::kNxio: return kNoSuchDevice;
    case wasi::kOverflow: return kOverflow;
    case wasi::kPerm:
    case wasi::kNotcapable: return kNotPermitted;
    case wasi::kPipe: return kPipe;
    case wasi::kRofs: return kReadOnly;
    case wasi::kSpipe: return kInvalidSeek;
    case wasi::kTxtbsy: return kTextFileBusy;
    case wasi::kXdev: return kCrossDevice;
    case wasi::k2Big:
    case wasi::kFault:
    case wasi::kInval:
    case wasi::kRange: return kInvalid;
    default: return kIo;
  }
}

namespace {

using State = std::shared_ptr<WasiP2State>;

constexpr std::string_view kTypesIface = "wasi:filesystem/types@0.2.12";
using Vals = std::vector<Val>;
using Ret = TrapOr<Vals>;

enum DescType : uint32_t {
  kUnknown = 0,
  kBlockDevice,
  kCharacterDevice,
  kDirectory,
  kFifo,
  kSymbolicLink,
  kRegularFile,
  kSocket,
};

DescType TypeOfMode(unsigned mode) {
  switch (mode & S_IFMT) {
    case S_IFBLK: return kBlockDevice;
    case S_IFCHR: return kCharacterDevice;
    case S_IFDIR: return kDirectory;
    case S_IFIFO: return kFifo;
    case S_IFLNK: return kSymbolicLink;
    case S_IFREG: return kRegularFile;
    case S_IFSOCK: return kSocket;
    default: return kUnknown;
  }
}

Val Err(Errno e) { return Val::ResultErr({Val::Enum(ErrorCodeOf(e))}); }
Val Ok() { return Val::ResultOk(); }
Val Ok(Val v) { return Val::ResultOk({std::move(v)}); }
Ret One(Val v) { return Vals{std::move(v)}; }

// A result<_, error-code> from an errno.
Ret Status0(Errno e) { return One(e ? Err(e) : Ok()); }

Val Datetime(const struct timespec& t) {
  if (t.tv_sec < 0) return Val::None();
  return Val::Some(Val::Record(
      {Val::U64(static_cast<uint64_t>(t.tv_sec)), Val::U32(static_cast<uint32_t>(t.tv_nsec))}));
}

Val StatVal(const struct stat& st) {
  return Val::Record({Val::Enum(TypeOfMode(st.st_mode)), Val::U64(st.st_nlink),
                      Val::U64(static_cast<uint64_t>(st.st_size)), Datetime(st.st_atim),
                      Datetime(st.st_mtim), Datetime(st.st_ctim)});
}

// new-timestamp -> timespec; false if the nanoseconds are out of range.
bool TimeOf(const Val& v, struct timespec* ts) {
  ts->tv_sec = 0;
  if (v.index == 0) {
    ts->tv_nsec = UTIME_OMIT;
  } else if (v.index == 1) {
    ts->tv_nsec = UTIME_NOW;
  } else {
    if (!v.has_payload() || v.payload().items.size() != 2) return false;
    uint64_t sec = v.payload().items[0].u, ns = v.payload().items[1].u;
    if (ns >= 1'000'000'000ull || sec > static_cast<uint64_t>(INT64_MAX)) return false;
    ts->tv_sec = static_cast<time_t>(sec);
    ts->tv_nsec = static_cast<long>(ns);
  }
  return true;
}

// A process-wide random key, so metadata hashes identify objects without
// revealing host device and inode numbers.
const uint64_t* HashKey() {
  static const auto* key = [] {
    static uint64_t k[2] = {0x9e3779b97f4a7c15ull, 0xbf58476d1ce4e5b9ull};
    uint64_t r[2];
    if (getrandom(r, sizeof r, 0) == static_cast<ssize_t>(sizeof r)) {
      k[0] ^= r[0];
      k[1] ^= r[1];
    }
    return k;
  }();
  return key;
}

uint64_t Mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

Val HashVal(const struct stat& st) {
  const uint64_t* k = HashKey();
  uint64_t dev = static_cast<uint64_t>(st.st_dev), ino = static_cast<uint64_t>(st.st_ino);
  uint64_t lo = Mix(Mix(dev ^ k[0]) ^ ino);
  uint64_t hi = Mix(Mix(ino ^ k[1]) ^ dev ^ lo);
  return Val::Record({Val::U64(lo), Val::U64(hi)});
}

const ResourceRef& DescriptorType() {
  static const ResourceRef t = WitResource(kTypesIface, "descriptor");
  return t;
}
const ResourceRef& DirStreamType() {
  static const ResourceRef t = WitResource(kTypesIface, "directory-entry-stream");
  return t;
}

bool IsFile(const Descriptor& d) { return d.entry.kind == FdEntry::Kind::kFile; }
bool IsDir(const Descriptor& d) { return d.entry.kind == FdEntry::Kind::kDir; }

// The error for a change the descriptor's flags do not allow.
Errno NoMutate(const Descriptor& d) { return d.entry.read_only ? wasi::kRofs : wasi::kPerm; }

// Directory descriptors that may change what is beneath them.
Errno CheckMutate(const Descriptor& d) {
  if (!IsDir(d)) return wasi::kNotdir;
  return (d.flags & dflag::kMutateDirectory) ? wasi::kSuccess : NoMutate(d);
}

// Files: reading needs `read`, writing `write` (bad-descriptor otherwise).
Errno CheckFile(const Descriptor& d, uint32_t flag) {
  if (IsDir(d)) return wasi::kIsdir;
  if (!IsFile(d)) return wasi::kBadf;
  if (d.flags & flag) return wasi::kSuccess;
  return (flag == dflag::kWrite && d.entry.read_only) ? wasi::kRofs : wasi::kBadf;
}

class Impl {
 public:
  explicit Impl(State st) : st_(std::move(st)) {}

  // The descriptor behind argument `i` (a borrow or own handle's rep).
  TrapOr<std::shared_ptr<Descriptor>> Desc(const Vals& a, size_t i) const {
    if (i >= a.size()) return WasiTrap("wasi:filesystem: missing descriptor argument");
    auto d = st_->descriptors.Get(static_cast<uint32_t>(a[i].u));
    if (!d) return WasiTrap("wasi:filesystem: unknown descriptor handle " + std::to_string(a[i].u));
    return d;
  }

  // An own<descriptor> for a new entry, or a trap when the table is full.
  TrapOr<Val> NewDescriptor(std::unique_ptr<FdEntry> e, uint32_t flags) {
    auto d = std::make_shared<Descriptor>();
    d->entry = std::move(*e);
    d->flags = flags;
    uint32_t rep = st_->descriptors.Insert(std::move(d));
    if (!rep) return WasiTrap("wasi:filesystem: too many open descriptors");
    return Val::Own(DescriptorType(), rep);
  }

  Ret ReadViaStream(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    if (Errno e = CheckFile(*d.value(), dflag::kRead)) return One(Err(e));
    auto s = OwnInputStream(*st_,
                            MakeFileInputStream(d.value(), a[1].u, st_->config().interrupted));
    if (!s.ok()) return s.trap();
    return One(Ok(std::move(s.value())));
  }

  Ret WriteViaStream(const Vals& a, bool append) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    if (Errno e = CheckFile(*d.value(), dflag::kWrite)) return One(Err(e));
    auto s = OwnOutputStream(*st_, MakeFileOutputStream(d.value(), append ? 0 : a[1].u, append,
                                                        st_->config().interrupted));
    if (!s.ok()) return s.trap();
    return One(Ok(std::move(s.value())));
  }

  Ret Advise(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    return Status0(wasi::Advise(d.value()->entry, a[1].u, a[2].u, a[3].index));
  }

  Ret Sync(const Vals& a, bool data_only) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    return Status0(wasi::Sync(d.value()->entry, data_only));
  }

  Ret GetFlags(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    return One(Ok(Val::Flags(d.value()->flags)));
  }

  Ret GetType(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    struct stat st;
    if (Errno e = wasi::StatFd(d.value()->entry, &st)) return One(Err(e));
    return One(Ok(Val::Enum(TypeOfMode(st.st_mode))));
  }

  Ret SetSize(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    if (Errno e = CheckFile(*d.value(), dflag::kWrite)) return One(Err(e));
    return Status0(wasi::SetSize(d.value()->entry, a[1].u));
  }

  Ret SetTimes(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    const Descriptor& dd = *d.value();
    Errno e = IsDir(dd) ? CheckMutate(dd) : CheckFile(dd, dflag::kWrite);
    if (e) return One(Err(e));
    struct timespec ts[2];
    if (!TimeOf(a[1], &ts[0]) || !TimeOf(a[2], &ts[1])) return One(Err(wasi::kInval));
    return Status0(wasi::SetTimes(dd.entry, ts));
  }

  Ret Read(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    if (Errno e = CheckFile(*d.value(), dflag::kRead)) return One(Err(e));
    uint64_t len = a[1].u, off = a[2].u;
    if (off > static_cast<uint64_t>(INT64_MAX)) return One(Err(wasi::kInval));
    // A list<u8> is one Val per byte on its way to the guest: keep calls small
    // (a short read is legal; the guest asks again).
    constexpr uint64_t kMaxRead = kMaxStreamChunk;
    std::string buf(static_cast<size_t>(std::min(len, kMaxRead)), '\0');
    ssize_t r;
    do {
      r = pread(d.value()->entry.host_fd(), buf.data(), buf.size(), static_cast<off_t>(off));
    } while (r < 0 && errno == EINTR);
    if (r < 0) return One(Err(wasi::FromHostErrno(errno)));
    buf.resize(static_cast<size_t>(r));
    // End of file: fewer bytes than asked for (and not only because of the cap).
    bool eof = static_cast<uint64_t>(r) < std::min(len, kMaxRead);
    Vals bytes;
    bytes.reserve(buf.size());
    for (char c : buf) bytes.push_back(Val::U8(static_cast<uint8_t>(c)));
    return One(Ok(Val::Tuple({Val::List(std::move(bytes)), Val::Bool(eof)})));
  }

  Ret Write(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    if (Errno e = CheckFile(*d.value(), dflag::kWrite)) return One(Err(e));
    uint64_t off = a[2].u;
    if (off > static_cast<uint64_t>(INT64_MAX)) return One(Err(wasi::kInval));
    std::string buf;
    buf.reserve(a[1].items.size());
    for (const Val& b : a[1].items) buf.push_back(static_cast<char>(b.u));
    ssize_t r;
    do {
      r = pwrite(d.value()->entry.host_fd(), buf.data(), buf.size(), static_cast<off_t>(off));
    } while (r < 0 && errno == EINTR);
    if (r < 0) return One(Err(wasi::FromHostErrno(errno)));
    return One(Ok(Val::U64(static_cast<uint64_t>(r))));
  }

  Ret ReadDirectory(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    if (!IsDir(*d.value())) return One(Err(wasi::kNotdir));
    if (!(d.value()->flags & dflag::kRead)) return One(Err(wasi::kBadf));
    auto s = std::make_shared<DirEntryStream>();
    if (Errno e = wasi::ListDirectory(d.value()->entry, &s->entries)) return One(Err(e));
    std::erase_if(s->entries,
                  [](const wasi::DirEntryInfo& i) { return i.name == "." || i.name == ".."; });
    uint32_t rep = st_->dir_streams.Insert(std::move(s));
    if (!rep) return WasiTrap("wasi:filesystem: too many open directory-entry-streams");
    return One(Ok(Val::Own(DirStreamType(), rep)));
  }

  Ret ReadDirectoryEntry(const Vals& a) {
    auto s = st_->dir_streams.Get(static_cast<uint32_t>(a[0].u));
    if (!s) return WasiTrap("wasi:filesystem: unknown directory-entry-stream handle");
    if (s->next >= s->entries.size()) return One(Ok(Val::None()));
    const wasi::DirEntryInfo& e = s->entries[s->next++];
    if (!decoding::IsValidUtf8(e.name)) return One(Err(wasi::kIlseq));
    return One(
        Ok(Val::Some(Val::Record({Val::Enum(TypeOfMode(e.host_type)), Val::String(e.name)}))));
  }

  Ret CreateDirectoryAt(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    if (Errno e = CheckMutate(*d.value())) return One(Err(e));
    return Status0(wasi::CreateDirectoryAt(d.value()->entry, a[1].str));
  }

  Ret Stat(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    struct stat st;
    if (Errno e = wasi::StatFd(d.value()->entry, &st)) return One(Err(e));
    return One(Ok(StatVal(st)));
  }

  Ret StatAt(const Vals& a, bool hash) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    struct stat st;
    if (Errno e = wasi::StatAt(d.value()->entry, a[2].str, a[1].u & 1, &st)) return One(Err(e));
    return One(Ok(hash ? HashVal(st) : StatVal(st)));
  }

  Ret SetTimesAt(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    if (Errno e = CheckMutate(*d.value())) return One(Err(e));
    struct timespec ts[2];
    if (!TimeOf(a[3], &ts[0]) || !TimeOf(a[4], &ts[1])) return One(Err(wasi::kInval));
    return Status0(wasi::SetTimesAt(d.value()->entry, a[2].str, a[1].u & 1, ts));
  }

  Ret LinkAt(const Vals& a) {
    auto from = Desc(a, 0);
    if (!from.ok()) return from.trap();
    auto to = Desc(a, 3);
    if (!to.ok()) return to.trap();
    if (Errno e = CheckMutate(*from.value())) return One(Err(e));
    if (Errno e = CheckMutate(*to.value())) return One(Err(e));
    return Status0(
        wasi::LinkAt(from.value()->entry, a[2].str, a[1].u & 1, to.value()->entry, a[4].str));
  }

  Ret OpenAt(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    const Descriptor& dir = *d.value();
    uint64_t oflags = a[3].u;
    uint32_t want = static_cast<uint32_t>(a[4].u);
    wasi::OpenFlags f;
    f.follow = a[1].u & 1;
    f.create = oflags & 1;
    f.directory = oflags & 2;
    f.exclusive = oflags & 4;
    f.truncate = oflags & 8;
    f.read = want & dflag::kRead;
    f.write = want & dflag::kWrite;
    f.sync = want & dflag::kFileIntegritySync;
    f.dsync = want & dflag::kDataIntegritySync;
    f.rsync = want & dflag::kRequestedWriteSync;
    if (!IsDir(dir)) return One(Err(wasi::kNotdir));
    if (f.directory && (f.create || f.exclusive || f.truncate)) return One(Err(wasi::kInval));
    // A child never gets more than its parent: changes need mutate-directory.
    bool mutates = f.write || f.create || f.truncate || (want & dflag::kMutateDirectory);
    if (mutates && !(dir.flags & dflag::kMutateDirectory)) return One(Err(NoMutate(dir)));
    if (f.directory && f.write) return One(Err(wasi::kIsdir));
    if (st_->descriptors.size() >= ResourceTable<Descriptor>::kMaxEntries)
      return One(Err(wasi::kMfile));

    std::unique_ptr<FdEntry> e;
    if (Errno err = wasi::OpenAt(dir.entry, a[2].str, f, &e)) return One(Err(err));
    uint32_t granted = want & (dflag::kRead | dflag::kWrite | dflag::kFileIntegritySync |
                               dflag::kDataIntegritySync | dflag::kRequestedWriteSync);
    if (e->kind == FdEntry::Kind::kDir) {
      // A directory inherits its parent's read and mutate-directory, as in
      // wasmtime: the preview-1 adapter never asks for mutate-directory, so
      // mkdirat/unlinkat/renameat on a directory fd would fail otherwise.
      granted = (want & dflag::kRead) | (dir.flags & (dflag::kRead | dflag::kMutateDirectory));
      if (e->read_only) granted &= ~dflag::kMutateDirectory;
    }
    auto v = NewDescriptor(std::move(e), granted);
    if (!v.ok()) return v.trap();
    return One(Ok(std::move(v.value())));
  }

  Ret ReadlinkAt(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    std::string target;
    if (Errno e = wasi::ReadlinkAt(d.value()->entry, a[1].str, &target)) return One(Err(e));
    if (!decoding::IsValidUtf8(target)) return One(Err(wasi::kIlseq));
    return One(Ok(Val::String(std::move(target))));
  }

  Ret PathOp(const Vals& a, Errno (*op)(const FdEntry&, std::string_view)) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    if (Errno e = CheckMutate(*d.value())) return One(Err(e));
    return Status0(op(d.value()->entry, a[1].str));
  }

  Ret RenameAt(const Vals& a) {
    auto from = Desc(a, 0);
    if (!from.ok()) return from.trap();
    auto to = Desc(a, 2);
    if (!to.ok()) return to.trap();
    if (Errno e = CheckMutate(*from.value())) return One(Err(e));
    if (Errno e = CheckMutate(*to.value())) return One(Err(e));
    return Status0(wasi::RenameAt(from.value()->entry, a[1].str, to.value()->entry, a[3].str));
  }

  Ret SymlinkAt(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    if (Errno e = CheckMutate(*d.value())) return One(Err(e));
    return Status0(wasi::SymlinkAt(a[1].str, d.value()->entry, a[2].str));
  }

  Ret IsSameObject(const Vals& a) {
    auto x = Desc(a, 0);
    if (!x.ok()) return x.trap();
    auto y = Desc(a, 1);
    if (!y.ok()) return y.trap();
    struct stat s1, s2;
    bool same = wasi::StatFd(x.value()->entry, &s1) == wasi::kSuccess &&
                wasi::StatFd(y.value()->entry, &s2) == wasi::kSuccess && s1.st_dev == s2.st_dev &&
                s1.st_ino == s2.st_ino;
    return One(Val::Bool(same));
  }

  Ret MetadataHash(const Vals& a) {
    auto d = Desc(a, 0);
    if (!d.ok()) return d.trap();
    struct stat st;
    if (Errno e = wasi::StatFd(d.value()->entry, &st)) return One(Err(e));
    return One(Ok(HashVal(st)));
  }

  Ret FilesystemErrorCode(const Vals& a) {
    auto e = st_->errors.Get(static_cast<uint32_t>(a[0].u));
    if (!e) return WasiTrap("wasi:filesystem: unknown error handle " + std::to_string(a[0].u));
    if (e->host_errno == 0) return One(Val::None());
    return One(Val::Some(Val::Enum(ErrorCodeOf(wasi::FromHostErrno(e->host_errno)))));
  }

  Ret GetDirectories() {
    wasi::WasiState& p1 = st_->p1().state();
    Vals out;
    const uint32_t n = static_cast<uint32_t>(st_->config().preopens.size());
    for (uint32_t fd = 3; fd < 3 + n; ++fd) {
      FdEntry* pre = p1.Get(fd);
      if (!pre || !pre->preopen_name) continue;
      int dup = fcntl(pre->host_fd(), F_DUPFD_CLOEXEC, 0);
      if (dup < 0) return WasiTrap("wasi:filesystem: cannot duplicate a preopen");
      auto e = std::make_unique<FdEntry>();
      e->kind = FdEntry::Kind::kDir;
      e->fd = wasi::UniqueFd(dup);
      e->filetype = wasi::kFtDirectory;
      e->read_only = pre->read_only;
      uint32_t flags = dflag::kRead | (pre->read_only ? 0 : dflag::kMutateDirectory);
      auto v = NewDescriptor(std::move(e), flags);
      if (!v.ok()) return v.trap();
      out.push_back(Val::Tuple({std::move(v.value()), Val::String(*pre->preopen_name)}));
    }
    return One(Val::List(std::move(out)));
  }

 private:
  State st_;
};

}  // namespace

HostImpls FilesystemTypesImpls(State state) {
  auto im = std::make_shared<Impl>(std::move(state));
  HostImpls v;
  auto add = [&](const char* name, auto fn) {
    v.emplace_back(name, [im, fn](Vals a) -> Ret { return fn(*im, a); });
  };
  const std::string m = "[method]descriptor.";
  auto meth = [&](const char* name, auto fn) { add((m + name).c_str(), fn); };
  meth("read-via-stream", [](Impl& i, const Vals& a) { return i.ReadViaStream(a); });
  meth("write-via-stream", [](Impl& i, const Vals& a) { return i.WriteViaStream(a, false); });
  meth("append-via-stream", [](Impl& i, const Vals& a) { return i.WriteViaStream(a, true); });
  meth("advise", [](Impl& i, const Vals& a) { return i.Advise(a); });
  meth("sync-data", [](Impl& i, const Vals& a) { return i.Sync(a, true); });
  meth("get-flags", [](Impl& i, const Vals& a) { return i.GetFlags(a); });
  meth("get-type", [](Impl& i, const Vals& a) { return i.GetType(a); });
  meth("set-size", [](Impl& i, const Vals& a) { return i.SetSize(a); });
  meth("set-times", [](Impl& i, const Vals& a) { return i.SetTimes(a); });
  meth("read", [](Impl& i, const Vals& a) { return i.Read(a); });
  meth("write", [](Impl& i, const Vals& a) { return i.Write(a); });
  meth("read-directory", [](Impl& i, const Vals& a) { return i.ReadDirectory(a); });
  meth("sync", [](Impl& i, const Vals& a) { return i.Sync(a, false); });
  meth("create-directory-at", [](Impl& i, const Vals& a) { return i.CreateDirectoryAt(a); });
  meth("stat", [](Impl& i, const Vals& a) { return i.Stat(a); });
  meth("stat-at", [](Impl& i, const Vals& a) { return i.StatAt(a, false); });
  meth("set-times-at", [](Impl& i, const Vals& a) { return i.SetTimesAt(a); });
  meth("link-at", [](Impl& i, const Vals& a) { return i.LinkAt(a); });
  meth("open-at", [](Impl& i, const Vals& a) { return i.OpenAt(a); });
  meth("readlink-at", [](Impl& i, const Vals& a) { return i.ReadlinkAt(a); });
  meth("remove-directory-at",
       [](Impl& i, const Vals& a) { return i.PathOp(a, wasi::RemoveDirectoryAt); });
  meth("rename-at", [](Impl& i, const Vals& a) { return i.RenameAt(a); });
  meth("symlink-at", [](Impl& i, const Vals& a) { return i.SymlinkAt(a); });
  meth("unlink-file-at", [](Impl& i, const Vals& a) { return i.PathOp(a, wasi::UnlinkFileAt); });
  meth("is-same-object", [](Impl& i, const Vals& a) { return i.IsSameObject(a); });
  meth("metadata-hash", [](Impl& i, const Vals& a) { return i.MetadataHash(a); });
  meth("metadata-hash-at", [](Impl& i, const Vals& a) { return i.StatAt(a, true); });
  add("[method]directory-entry-stream.read-directory-entry",
      [](Impl& i, const Vals& a) { return i.ReadDirectoryEntry(a); });
  add("filesystem-error-code", [](Impl& i, const Vals& a) { return i.FilesystemErrorCode(a); });
  return v;
}

HostImpls FilesystemPreopensImpls(State state) {
  auto im = std::make_shared<Impl>(std::move(state));
  HostImpls v;
  v.emplace_back("get-directories", [im](Vals) -> Ret { return im->GetDirectories(); });
  return v;
}

}  // namespace arcella::component
