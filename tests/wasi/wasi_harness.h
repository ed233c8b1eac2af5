// Calls preview1 host functions directly against a crafted guest memory.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "wasi/abi.h"
#include "wasi/preview1.h"
#include "wasi/state.h"
#include "wasi/wasi.h"

namespace arcella::wasi::test {

inline engine::Value I(uint32_t v) { return engine::Value::I32(v); }
inline engine::Value L(uint64_t v) { return engine::Value::I64(v); }

class Harness {
 public:
  explicit Harness(WasiConfig cfg, size_t mem_size = 65536) : mem(mem_size, 0) {
    auto r = WasiCtx::Create(std::move(cfg));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (r.ok()) ctx = *r;
  }
  // Calls `name` and returns its errno (or 0xFFFF if it trapped).
  uint32_t Call(const char* name, std::vector<engine::Value> args) {
    engine::Value res[1];
    size_t nres = std::string_view(name) == "proc_exit" ? 0 : 1;
    last_trap = CallPreview1(ctx->state(), name, mem, args, std::span<engine::Value>(res, nres));
    return last_trap ? 0xFFFF : res[0].i32;
  }
  // Places a string at `ptr`; returns its length.
  uint32_t Put(uint32_t ptr, const std::string& s) {
    std::memcpy(mem.data() + ptr, s.data(), s.size());
    return static_cast<uint32_t>(s.size());
  }
  void PutU32(uint32_t ptr, uint32_t v) { std::memcpy(mem.data() + ptr, &v, 4); }
  void PutU64(uint32_t ptr, uint64_t v) { std::memcpy(mem.data() + ptr, &v, 8); }
  uint32_t U32(uint32_t ptr) const {
    uint32_t v;
    std::memcpy(&v, mem.data() + ptr, 4);
    return v;
  }
  uint64_t U64(uint32_t ptr) const {
    uint64_t v;
    std::memcpy(&v, mem.data() + ptr, 8);
    return v;
  }
  std::string Str(uint32_t ptr, uint32_t len) const {
    return std::string(reinterpret_cast<const char*>(mem.data()) + ptr, len);
  }

  // path_open(dirfd, path) with the given oflags/rights; the new fd in *fd.
  uint32_t Open(uint32_t dirfd, const std::string& path, uint32_t oflags = 0,
                uint64_t rights = right::kFdRead | right::kFdSeek | right::kFdTell |
                                  right::kFdFilestatGet | right::kFdReaddir,
                uint32_t lookup = kLookupSymlinkFollow, uint32_t* fd = nullptr) {
    uint32_t len = Put(kPath, path);
    uint32_t r = Call("path_open", {I(dirfd), I(lookup), I(kPath), I(len), I(oflags), L(rights),
                                    L(right::kAll), I(0), I(kOut)});
    if (fd) *fd = U32(kOut);
    return r;
  }
  // fd_write of `data` through one iovec.
  uint32_t Write(uint32_t fd, const std::string& data) {
    uint32_t len = Put(kData, data);
    PutU32(kIov, kData);
    PutU32(kIov + 4, len);
    return Call("fd_write", {I(fd), I(kIov), I(1), I(kOut)});
  }
  // fd_read of up to `n` bytes into *out.
  uint32_t Read(uint32_t fd, uint32_t n, std::string* out) {
    PutU32(kIov, kData);
    PutU32(kIov + 4, n);
    uint32_t r = Call("fd_read", {I(fd), I(kIov), I(1), I(kOut)});
    if (r == 0) *out = Str(kData, U32(kOut));
    return r;
  }
  // A path-only call: name(dirfd, path).
  uint32_t PathCall(const char* name, uint32_t dirfd, const std::string& path) {
    uint32_t len = Put(kPath, path);
    return Call(name, {I(dirfd), I(kPath), I(len)});
  }

  static constexpr uint32_t kPath = 1024, kPath2 = 3072, kOut = 512, kIov = 256, kData = 8192;
  std::vector<uint8_t> mem;
  std::shared_ptr<WasiCtx> ctx;
  std::optional<engine::Trap> last_trap;
};

}  // namespace arcella::wasi::test
