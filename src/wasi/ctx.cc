// WasiCtx creation, the descriptor table, and host errno mapping.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/open_dir.h"
#include "wasi/blocking.h"
#include "wasi/state.h"

namespace arcella::wasi {

Errno FromHostErrno(int e) {
  switch (e) {
    case 0: return kSuccess;
    case E2BIG: return k2Big;
    case EACCES: return kAcces;
    case EAGAIN: return kAgain;
    case EBADF: return kBadf;
    case EBUSY: return kBusy;
    case EEXIST: return kExist;
    case EFAULT: return kFault;
    case EFBIG: return kFbig;
    case EILSEQ: return kIlseq;
    case EINTR: return kIntr;
    case EINVAL: return kInval;
    case EIO: return kIo;
    case EISDIR: return kIsdir;
    case ELOOP: return kLoop;
    case EMFILE: return kMfile;
    case EMLINK: return kMlink;
    case ENAMETOOLONG: return kNametoolong;
    case ENFILE: return kNfile;
    case ENODEV: return kNodev;
    case ENOENT: return kNoent;
    case ENOMEM: return kNomem;
    case ENOSPC: return kNospc;
    case ENOSYS: return kNosys;
    case ENOTDIR: return kNotdir;
    case ENOTEMPTY: return kNotempty;
    case ENOTSOCK: return kNotsock;
    case EOPNOTSUPP: return kNotsup;
    case ENOTTY: return kNotty;
    case ENXIO: return kNxio;
    case EOVERFLOW: return kOverflow;
    case EPERM: return kPerm;
    case EPIPE: return kPipe;
    case ERANGE: return kRange;
    case EROFS: return kRofs;
    case ESPIPE: return kSpipe;
    case ETIMEDOUT: return kTimedout;
    case ETXTBSY: return kTxtbsy;
    case EXDEV: return kXdev;
    case EDQUOT: return kDquot;
    default: return kIo;
  }
}

Errno RightsErrno(const FdEntry& e, uint64_t missing) {
  if (e.read_only && (missing & right::kWriting)) return kRofs;
  return kNotcapable;
}

FdEntry* WasiState::Get(uint32_t fd) {
  auto it = fds_.find(fd);
  return it == fds_.end() ? nullptr : it->second.get();
}

FdEntry* WasiState::GetWithRights(uint32_t fd, uint64_t rights, Errno* err) {
  FdEntry* e = Get(fd);
  if (!e) {
    *err = kBadf;
    return nullptr;
  }
  uint64_t missing = rights & ~e->rights_base;
  if (missing) {
    *err = RightsErrno(*e, missing);
    return nullptr;
  }
  *err = kSuccess;
  return e;
}

uint32_t WasiState::Insert(std::unique_ptr<FdEntry> entry) {
  uint32_t fd = 0;
  for (auto& [k, v] : fds_) {
    if (k != fd) break;
    ++fd;
  }
  fds_[fd] = std::move(entry);
  return fd;
}

bool WasiState::Close(uint32_t fd) { return fds_.erase(fd) > 0; }

std::unique_ptr<FdEntry> WasiState::Take(uint32_t fd) {
  auto it = fds_.find(fd);
  if (it == fds_.end()) return nullptr;
  auto e = std::move(it->second);
  fds_.erase(it);
  return e;
}

namespace {

FileType HostFileType(int fd) {
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return kFtCharDevice;
  if (S_ISREG(st.st_mode)) return kFtRegularFile;
  if (S_ISDIR(st.st_mode)) return kFtDirectory;
  if (S_ISSOCK(st.st_mode)) return kFtSocketStream;
  if (S_ISBLK(st.st_mode)) return kFtBlockDevice;
  if (S_ISCHR(st.st_mode)) return kFtCharDevice;
  return kFtUnknown;  // pipes, FIFOs
}

std::unique_ptr<FdEntry> Stdio(FdEntry::Kind kind, int host_fd, uint64_t rights) {
  auto e = std::make_unique<FdEntry>();
  e->kind = kind;
  e->stdio_fd = host_fd;
  e->filetype = host_fd >= 0 ? HostFileType(host_fd) : kFtCharDevice;
  e->may_block = FdMayBlock(host_fd);
  e->rights_base = rights | right::kPollFdReadwrite | right::kFdFilestatGet;
  return e;
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }

}  // namespace

WasiCtx::WasiCtx(std::unique_ptr<WasiState> state) : state_(std::move(state)) {}
WasiCtx::~WasiCtx() = default;

std::optional<int32_t> WasiCtx::exit_code() const { return state_->exit_code; }

Result<std::shared_ptr<WasiCtx>> WasiCtx::Create(WasiConfig config) {
  for (const auto& a : config.args)
    if (HasNul(a)) return Status::InvalidArgument("WASI argument contains a NUL byte");
  for (const auto& [k, v] : config.env) {
    if (k.empty() || k.find('=') != std::string::npos || HasNul(k) || HasNul(v))
      return Status::InvalidArgument("invalid WASI environment variable name '" + k + "'");
  }
  if (config.clock_granularity_ns == 0) config.clock_granularity_ns = 1;

  auto state = std::make_unique<WasiState>(config);
  if (config.stdin_data) state->stdin_data() = *config.stdin_data;
  int in_fd = config.stdin_data ? -1 : config.stdin_fd;
  int out_fd = config.stdout_stream.sink ? -1 : config.stdout_stream.host_fd;
  int err_fd = config.stderr_stream.sink ? -1 : config.stderr_stream.host_fd;
  state->Set(0, Stdio(FdEntry::Kind::kStdin, in_fd, right::kFdRead));
  state->Set(1, Stdio(FdEntry::Kind::kStdout, out_fd, right::kFdWrite));
  state->Set(2, Stdio(FdEntry::Kind::kStderr, err_fd, right::kFdWrite));

  for (const auto& p : config.preopens) {
    if (p.guest_path.empty() || HasNul(p.guest_path))
      return Status::InvalidArgument("preopen '" + p.host_path + "' needs a guest path");
    int fd = -1;
    if (p.host_fd >= 0) {
      // O_PATH descriptors cannot be duplicated into readable ones: reopen
      // "." beneath it (no path walk, so no symlink can interfere).
      fd = openat(p.host_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else if (p.no_symlinks) {
      fd = OpenDirNoSymlinks(p.host_path, O_RDONLY).release();
      if (fd < 0 && errno == ENOSYS)  // kernels before 5.6
        fd = open(p.host_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (fd < 0 && errno == ELOOP)
        return Status::FailedPrecondition("preopen '" + p.host_path +
                                          "': a component of the path became a symlink after "
                                          "the grant was checked; refused");
    } else {
      fd = open(p.host_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (fd < 0) {
      int e = errno;
      std::string msg = "preopen '" + p.host_path + "': " + strerror(e);
      return e == ENOENT ? Status::NotFound(msg) : Status::IoError(msg);
    }
    auto e = std::make_unique<FdEntry>();
    e->kind = FdEntry::Kind::kDir;
    e->fd = UniqueFd(fd);
    e->filetype = kFtDirectory;
    e->read_only = p.read_only;
    uint64_t dir = right::kDir, inh = right::kAll;
    if (p.read_only) {
      dir &= ~right::kWriting;
      inh = right::kReadOnlyInheriting;
    }
    e->rights_base = dir;
    e->rights_inheriting = inh;
    e->preopen_name = p.guest_path;
    state->Insert(std::move(e));
  }
  return std::shared_ptr<WasiCtx>(new WasiCtx(std::move(state)));
}

}  // namespace arcella::wasi
