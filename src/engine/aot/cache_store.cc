#include "engine/aot/cache_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>
#include <sstream>

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U  // Linux >= 6.3: the memfd may be mapped executable
#endif

namespace arcella::engine::aot {
namespace {

constexpr char kMagic[CacheStore::kMagicSize] = {'A', 'R', 'C', 'E', 'L', 'L', 'A', '-',
                                                 'A', 'O', 'T', '-', 'M', 'A', 'C', '2'};
constexpr char kKeyFile[] = "key";
constexpr char kTempPrefix[] = ".tmp-";
constexpr size_t kMaxEntry = size_t{1} << 31;  // 2 GiB: far above any generated object
// Compile folders in the old format (no pid) are removed once this old.
constexpr time_t kOldTempAge = 3600;

std::string Errno(int e) { return strerror(e); }

std::string Octal(mode_t m) {
  char b[8];
  snprintf(b, sizeof b, "%04o", static_cast<unsigned>(m & 07777));
  return b;
}

std::string UserName(uid_t uid) {
  std::string s = "uid " + std::to_string(uid);
  char buf[1024];
  passwd pw;
  passwd* res = nullptr;
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res != nullptr)
    s += " (" + std::string(res->pw_name) + ")";
  return s;
}

// Owner and mode rules for the cache directory (and the key, `file`).
Status CheckOwnerMode(const std::string& path, const struct stat& st, bool file) {
  const uid_t me = geteuid();
  if (st.st_uid != me)
    return Status::FailedPrecondition("aot cache: refusing " + path + ": owned by " +
                                      UserName(st.st_uid) + ", not by " + UserName(me) + " (mode " +
                                      Octal(st.st_mode) +
                                      "); it must belong to the user running arcella");
  mode_t bad = file ? 077 : 022;
  if ((st.st_mode & bad) != 0)
    return Status::FailedPrecondition(
        "aot cache: refusing " + path + ": mode " + Octal(st.st_mode) + " (owner " +
        UserName(st.st_uid) + ") lets other users " +
        (file ? "read or write it; it must be 0600" : "write it; run chmod 700 on it"));
  return Status::Ok();
}

// Start time of process `pid` in clock ticks since boot ("" if gone).
std::string StartTime(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/stat";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return "";
  std::string s(buf, static_cast<size_t>(n));
  size_t p = s.rfind(')');
  if (p == std::string::npos) return "";
  std::istringstream rest(s.substr(p + 2));
  std::string field;
  // Fields after ")" start at 3 (state); starttime is field 22.
  for (int i = 3; i <= 22 && rest >> field; ++i)
    if (i == 22) return field;
  return "";
}

// "<pid>-<start time>" of this process (not cached: a forked child is another process).
std::string SelfTag() { return std::to_string(getpid()) + "-" + StartTime(getpid()); }

// Removes `name` (a file, or a directory tree) under `dir_fd`; no symlink is followed.
void RemoveAt(int dir_fd, const char* name, int depth = 0) {
  if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT) return;
  if (depth > 8) return;
  int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  if (DIR* d = fdopendir(fd)) {
    std::vector<std::string> names;
    while (dirent* e = readdir(d))
      if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) names.push_back(e->d_name);
    for (const auto& n : names) RemoveAt(dirfd(d), n.c_str(), depth + 1);
    closedir(d);  // closes fd
  } else {
    close(fd);
  }
  unlinkat(dir_fd, name, AT_REMOVEDIR);
}

// Whether the process that created `.tmp-<pid>-<start>-...` is gone.
bool CreatorGone(const std::string& name, int dir_fd) {
  std::string rest = name.substr(strlen(kTempPrefix));
  size_t a = rest.find('-');
  size_t b = a == std::string::npos ? a : rest.find('-', a + 1);
  bool numeric = a != std::string::npos && b != std::string::npos && a > 0 && b > a + 1 &&
                 rest.find_first_not_of("0123456789") == a &&
                 rest.substr(a + 1, b - a - 1).find_first_not_of("0123456789") == std::string::npos;
  if (!numeric) {  // older format: judge by age
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return false;
    return time(nullptr) - st.st_mtime > kOldTempAge;
  }
  pid_t pid = static_cast<pid_t>(std::stol(rest.substr(0, a)));
  std::string start = rest.substr(a + 1, b - a - 1);
  std::string now = StartTime(pid);
  return now.empty() || now != start;  // gone, or the pid now belongs to another process
}

EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

}  // namespace

