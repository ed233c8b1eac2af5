// LinkHandles (link_handles.h).
#include "platform/link_handles.h"

namespace arcella::platform {

uint64_t LinkHandles::NewScope() {
  std::lock_guard<std::mutex> lock(mu_);
  return next_scope_++;
}

Result<uint32_t> LinkHandles::Add(uint64_t scope, LinkHandle h) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t& live = live_[scope];
  if (live >= kMaxPerScope)
    return Status::Unavailable("the importer holds " + std::to_string(live) +
                               " resource handles through links, the most allowed");
  if (entries_.size() >= kMaxTotal)
    return Status::Unavailable("the daemon holds " + std::to_string(entries_.size()) +
                               " resource handles through links, the most allowed");
  uint32_t token = next_token_;
  while (token == 0 || entries_.count(token)) ++token;  // terminates: the table is not full
  next_token_ = token + 1;
  entries_.emplace(token, Entry{scope, std::move(h)});
  std::vector<uint32_t>& list = by_scope_[scope];
  // Stale tokens (taken one by one) are pruned when they outnumber the live ones.
  if (list.size() >= 2 * live + 64) {
    std::vector<uint32_t> keep;
    for (uint32_t t : list)
      if (auto it = entries_.find(t); it != entries_.end() && it->second.scope == scope)
        keep.push_back(t);
    list.swap(keep);
  }
  list.push_back(token);
  ++live;
  return token;
}

Result<LinkHandle> LinkHandles::Get(uint64_t scope, uint32_t token) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(token);
  if (it == entries_.end() || it->second.scope != scope)
    return Status::NotFound("no resource handle " + std::to_string(token) + " held through links");
  return it->second.h;
}

Result<LinkHandle> LinkHandles::Take(uint64_t scope, uint32_t token) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = entries_.find(token);
  if (it == entries_.end() || it->second.scope != scope)
    return Status::NotFound("no resource handle " + std::to_string(token) + " held through links");
  LinkHandle h = std::move(it->second.h);
  entries_.erase(it);
  if (auto l = live_.find(scope); l != live_.end() && --l->second == 0) {
    live_.erase(l);
    by_scope_.erase(scope);
  }
  return h;
}

std::vector<LinkHandle> LinkHandles::EndScope(uint64_t scope) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<LinkHandle> out;
  auto list = by_scope_.find(scope);
  if (list != by_scope_.end()) {
    for (uint32_t t : list->second) {
      auto it = entries_.find(t);
      if (it == entries_.end() || it->second.scope != scope) continue;
      out.push_back(std::move(it->second.h));
      entries_.erase(it);
    }
    by_scope_.erase(list);
  }
  live_.erase(scope);
  return out;
}

size_t LinkHandles::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return entries_.size();
}

}  // namespace arcella::platform
