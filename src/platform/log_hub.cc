#include "platform/log_hub.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>

#include "platform/events.h"

namespace arcella::platform {
namespace {

std::string ReplicaName(const std::string& deployment, uint32_t index) {
  return deployment + "#" + std::to_string(index);
}

std::string Sanitise(const std::string& id) {
  std::string out;
  for (char c : id) {
    bool keep = isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
                c == '@';
    out += keep ? c : '_';
  }
  return out.empty() ? "_" : out;
}

std::string IsoTime(int64_t ms) {
  time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

// Appends at most what keeps `to` within `cap` bytes (the rest of an
// over-long line is dropped: the line is cut there anyway).
void Append(std::string* to, std::string_view bytes, size_t cap) {
  if (to->size() >= cap) return;
  to->append(bytes.substr(0, cap - to->size()));
}

}  // namespace

const char* LogStreamName(LogStream s) {
  switch (s) {
    case LogStream::kStdout: return "stdout";
    case LogStream::kStderr: return "stderr";
    case LogStream::kPlatform: return "platform";
  }
  return "?";
}

LogHub::LogHub(std::string dir, LogHubOptions options) : dir_(std::move(dir)), opt_(options) {
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
  }
}

LogHub::~LogHub() {
  for (auto& [id, file] : files_)
    if (file.f) fclose(file.f);
}

bool LogHub::Matches(const std::string& target, const std::string& replica) {
  if (replica.size() < target.size() || replica.compare(0, target.size(), target) != 0)
    return false;
  if (replica.size() == target.size()) return true;  // exact replica
  char next = replica[target.size()];
  // A deployment id is followed by '#'; a module id by '/'.
  return next == '#' || (next == '/' && target.find('/') == std::string::npos);
}

std::string LogHub::FilePath(const std::string& deployment) const {
  return dir_ + "/" + Sanitise(deployment) + ".log";
}

LogLine LogHub::RecordLocked(const std::string& deployment, uint32_t index, LogStream stream,
                             std::string_view line) {
  LogLine l;
  l.replica = ReplicaName(deployment, index);
  l.stream = stream;
  l.ts_ms = NowMs();
  l.line.assign(line.substr(0, opt_.max_line_bytes));
  l.seq = ++seq_;
  Ring& ring = rings_[l.replica];
  ring.lines.push_back(l);
  ring.bytes += l.line.size();
  while (ring.lines.size() > 1 &&
         (ring.lines.size() > opt_.ring_lines || ring.bytes > opt_.ring_bytes)) {
    ring.bytes -= ring.lines.front().line.size();
    ring.lines.pop_front();
  }
  AppendFileLocked(deployment, l);
  return l;
}

void LogHub::AppendFileLocked(const std::string& deployment, const LogLine& l) {
  if (dir_.empty()) return;
  File& file = files_[deployment];
  std::string path = FilePath(deployment);
  if (file.f && file.size >= opt_.max_file_bytes) {
    fclose(file.f);
    file.f = nullptr;
    for (int k = opt_.max_files - 1; k >= 1; --k) {
      std::string from = k == 1 ? path : path + "." + std::to_string(k - 1);
      std::rename(from.c_str(), (path + "." + std::to_string(k)).c_str());
    }
    if (opt_.max_files <= 1) std::remove(path.c_str());
  }
  if (!file.f) {
    file.f = fopen(path.c_str(), "ae");
    if (!file.f) return;  // the ring still has the line; files are best effort
    struct stat st;
    file.size = fstat(fileno(file.f), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  }
  std::string text = IsoTime(l.ts_ms) + " " + l.replica + " " + LogStreamName(l.stream) + " " +
                     l.line + "\n";
  if (fwrite(text.data(), 1, text.size(), file.f) == text.size()) file.size += text.size();
  fflush(file.f);
}

void LogHub::Deliver(const std::vector<LogLine>& lines) {
  if (lines.empty()) return;
  std::vector<std::pair<std::string, std::shared_ptr<Callback>>> subs;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [token, sub] : subs_) subs.push_back(sub);
  }
  for (const auto& l : lines)
    for (const auto& [target, cb] : subs)
      if (Matches(target, l.replica)) (*cb)(l);
}

void LogHub::Write(const std::string& deployment, uint32_t index, LogStream stream,
                   std::string_view bytes) {
  std::vector<LogLine> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    Ring& ring = rings_[ReplicaName(deployment, index)];
    std::string& partial = ring.partial[stream == LogStream::kStderr ? 1 : 0];
    size_t pos;
    while ((pos = bytes.find('\n')) != std::string_view::npos) {
      Append(&partial, bytes.substr(0, pos), opt_.max_line_bytes);
      if (!partial.empty() && partial.back() == '\r') partial.pop_back();
      out.push_back(RecordLocked(deployment, index, stream, partial));
      partial.clear();
      bytes.remove_prefix(pos + 1);
    }
    Append(&partial, bytes, opt_.max_line_bytes);
    if (partial.size() >= opt_.max_line_bytes) {
      out.push_back(RecordLocked(deployment, index, stream, partial));
      partial.clear();
    }
  }
  Deliver(out);
}

void LogHub::Line(const std::string& deployment, uint32_t index, LogStream stream,
                  std::string_view line) {
  std::vector<LogLine> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.push_back(RecordLocked(deployment, index, stream, line));
  }
  Deliver(out);
}

void LogHub::Flush(const std::string& deployment, uint32_t index) {
  std::vector<LogLine> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = rings_.find(ReplicaName(deployment, index));
    if (it == rings_.end()) return;
    for (int s = 0; s < 2; ++s) {
      std::string& partial = it->second.partial[s];
      if (partial.empty()) continue;
      std::string text = std::move(partial);
      partial.clear();
      out.push_back(
          RecordLocked(deployment, index, s ? LogStream::kStderr : LogStream::kStdout, text));
    }
  }
  Deliver(out);
}

void LogHub::Forget(const std::string& deployment, uint32_t from) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string prefix = deployment + "#";
  for (auto it = rings_.lower_bound(prefix);
       it != rings_.end() && it->first.compare(0, prefix.size(), prefix) == 0;) {
    uint32_t index = static_cast<uint32_t>(std::stoul(it->first.substr(prefix.size())));
    it = index >= from ? rings_.erase(it) : std::next(it);
  }
  if (from == 0) {
    auto f = files_.find(deployment);
    if (f != files_.end()) {
      if (f->second.f) fclose(f->second.f);
      files_.erase(f);
    }
  }
}

std::vector<LogLine> LogHub::Tail(const std::string& target, size_t n) const {
  std::vector<LogLine> out;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = rings_.lower_bound(target);
         it != rings_.end() && it->first.compare(0, target.size(), target) == 0; ++it) {
      if (!Matches(target, it->first)) continue;
      const auto& lines = it->second.lines;
      size_t skip = lines.size() > n ? lines.size() - n : 0;
      out.insert(out.end(), lines.begin() + static_cast<std::ptrdiff_t>(skip), lines.end());
    }
  }
  std::sort(out.begin(), out.end(),
            [](const LogLine& a, const LogLine& b) { return a.seq < b.seq; });
  if (out.size() > n) out.erase(out.begin(), out.end() - static_cast<std::ptrdiff_t>(n));
  return out;
}

uint64_t LogHub::Subscribe(const std::string& target, Callback cb) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t token = next_token_++;
  subs_[token] = {target, std::make_shared<Callback>(std::move(cb))};
  return token;
}

void LogHub::Unsubscribe(uint64_t token) {
  std::lock_guard<std::mutex> lock(mu_);
  subs_.erase(token);
}

}  // namespace arcella::platform
