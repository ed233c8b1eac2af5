// ExportCode / AdoptCode: a compiled Module handed to another process as a
// sealed memory file plus its metadata record (portable_code.h).
#include "engine/portable_code.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "common/sha256.h"
#include "engine/aot/aot_backend.h"
#include "engine/aot/compiler.h"
#include "engine/backend.h"
#include "engine/module_meta.h"

namespace arcella::engine {
namespace {

// The largest wasm module an interpreter hand-over may carry.
constexpr uint64_t kMaxWasmBytes = uint64_t{1} << 30;
// Every seal the receiver insists on: nobody can change, grow or shrink the
// file, nor lift the seals.
constexpr int kSeals = F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL;

std::string Errno(int e) { return strerror(e); }

// A close-on-exec memory file holding `bytes`, sealed with kSeals.
// `executable`: the file will be dlopen'ed (MFD_EXEC where the kernel has it).
Result<UniqueFd> SealedCopy(const char* name, std::span<const uint8_t> bytes, bool executable) {
  int fd = -1;
#ifdef MFD_EXEC
  if (executable) fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_EXEC);
#else
  (void)executable;
#endif
  if (fd < 0) fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return Status::Internal("ExportCode: memfd_create: " + Errno(errno));
  UniqueFd out(fd);
  if (ftruncate(fd, static_cast<off_t>(bytes.size())) != 0)
    return Status::Internal("ExportCode: sizing the memory file to " +
                            std::to_string(bytes.size()) + " bytes: " + Errno(errno));
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Internal("ExportCode: writing the memory file: " + Errno(errno));
    done += static_cast<size_t>(n);
  }
  if (fcntl(fd, F_ADD_SEALS, kSeals) != 0)
    return Status::Internal("ExportCode: sealing the memory file: " + Errno(errno));
  return out;
}

// InvalidArgument unless `fd` is a readable memory file carrying every seal
// of kSeals; sets `size` to its size.
Status CheckSealed(int fd, uint64_t* size) {
  if (fd < 0) return Status::InvalidArgument("AdoptCode: no descriptor (fd is -1)");
  struct stat st;
  if (fstat(fd, &st) != 0)
    return Status::InvalidArgument("AdoptCode: descriptor " + std::to_string(fd) +
                                   " is not open: " + Errno(errno));
  if (!S_ISREG(st.st_mode))
    return Status::InvalidArgument("AdoptCode: descriptor " + std::to_string(fd) +
                                   " is not a memory file (not even a regular file)");
  const int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0)
    return Status::InvalidArgument("AdoptCode: descriptor " + std::to_string(fd) +
                                   " is not a sealable memory file (memfd): " + Errno(errno));
  if ((seals & kSeals) != kSeals) {
    std::string missing;
    for (auto [bit, name] : {std::pair{F_SEAL_WRITE, "write"}, std::pair{F_SEAL_GROW, "grow"},
                             std::pair{F_SEAL_SHRINK, "shrink"}, std::pair{F_SEAL_SEAL, "seal"}})
      if ((seals & bit) == 0) missing += std::string(missing.empty() ? "" : ", ") + name;
    return Status::InvalidArgument("AdoptCode: the memory file (descriptor " + std::to_string(fd) +
                                   ") is not sealed; missing seals: " + missing);
  }
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || (flags & O_ACCMODE) == O_WRONLY)
    return Status::InvalidArgument("AdoptCode: the memory file (descriptor " + std::to_string(fd) +
                                   ") is not open for reading");
  *size = static_cast<uint64_t>(st.st_size);
  return Status::Ok();
}

bool IsHashHex(const std::string& h) {
  if (h.size() != 64) return false;
  for (char c : h)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

const char* MeteringName(Metering m) {
  switch (m) {
    case Metering::kNone: return "none";
    case Metering::kInterrupt: return "interrupt";
    case Metering::kFuel: return "fuel";
  }
  return "invalid";
}

Result<std::shared_ptr<const Module>> AdoptAot(const std::shared_ptr<Engine>& engine,
                                               PortableCode code) {
  ModuleMeta meta;
  if (!DecodeModuleMeta(code.meta, &meta))
    return Status::InvalidArgument("AdoptCode: the metadata record (" +
                                   std::to_string(code.meta.size()) +
                                   " bytes) is not a valid module metadata record");
  if (meta.metering != code.metering)
    return Status::InvalidArgument(std::string("AdoptCode: the metadata record says metering ") +
                                   MeteringName(meta.metering) + ", the code says " +
                                   MeteringName(code.metering));
  if (!IsHashHex(meta.aot_key))
    return Status::InvalidArgument("AdoptCode: the metadata record names no code entry key");
  const std::string what = "the handed-over code of module " + code.hash;
  return engine->FindOrRegister(code.hash, Tier::kAot, [&]() -> Result<std::shared_ptr<Module>> {
    auto obj = aot::LoadSealedEntry(code.fd.release(), what, meta.aot_key);
    if (!obj.ok()) return Status::InvalidArgument("AdoptCode: " + obj.status().message());
    auto backend = aot::MakeAotModule(std::move(obj).value(), meta.layout.imports,
                                      meta.layout.exports);
    return std::make_shared<Module>(Tier::kAot, meta.metering, code.hash, std::move(meta.imports),
                                    std::move(meta.exports), std::move(meta.func_names),
                                    std::move(meta.layout), std::move(backend));
  });
}

// The `size` bytes of memory file `fd`, whose sha256 must be `hash`.
Result<std::vector<uint8_t>> ReadAll(int fd, uint64_t size, const std::string& hash) {
  std::vector<uint8_t> out(static_cast<size_t>(size));
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      return Status::InvalidArgument("AdoptCode: reading the memory file: " + Errno(errno));
    if (n == 0)
      return Status::InvalidArgument("AdoptCode: the memory file ended after " +
                                     std::to_string(done) + " of " + std::to_string(size) +
                                     " bytes");
    done += static_cast<size_t>(n);
  }
  const std::string actual = Sha256Hex(std::span<const uint8_t>(out));
  if (actual != hash)
    return Status::InvalidArgument("AdoptCode: the wasm bytes hash to " + actual + ", not to " +
                                   hash);
  return out;
}

