// fd_readdir: directory listing with cookies.
//
// The listing is read once when the guest starts at cookie 0 and cached on
// the descriptor; cookie N is the index of the next entry, so a listing is
// stable across calls even if the directory changes meanwhile.
#include <algorithm>
#include <cstring>

#include "wasi/handlers.h"

namespace arcella::wasi {

Errno FdReaddir(HostCall& c) {
  Errno err;
  FdEntry* e = c.st.GetWithRights(c.u32(0), right::kFdReaddir, &err);
  if (!e) return err;
  uint32_t buf = c.u32(1), buf_len = c.u32(2), used_ptr = c.u32(4);
  uint64_t cookie = c.u64(3);
  if (!c.mem.Ok(buf, buf_len) || !c.mem.Ok(used_ptr, 4)) return kFault;
  if (e->kind != FdEntry::Kind::kDir) return kNotdir;
  if (cookie == 0 || !e->readdir_cached) {
    if ((err = ListDirectory(*e, &e->readdir_cache))) return err;
    e->readdir_cached = true;
  }
  uint32_t used = 0;
  for (uint64_t i = cookie; i < e->readdir_cache.size() && used < buf_len; ++i) {
    const DirEntryInfo& d = e->readdir_cache[i];
    uint8_t hdr[kDirentSize] = {};
    uint64_t next = i + 1;
    uint32_t namlen = static_cast<uint32_t>(d.name.size());
    std::memcpy(hdr, &next, 8);
    std::memcpy(hdr + 8, &d.ino, 8);
    std::memcpy(hdr + 16, &namlen, 4);
    hdr[20] = d.type;
    // Entries that do not fit are truncated: bufused == buf_len tells the
    // guest to call again with a bigger buffer or the last cookie.
    uint32_t n = std::min<uint32_t>(kDirentSize, buf_len - used);
    c.mem.Write(buf + used, hdr, n);
    used += n;
    n = std::min<uint32_t>(namlen, buf_len - used);
    c.mem.Write(buf + used, d.name.data(), n);
    used += n;
  }
  c.mem.Store(used_ptr, used);
  return kSuccess;
}

}  // namespace arcella::wasi
