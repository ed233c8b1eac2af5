// The state behind a WasiP2: the preview-1 context (configuration and the
// preopened directories, as its fds 3, 4, ...) and one table per WASI
// resource type, mapping a host rep to its object. Internal to
// src/component/wasip2.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include "component/wasip2/streams.h"
#include "wasi/state.h"
#include "wasi/wasi.h"

namespace arcella::component {

struct Descriptor;      // wasi:filesystem/types.descriptor (filesystem.h)
struct DirEntryStream;  // wasi:filesystem/types.directory-entry-stream
struct HttpState;       // wasi:http/types (http_state.h)

// rep -> object. Reps start at 1 and are not reused while the table lives
// (a stale rep finds nothing). At most kMaxEntries live entries: past that,
// Insert returns 0 and the caller traps ("too many open resources").
template <typename T>
class ResourceTable {
 public:
  static constexpr size_t kMaxEntries = 65536;
  uint32_t Insert(std::shared_ptr<T> v) {
    if (map_.size() >= kMaxEntries || next_ == 0) return 0;
    uint32_t rep = next_++;
    map_.emplace(rep, std::move(v));
    return rep;
  }
  std::shared_ptr<T> Get(uint32_t rep) const {
    auto it = map_.find(rep);
    return it == map_.end() ? nullptr : it->second;
  }
  bool Remove(uint32_t rep) { return map_.erase(rep) > 0; }
  size_t size() const { return map_.size(); }

 private:
  std::unordered_map<uint32_t, std::shared_ptr<T>> map_;
  uint32_t next_ = 1;
};

class WasiP2State {
 public:
  explicit WasiP2State(std::shared_ptr<wasi::WasiCtx> p1) : p1_(std::move(p1)) {}
  wasi::WasiCtx& p1() { return *p1_; }
  const wasi::WasiConfig& config() const { return p1_->state().config(); }

  ResourceTable<PollSource> pollables;
  ResourceTable<InputStreamImpl> input_streams;
  ResourceTable<OutputStreamImpl> output_streams;
  ResourceTable<IoError> errors;
  ResourceTable<Descriptor> descriptors;
  ResourceTable<DirEntryStream> dir_streams;

  std::optional<int32_t> exit_code;
  // wasi:http/types' objects (the host functions own them; set by AddToLinker).
  std::weak_ptr<HttpState> http;

 private:
  std::shared_ptr<wasi::WasiCtx> p1_;
};

}  // namespace arcella::component
