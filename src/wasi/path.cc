// Sandboxed, component-by-component path resolution (see path.h).
#include "wasi/path.h"

#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <deque>
#include <vector>

namespace arcella::wasi {
namespace {

constexpr int kMaxSymlinks = 40;
constexpr size_t kMaxPath = 4096;

void Split(std::string_view p, std::deque<std::string>* parts, bool front) {
  std::vector<std::string> v;
  size_t i = 0;
  while (i < p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    if (j > i) v.emplace_back(p.substr(i, j - i));
    i = j + 1;
  }
  if (front) parts->insert(parts->begin(), v.begin(), v.end());
  else parts->insert(parts->end(), v.begin(), v.end());
}

// True and the target if `name` in `dirfd` is a symlink.
bool ReadLink(int dirfd, const std::string& name, std::string* target) {
  char buf[PATH_MAX];
  ssize_t n = readlinkat(dirfd, name.c_str(), buf, sizeof buf);
  if (n < 0 || static_cast<size_t>(n) >= sizeof buf) return false;
  target->assign(buf, static_cast<size_t>(n));
  return true;
}

}  // namespace

Errno ResolvePath(int base_fd, std::string_view path, bool follow_final, ResolvedPath* out) {
  if (path.empty()) return kNoent;
  if (path.size() > kMaxPath) return kNametoolong;
  if (path.find('\0') != std::string_view::npos) return kIlseq;
  if (path[0] == '/') return kNotcapable;

  std::deque<std::string> todo;
  Split(path, &todo, false);
  bool trailing_slash = path.back() == '/';
  std::vector<UniqueFd> stack;  // directories entered below base_fd
  auto top = [&] { return stack.empty() ? base_fd : stack.back().get(); };
  int links = 0;
  std::string final_name = ".";

  while (!todo.empty()) {
    std::string c = std::move(todo.front());
    todo.pop_front();
    bool last = todo.empty();
    if (c == ".") continue;
    if (c == "..") {
      if (stack.empty()) return kNotcapable;  // would leave the preopen
      stack.pop_back();
      continue;
    }
    if (c.size() > NAME_MAX) return kNametoolong;
    if (last) {
      std::string target;
      if ((follow_final || trailing_slash) && ReadLink(top(), c, &target)) {
        if (++links > kMaxSymlinks) return kLoop;
        if (target.empty()) return kNoent;
        if (target[0] == '/') return kNotcapable;
        Split(target, &todo, true);
        if (target.back() == '/') trailing_slash = true;
        continue;
      }
      final_name = std::move(c);
      break;
    }
    int fd = openat(top(), c.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
      stack.emplace_back(fd);
      continue;
    }
    int err = errno;
    if (err != ENOTDIR && err != ELOOP) return FromHostErrno(err);
    std::string target;
    if (!ReadLink(top(), c, &target)) return kNotdir;
    if (++links > kMaxSymlinks) return kLoop;
    if (target.empty()) return kNoent;
    if (target[0] == '/') return kNotcapable;
    Split(target, &todo, true);
  }

  out->trailing_slash = trailing_slash;
  out->name = std::move(final_name);
  if (stack.empty()) {
    out->owned.reset();
    out->dirfd = base_fd;
  } else {
    out->owned = std::move(stack.back());
    out->dirfd = out->owned.get();
  }
  return kSuccess;
}

}  // namespace arcella::wasi