Status EnsurePrivateDir(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("aot cache: empty cache directory path");
  // Missing parents are created 0700; existing ones are left as they are.
  for (size_t i = 1; i < path.size(); ++i) {
    if (path[i] != '/') continue;
    std::string parent = path.substr(0, i);
    if (mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::IoError("aot cache: creating " + parent + ": " + Errno(errno));
  }
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Status::IoError("aot cache: " + path + ": " + Errno(errno));
    if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
      return Status::IoError("aot cache: creating " + path + ": " + Errno(errno));
    if (lstat(path.c_str(), &st) != 0)
      return Status::IoError("aot cache: " + path + ": " + Errno(errno));
  }
  if (S_ISLNK(st.st_mode))
    return Status::FailedPrecondition(
        "aot cache: refusing " + path +
        ": it is a symbolic link; the cache must be a real directory");
  if (!S_ISDIR(st.st_mode))
    return Status::FailedPrecondition("aot cache: " + path + " is not a directory");
  return CheckOwnerMode(path, st, /*file=*/false);
}

Result<std::unique_ptr<CacheStore>> CacheStore::Open(const std::string& path) {
  ARCELLA_RETURN_IF_ERROR(EnsurePrivateDir(path));
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return Status::IoError("aot cache: opening " + path + ": " + Errno(errno));
  std::unique_ptr<CacheStore> store(new CacheStore(path, fd));
  struct stat st;
  if (fstat(fd, &st) != 0) return Status::IoError("aot cache: " + path + ": " + Errno(errno));
  ARCELLA_RETURN_IF_ERROR(CheckOwnerMode(path, st, /*file=*/false));  // the one we opened
  ARCELLA_RETURN_IF_ERROR(store->LoadOrCreateKey());
  // Leftovers are looked for once per directory and process (a cache may hold
  // thousands of entries); PrepareCache looks again on demand.
  static std::mutex mu;
  static std::set<std::string> cleaned;
  bool first;
  {
    std::lock_guard<std::mutex> lock(mu);
    first = cleaned.insert(path).second;
  }
  if (first) store->CleanStaleTempDirs();
  return store;
}

CacheStore::~CacheStore() {
  if (dir_fd_ >= 0) close(dir_fd_);
}

Status CacheStore::LoadOrCreateKey() {
  const std::string key_path = path_ + "/" + kKeyFile;
  int fd = openat(dir_fd_, kKeyFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    // Written under a private name, then linked into place: readers never
    // see a partial key, and of two racing creators the first wins.
    uint8_t fresh[32];
    if (getrandom(fresh, sizeof fresh, 0) != static_cast<ssize_t>(sizeof fresh))
      return Status::IoError("aot cache: getrandom: " + Errno(errno));
    static std::atomic<unsigned> counter{0};
    std::string tmp = std::string(kTempPrefix) + SelfTag() + "-key-" + std::to_string(counter++);
    int w = openat(dir_fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   0600);
    if (w < 0) return Status::IoError("aot cache: creating " + key_path + ": " + Errno(errno));
    bool ok = write(w, fresh, sizeof fresh) == static_cast<ssize_t>(sizeof fresh) && fsync(w) == 0;
    close(w);
    OPENSSL_cleanse(fresh, sizeof fresh);
    if (!ok || (linkat(dir_fd_, tmp.c_str(), dir_fd_, kKeyFile, 0) != 0 && errno != EEXIST)) {
      int e = errno;
      unlinkat(dir_fd_, tmp.c_str(), 0);
      return Status::IoError("aot cache: creating " + key_path + ": " + Errno(e));
    }
    unlinkat(dir_fd_, tmp.c_str(), 0);
    fd = openat(dir_fd_, kKeyFile, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0)
    return Status::FailedPrecondition("aot cache: cannot open key " + key_path + ": " +
                                      Errno(errno) +
                                      (errno == ELOOP ? " (it is a symbolic link)" : ""));
  struct stat st;
  Status st_ok = fstat(fd, &st) == 0 ? Status::Ok()
                                     : Status::IoError(key_path + ": " + Errno(errno));
  if (st_ok.ok() && !S_ISREG(st.st_mode))
    st_ok = Status::FailedPrecondition("aot cache: key " + key_path + " is not a regular file");
  if (st_ok.ok()) st_ok = CheckOwnerMode(key_path, st, /*file=*/true);
  if (st_ok.ok() && st.st_size != static_cast<off_t>(key_.size()))
    st_ok = Status::FailedPrecondition("aot cache: key " + key_path + " has " +
                                       std::to_string(st.st_size) +
                                       " bytes, not 32; remove it to have it recreated");
  if (st_ok.ok() && pread(fd, key_.data(), key_.size(), 0) != static_cast<ssize_t>(key_.size()))
    st_ok = Status::IoError("aot cache: reading key " + key_path + ": " + Errno(errno));
  close(fd);
  return st_ok;
}

std::array<uint8_t, CacheStore::kMacSize> CacheStore::Mac(std::span<const uint8_t> object,
                                                          const std::string& cache_key) const {
  std::array<uint8_t, kMacSize> out{};
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(HmacAlgorithm());
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  size_t len = 0;
  bool ok = ctx != nullptr && EVP_MAC_init(ctx, key_.data(), key_.size(), params) == 1 &&
            EVP_MAC_update(ctx, object.data(), object.size()) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(cache_key.data()),
                           cache_key.size()) == 1 &&
            EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == out.size();
  EVP_MAC_CTX_free(ctx);
  if (!ok) out.fill(0);  // never matches a real footer: Verify compares against a fresh MAC
  return out;
}