Result<std::shared_ptr<const Module>> AdoptInterp(const std::shared_ptr<Engine>& engine,
                                                  const PortableCode& code, uint64_t size) {
  if (!code.meta.empty())
    return Status::InvalidArgument("AdoptCode: interpreter code carries no metadata record (" +
                                   std::to_string(code.meta.size()) + " bytes given)");
  if (size > kMaxWasmBytes)
    return Status::InvalidArgument("AdoptCode: the wasm memory file holds " + std::to_string(size) +
                                   " bytes, more than the " + std::to_string(kMaxWasmBytes) +
                                   " a module may have");
  ARCELLA_ASSIGN_OR_RETURN(std::vector<uint8_t> wasm, ReadAll(code.fd.get(), size, code.hash));
  CompileOptions options;
  options.tier = Tier::kInterp;
  return engine->Compile(wasm, options);
}

}  // namespace

Result<PortableCode> ExportCode(const Module& module, std::span<const uint8_t> wasm) {
  PortableCode out;
  out.tier = module.tier();
  out.metering = module.metering();
  out.hash = module.hash();
  if (module.tier() == Tier::kInterp) {
    if (wasm.empty())
      return Status::InvalidArgument(
          "ExportCode: an interpreter module is handed over as its wasm bytes, and none were "
          "given");
    const std::string actual = Sha256Hex(wasm);
    if (actual != module.hash())
      return Status::InvalidArgument("ExportCode: the wasm bytes given hash to " + actual +
                                     ", not to the module's " + module.hash());
    ARCELLA_ASSIGN_OR_RETURN(out.fd, SealedCopy("arcella-wasm", wasm, /*executable=*/false));
    return out;
  }
  const aot::LoadedObject* obj = module.backend() ? aot::AotObjectOf(*module.backend()) : nullptr;
  if (module.tier() != Tier::kAot || obj == nullptr || obj->map == nullptr)
    return Status::FailedPrecondition("ExportCode: module " + module.hash() +
                                      " has no AOT code to hand over");
  // The object's own sealed memory file was verified against the cache's MAC
  // when it was loaded and cannot have changed since: copy its body (object,
  // data blob, sizes, magic; not the MAC, which the receiver cannot check).
  ModuleMeta meta;
  meta.metering = module.metering();
  meta.imports = module.imports();
  meta.exports = module.exports();
  meta.func_names = module.function_names();
  meta.layout = module.layout();
  meta.aot_key = obj->key;
  out.meta = EncodeModuleMeta(meta);
  ARCELLA_ASSIGN_OR_RETURN(out.fd, SealedCopy("arcella-aot",
                                              std::span<const uint8_t>(obj->map, obj->map_size),
                                              /*executable=*/true));
  return out;
}

Result<std::shared_ptr<const Module>> AdoptCode(const std::shared_ptr<Engine>& engine,
                                                PortableCode code) {
  if (!engine) return Status::InvalidArgument("AdoptCode: no engine");
  if (code.tier != Tier::kAot && code.tier != Tier::kInterp)
    return Status::InvalidArgument(std::string("AdoptCode: the code's tier is ") +
                                   TierName(code.tier) + ", not aot or interp");
  if (!IsHashHex(code.hash))
    return Status::InvalidArgument("AdoptCode: the module hash \"" + code.hash.substr(0, 80) +
                                   "\" is not a sha256 hex digest");
  if (code.metering != engine->config().metering)
    return Status::InvalidArgument(
        std::string("AdoptCode: the code is instrumented for metering ") +
        MeteringName(code.metering) + " but the engine meters " +
        MeteringName(engine->config().metering));
  uint64_t size = 0;
  ARCELLA_RETURN_IF_ERROR(CheckSealed(code.fd.get(), &size));
  if (code.tier == Tier::kAot) return AdoptAot(engine, std::move(code));
  return AdoptInterp(engine, code, size);
}

Result<UniqueFd> ExportBytes(std::span<const uint8_t> bytes) {
  return SealedCopy("arcella-bytes", bytes, /*executable=*/false);
}

Result<std::vector<uint8_t>> AdoptBytes(int fd, const std::string& hash, uint64_t max_bytes) {
  if (!IsHashHex(hash))
    return Status::InvalidArgument("AdoptBytes: the hash \"" + hash.substr(0, 80) +
                                   "\" is not a sha256 hex digest");
  uint64_t size = 0;
  ARCELLA_RETURN_IF_ERROR(CheckSealed(fd, &size));
  if (size > max_bytes)
    return Status::InvalidArgument("AdoptBytes: the memory file holds " + std::to_string(size) +
                                   " bytes, more than the " + std::to_string(max_bytes) +
                                   " allowed");
  return ReadAll(fd, size, hash);
}

}  // namespace arcella::engine
