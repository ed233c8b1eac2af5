// LinkHandles: the resource handles importers hold across links
// (docs/COMPONENTS.md "Resources across links").
//
// When a provider's function returns own<R> through a link, the provider's
// handle stays with the platform: this table keeps it (provider deployment,
// the replica instance holding it, the provider's representation) and the
// importer is given a token in its place. The importer's later calls with
// that token are translated back and pinned to that replica instance; its
// drop is forwarded to the provider; when the importer's instance ends
// (EndScope) everything it still holds is forwarded too.
//
// Scopes: every importing instance has its own scope (NewScope); a token is
// only valid in the scope it was given to, so one importer (or a lying
// worker) cannot use another's handles. Tokens are never 0 and are not
// reused while live.
//
// Limits: kMaxPerScope live handles per scope, kMaxTotal in all; Add
// beyond them is Unavailable.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "platform/replica_host.h"

namespace arcella::platform {

struct LinkHandle {
  std::string provider;     // the providing deployment
  std::string import_name;  // the importer's linked import it came through
  std::string resource;     // the resource's name in that interface ("counter")
  std::string export_name;  // the provider's interface export it belongs to
  ReplicaPin pin;           // the provider replica instance that holds it
  uint32_t rep = 0;         // the provider's representation (what it returned)
};

class LinkHandles {
 public:
  static constexpr size_t kMaxPerScope = 65536;
  static constexpr size_t kMaxTotal = 1 << 20;

  uint64_t NewScope();
  // Keeps `h` for `scope`; the token the importer holds instead.
  Result<uint32_t> Add(uint64_t scope, LinkHandle h);
  // The handle `token` stands for in `scope` (NotFound otherwise: unknown,
  // dropped, or another scope's).
  Result<LinkHandle> Get(uint64_t scope, uint32_t token) const;
  // As Get, and forgets it (the importer gave the handle away or dropped it).
  Result<LinkHandle> Take(uint64_t scope, uint32_t token);
  // Forgets every handle of `scope`; they are returned to be dropped.
  std::vector<LinkHandle> EndScope(uint64_t scope);
  size_t size() const;

 private:
  struct Entry {
    uint64_t scope = 0;
    LinkHandle h;
  };
  mutable std::mutex mu_;
  uint64_t next_scope_ = 1;
  uint32_t next_token_ = 1;
  std::unordered_map<uint32_t, Entry> entries_;
  std::unordered_map<uint64_t, std::vector<uint32_t>> by_scope_;  // may hold stale tokens
  std::unordered_map<uint64_t, size_t> live_;                     // live handles per scope
};

}  // namespace arcella::platform