void CacheStore::Seal(std::vector<uint8_t>* object, const std::string& cache_key) const {
  auto mac = Mac(*object, cache_key);
  object->insert(object->end(), mac.begin(), mac.end());
  object->insert(object->end(), kMagic, kMagic + kMagicSize);
}

bool CacheStore::Verify(std::span<const uint8_t> file, const std::string& cache_key,
                        size_t* object_size) const {
  if (file.size() < kFooterSize + 64) return false;
  const size_t body = file.size() - kFooterSize;
  if (std::memcmp(file.data() + body + kMacSize, kMagic, kMagicSize) != 0) return false;
  auto mac = Mac(file.first(body), cache_key);
  static const std::array<uint8_t, kMacSize> zero{};
  if (mac == zero) return false;
  if (CRYPTO_memcmp(mac.data(), file.data() + body, kMacSize) != 0) return false;
  *object_size = body;
  return true;
}

std::array<uint8_t, CacheStore::kMacSize> CacheStore::MacOfFile(
    int fd, uint64_t body, const std::string& cache_key) const {
  std::array<uint8_t, kMacSize> out{};
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(HmacAlgorithm());
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  bool ok = ctx != nullptr && EVP_MAC_init(ctx, key_.data(), key_.size(), params) == 1;
  // Chunks through one small buffer: verifying a 100 MB entry does not make
  // it resident in this process.
  std::vector<uint8_t> buf(ok ? size_t{1} << 20 : 0);
  uint64_t at = 0;
  while (ok && at < body) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), body - at));
    ssize_t n = pread(fd, buf.data(), want, static_cast<off_t>(at));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      break;
    }
    ok = EVP_MAC_update(ctx, buf.data(), static_cast<size_t>(n)) == 1;
    at += static_cast<uint64_t>(n);
  }
  size_t len = 0;
  ok = ok &&
       EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(cache_key.data()),
                      cache_key.size()) == 1 &&
       EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1 && len == out.size();
  EVP_MAC_CTX_free(ctx);
  if (!ok) out.fill(0);
  return out;
}

