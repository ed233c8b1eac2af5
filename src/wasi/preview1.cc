// Registration of the wasi_snapshot_preview1 functions into an engine Linker.
#include "wasi/preview1.h"

#include <string>

#include "engine/engine.h"
#include "wasi/handlers.h"
#include "wasi/wasi.h"

namespace arcella::wasi {
namespace {

using engine::FuncType;
using engine::Trap;
using engine::TrapKind;
using engine::ValType;
using engine::Value;

struct Entry {
  const char* name;
  const char* params;  // 'i' = i32, 'I' = i64; every function returns an i32 errno
  Handler fn;          // except proc_exit, which returns nothing
};

constexpr Entry kTable[] = {
    {"args_get", "ii", ArgsGet},
    {"args_sizes_get", "ii", ArgsSizesGet},
    {"environ_get", "ii", EnvironGet},
    {"environ_sizes_get", "ii", EnvironSizesGet},
    {"clock_res_get", "ii", ClockResGet},
    {"clock_time_get", "iIi", ClockTimeGet},
    {"fd_advise", "iIIi", FdAdvise},
    {"fd_allocate", "iII", FdAllocate},
    {"fd_close", "i", FdClose},
    {"fd_datasync", "i", FdDatasync},
    {"fd_fdstat_get", "ii", FdFdstatGet},
    {"fd_fdstat_set_flags", "ii", FdFdstatSetFlags},
    {"fd_fdstat_set_rights", "iII", FdFdstatSetRights},
    {"fd_filestat_get", "ii", FdFilestatGet},
    {"fd_filestat_set_size", "iI", FdFilestatSetSize},
    {"fd_filestat_set_times", "iIIi", FdFilestatSetTimes},
    {"fd_pread", "iiiIi", FdPread},
    {"fd_prestat_get", "ii", FdPrestatGet},
    {"fd_prestat_dir_name", "iii", FdPrestatDirName},
    {"fd_pwrite", "iiiIi", FdPwrite},
    {"fd_read", "iiii", FdRead},
    {"fd_readdir", "iiiIi", FdReaddir},
    {"fd_renumber", "ii", FdRenumber},
    {"fd_seek", "iIii", FdSeek},
    {"fd_sync", "i", FdSync},
    {"fd_tell", "ii", FdTell},
    {"fd_write", "iiii", FdWrite},
    {"path_create_directory", "iii", PathCreateDirectory},
    {"path_filestat_get", "iiiii", PathFilestatGet},
    {"path_filestat_set_times", "iiiiIIi", PathFilestatSetTimes},
    {"path_link", "iiiiiii", PathLink},
    {"path_open", "iiiiiIIii", PathOpen},
    {"path_readlink", "iiiiii", PathReadlink},
    {"path_remove_directory", "iii", PathRemoveDirectory},
    {"path_rename", "iiiiii", PathRename},
    {"path_symlink", "iiiii", PathSymlink},
    {"path_unlink_file", "iii", PathUnlinkFile},
    {"poll_oneoff", "iiii", PollOneoff},
    {"proc_exit", "i", ProcExit},
    {"proc_raise", "i", ProcRaise},
    {"sched_yield", "", SchedYield},
    {"random_get", "ii", RandomGet},
    {"sock_accept", "iii", SockAccept},
    {"sock_recv", "iiiiii", SockRecv},
    {"sock_send", "iiiii", SockSend},
    {"sock_shutdown", "ii", SockShutdown},
};

bool IsExit(const Entry& e) { return e.fn == ProcExit; }

FuncType TypeOf(const Entry& e) {
  FuncType t;
  for (const char* p = e.params; *p; ++p)
    t.params.push_back(*p == 'I' ? ValType::kI64 : ValType::kI32);
  if (!IsExit(e)) t.results.push_back(ValType::kI32);
  return t;
}

std::optional<Trap> Invoke(const Entry& e, WasiState& st, std::span<uint8_t> memory,
                           std::span<const Value> args, std::span<Value> results) {
  size_t nparams = std::char_traits<char>::length(e.params);
  bool types_ok = args.size() == nparams && results.size() == (IsExit(e) ? 0u : 1u);
  for (size_t i = 0; types_ok && i < nparams; ++i)
    types_ok = args[i].type == (e.params[i] == 'I' ? ValType::kI64 : ValType::kI32);
  if (!types_ok) {
    Trap t;
    t.kind = TrapKind::kHostError;
    t.function = e.name;
    t.message = std::string("wasi: bad arguments to ") + e.name;
    return t;
  }
  HostCall call{st, GuestMem(memory), args};
  Errno err = e.fn(call);
  if (IsExit(e)) {
    Trap t;
    t.kind = TrapKind::kExit;
    t.function = e.name;
    t.exit_code = st.exit_code.value_or(0);
    return t;
  }
  results[0] = Value::I32(static_cast<uint32_t>(err));
  return std::nullopt;
}

}  // namespace

std::vector<Preview1Signature> Preview1Signatures() {
  std::vector<Preview1Signature> v;
  for (const Entry& e : kTable) v.push_back({e.name, TypeOf(e)});
  return v;
}

std::optional<Trap> CallPreview1(WasiState& state, std::string_view name, std::span<uint8_t> memory,
                                 std::span<const Value> args, std::span<Value> results) {
  for (const Entry& e : kTable)
    if (name == e.name) return Invoke(e, state, memory, args, results);
  Trap t;
  t.kind = TrapKind::kHostError;
  t.message = "wasi: unknown function " + std::string(name);
  return t;
}

Status WasiCtx::AddToLinker(engine::Linker& linker) {
  std::shared_ptr<WasiCtx> self = shared_from_this();
  for (const Entry& e : kTable) {
    const Entry* entry = &e;
    linker.DefineFunc(kPreview1Module, e.name, TypeOf(e),
                      [self, entry](engine::Caller& caller, std::span<const Value> args,
                                    std::span<Value> results) {
                        return Invoke(*entry, self->state(), caller.memory(), args, results);
                      });
  }
  return Status::Ok();
}

}  // namespace arcella::wasi