Result<CacheStore::SealedEntry> CacheStore::OpenVerifiedEntry(const std::string& name,
                                                              const std::string& cache_key) const {
  SealedEntry out;
  const std::string where = path_ + "/" + name;
  int fd = openat(dir_fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return out;
    return Status::IoError("aot cache: reading " + where + ": " + Errno(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) > kMaxEntry ||
      st.st_size < static_cast<off_t>(kFooterSize + 64)) {
    close(fd);
    return Status::Corruption("not a regular file of a plausible size");
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  int mem = memfd_create("arcella-aot", MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
  if (mem < 0 && errno == EINVAL)
    mem = memfd_create("arcella-aot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (mem < 0) {
    int e = errno;
    close(fd);
    return Status::Internal("aot: memfd_create: " + Errno(e));
  }
  // File -> memory file inside the kernel; a plain copy loop if sendfile
  // cannot do it here.
  uint64_t done = 0;
  off_t in_at = 0;
  while (done < size) {
    ssize_t n = sendfile(mem, fd, &in_at,
                         static_cast<size_t>(std::min<uint64_t>(size - done, 1u << 30)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<uint64_t>(n);
  }
  if (done < size && done == 0) {
    std::vector<uint8_t> buf(size_t{1} << 20);
    while (done < size) {
      ssize_t n = pread(fd, buf.data(), std::min<uint64_t>(buf.size(), size - done),
                        static_cast<off_t>(done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      size_t w = 0;
      while (w < static_cast<size_t>(n)) {
        ssize_t m = pwrite(mem, buf.data() + w, static_cast<size_t>(n) - w,
                           static_cast<off_t>(done + w));
        if (m < 0 && errno == EINTR) continue;
        if (m <= 0) break;
        w += static_cast<size_t>(m);
      }
      if (w != static_cast<size_t>(n)) break;
      done += w;
    }
  }
  const int copy_errno = errno;
  close(fd);
  struct stat mst;
  if (done != size || fstat(mem, &mst) != 0 || static_cast<uint64_t>(mst.st_size) != size) {
    close(mem);
    return Status::IoError("aot cache: copying " + where + " into memory: " + Errno(copy_errno));
  }
  if (fcntl(mem, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    int e = errno;
    close(mem);
    return Status::Internal("aot: sealing " + where + " in memory: " + Errno(e));
  }
  // From here on the bytes cannot change: verify them where they will be used.
  const uint64_t body = size - kFooterSize;
  uint8_t footer[kFooterSize];
  if (pread(mem, footer, kFooterSize, static_cast<off_t>(body)) !=
          static_cast<ssize_t>(kFooterSize) ||
      std::memcmp(footer + kMacSize, kMagic, kMagicSize) != 0) {
    close(mem);
    return Status::Corruption("no cache footer");
  }
  auto mac = MacOfFile(mem, body, cache_key);
  static const std::array<uint8_t, kMacSize> zero{};
  if (mac == zero || CRYPTO_memcmp(mac.data(), footer, kMacSize) != 0) {
    close(mem);
    return Status::Corruption("not authenticated by this cache's key");
  }
  out.fd = mem;
  out.body = body;
  return out;
}

Result<std::vector<uint8_t>> CacheStore::ReadEntry(const std::string& name) const {
  std::vector<uint8_t> out;
  int fd = openat(dir_fd_, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return out;
    return Status::IoError("aot cache: reading " + path_ + "/" + name + ": " + Errno(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) > kMaxEntry) {
    close(fd);
    return out;  // not a valid entry: the caller rebuilds it
  }
  out.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < out.size()) {
    ssize_t n = read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  close(fd);
  out.resize(got);
  return out;
}

Status CacheStore::Publish(const std::string& name, std::span<const uint8_t> bytes) const {
  static std::atomic<unsigned> counter{0};
  std::string tmp = std::string(kTempPrefix) + SelfTag() + "-entry-" + std::to_string(counter++);
  int fd = openat(dir_fd_, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0)
    return Status::IoError("aot cache: writing " + path_ + "/" + tmp + ": " + Errno(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  int e = errno;
  close(fd);
  if (done != bytes.size() || renameat(dir_fd_, tmp.c_str(), dir_fd_, name.c_str()) != 0) {
    if (done == bytes.size()) e = errno;
    unlinkat(dir_fd_, tmp.c_str(), 0);
    return Status::IoError("aot cache: publishing " + path_ + "/" + name + ": " + Errno(e));
  }
  return Status::Ok();
}

void CacheStore::Discard(const std::string& name) const { unlinkat(dir_fd_, name.c_str(), 0); }

Result<std::string> CacheStore::MakeTempDir(const std::string& tag) const {
  std::string tmpl = path_ + "/" + kTempPrefix + SelfTag() + "-" + tag + "-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr)
    return Status::IoError("aot: creating a compile folder in " + path_ + ": " + Errno(errno));
  return tmpl;
}

void CacheStore::RemoveTempDir(const std::string& full_path) const {
  size_t slash = full_path.rfind('/');
  std::string name = slash == std::string::npos ? full_path : full_path.substr(slash + 1);
  if (name.rfind(kTempPrefix, 0) != 0) return;
  RemoveAt(dir_fd_, name.c_str());
}

int CacheStore::CleanStaleTempDirs() const {
  int dup_fd = fcntl(dir_fd_, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return 0;
  DIR* d = fdopendir(dup_fd);
  if (d == nullptr) {
    close(dup_fd);
    return 0;
  }
  std::vector<std::string> stale;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n.rfind(kTempPrefix, 0) == 0 && CreatorGone(n, dir_fd_)) stale.push_back(n);
  }
  closedir(d);
  for (const auto& n : stale) RemoveAt(dir_fd_, n.c_str());
  return static_cast<int>(stale.size());
}

}  // namespace arcella::engine::aot
