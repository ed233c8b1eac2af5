// A small closed-loop HTTP/1.1 load generator for bench/http/run.sh (not part
// of the build or the tests). C keep-alive connections, one thread each: send
//   GET PATH HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n
// read the whole response (status line, then a Content-Length body, a chunked
// body with its trailers, or a body up to the close), and send the next one.
// Only exchanges that complete within the measured window (after the warm-up)
// count. Prints one line of JSON:
//   {"requests":N,"errors":E,"reconnects":R,"rps":X,"p50_us":..,"p90_us":..,
//    "p99_us":..,...}
// requests = 200 responses read whole in the window; errors = non-200
// responses plus broken exchanges (reset, timeout, malformed response);
// requests_with_warmup = the 200s of the whole run, warm-up included (for
// CPU per request); reconnects = connections opened again after the server closed one (a
// `connection: close` answer, or a close of an idle keep-alive connection;
// a request that found its connection closed before any byte of the answer
// is sent again on a new one and is not an error). Latency percentiles are
// over the 200s, from the request's first send (of its first attempt when it
// was sent again) to the last byte of the response read.
//
//   g++ -O2 -std=c++20 -pthread -o load bench/http/load.cc
//   load --port P --path /x --connections C --duration S [--warmup W]
//        [--host 127.0.0.1] [--timeout S]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path = "/";
  int connections = 1;
  double duration = 5;
  double warmup = 1;
  double timeout = 10;  // per receive: a stuck server is an error, not a hang
};

struct Stats {
  uint64_t ok = 0;
  uint64_t non200 = 0;
  uint64_t broken = 0;
  uint64_t reconnects = 0;
  uint64_t total_ok = 0;  // 200s over the whole run, warm-up included
  std::vector<uint32_t> latency_us;
  std::string first_error;
};

[[noreturn]] void Usage(const char* msg) {
  std::fprintf(stderr,
               "load: %s\nusage: load --port P --path /x --connections C --duration S "
               "[--warmup W] [--host 127.0.0.1] [--timeout S]\n",
               msg);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) Usage(("missing value for " + std::string(a)).c_str());
      return argv[++i];
    };
    if (a == "--port") o.port = std::atoi(value());
    else if (a == "--path") o.path = value();
    else if (a == "--connections") o.connections = std::atoi(value());
    else if (a == "--duration") o.duration = std::atof(value());
    else if (a == "--warmup") o.warmup = std::atof(value());
    else if (a == "--host") o.host = value();
    else if (a == "--timeout") o.timeout = std::atof(value());
    else Usage(("unknown option " + std::string(a)).c_str());
  }
  if (o.port <= 0 || o.port > 65535) Usage("--port must be 1..65535");
  if (o.connections < 1 || o.connections > 4096) Usage("--connections must be 1..4096");
  if (o.duration <= 0 || o.warmup < 0 || o.timeout <= 0) Usage("bad --duration/--warmup/--timeout");
  if (o.path.empty() || o.path[0] != '/') Usage("--path must start with '/'");
  return o;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool ContainsTokenCI(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = Trim(list.substr(0, comma));
    if (IEquals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// One connection: a socket and the bytes read but not yet consumed.
class Conn {
 public:
  Conn(const Options& o, const sockaddr_in& addr) : o_(o), addr_(addr) {}
  ~Conn() { Close(); }

  bool open() const { return fd_ >= 0; }
  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
    pos_ = 0;
  }

  bool Connect(std::string* err) {
    Close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return Fail(err, "socket");
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(o_.timeout);
    tv.tv_usec = static_cast<suseconds_t>((o_.timeout - static_cast<double>(tv.tv_sec)) * 1e6);
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), sizeof addr_) != 0) {
      Fail(err, "connect");
      Close();
      return false;
    }
    return true;
  }

  enum class Result { kOk, kClosedBeforeAnswer, kBroken };

  Result Send(std::string_view data, std::string* err) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        bool closed = errno == EPIPE || errno == ECONNRESET;
        Fail(err, "send");
        return closed ? Result::kClosedBeforeAnswer : Result::kBroken;
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return Result::kOk;
  }

  // Reads one whole response. *status gets its code, *close whether the
  // server will close the connection after it.
  Result ReadResponse(int* status, bool* close, std::string* err) {
    *close = false;
    size_t header_end;
    while ((header_end = Buffered().find("\r\n\r\n")) == std::string_view::npos) {
      if (Buffered().size() > (1 << 20)) return Broken(err, "response header over 1 MiB");
      size_t before = Buffered().size();
      int r = Fill(err);
      if (r == 0 || r == kReset) {
        if (before == 0) return Result::kClosedBeforeAnswer;  // not a byte of the answer yet
        return Broken(err, "connection closed inside the response header");
      }
      if (r < 0) return Result::kBroken;
    }
    std::string_view head = Buffered().substr(0, header_end);
    // Status line: HTTP/1.x SP code SP reason
    size_t eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ')
      return Broken(err, "bad status line: " + std::string(line.substr(0, 80)));
    *status = std::atoi(std::string(line.substr(9, 3)).c_str());
    bool http10 = line[7] == '0';
    long long content_length = -1;
    bool chunked = false;
    bool keep_alive = !http10;
    std::string_view fields = eol == std::string_view::npos ? std::string_view{}
                                                            : head.substr(eol + 2);
    while (!fields.empty()) {
      size_t e = fields.find("\r\n");
      std::string_view f = fields.substr(0, e);
      fields = e == std::string_view::npos ? std::string_view{} : fields.substr(e + 2);
      size_t colon = f.find(':');
      if (colon == std::string_view::npos) continue;
      std::string_view name = f.substr(0, colon), value = Trim(f.substr(colon + 1));
      if (IEquals(name, "content-length")) {
        content_length = std::strtoll(std::string(value).c_str(), nullptr, 10);
      } else if (IEquals(name, "transfer-encoding")) {
        chunked = ContainsTokenCI(value, "chunked");
      } else if (IEquals(name, "connection")) {
        if (ContainsTokenCI(value, "close")) keep_alive = false;
        if (ContainsTokenCI(value, "keep-alive")) keep_alive = true;
      }
    }
    pos_ += header_end + 4;
    *close = !keep_alive;
    bool no_body = (*status >= 100 && *status < 200) || *status == 204 || *status == 304;
    if (no_body) return Result::kOk;
    if (chunked) return ReadChunked(err);
    if (content_length >= 0) return ReadExactly(static_cast<size_t>(content_length), err);
    // Neither: the body runs to the close.
    *close = true;
    for (;;) {
      pos_ = buf_.size();
      int r = Fill(err);
      if (r == 0) return Result::kOk;
      if (r < 0) return Result::kBroken;
    }
  }

 private:
  std::string_view Buffered() const { return std::string_view(buf_).substr(pos_); }

  bool Fail(std::string* err, const char* what) {
    if (err->empty()) *err = std::string(what) + ": " + std::strerror(errno);
    return false;
  }
  Result Broken(std::string* err, std::string what) {
    if (err->empty()) *err = std::move(what);
    return Result::kBroken;
  }

  static constexpr int kReset = -2;

  // Appends what the socket has: >0 bytes read, 0 closed, kReset reset by
  // the peer (a server closing a connection with our request unread), -1
  // another error or a timeout.
  int Fill(std::string* err) {
    if (pos_ > 0 && pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    } else if (pos_ > 65536) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    char tmp[16384];
    for (;;) {
      ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          if (err->empty()) *err = "receive timed out";
          return -1;
        }
        int e = errno;
        Fail(err, "recv");
        return e == ECONNRESET ? kReset : -1;
      }
      if (n == 0) return 0;
      buf_.append(tmp, static_cast<size_t>(n));
      return static_cast<int>(n);
    }
  }

  Result ReadExactly(size_t n, std::string* err) {
    while (Buffered().size() < n) {
      int r = Fill(err);
      if (r == 0) return Broken(err, "connection closed inside the response body");
      if (r < 0) return Result::kBroken;
    }
    pos_ += n;
    return Result::kOk;
  }

  // Reads a line ending in CRLF (returned without it).
  bool ReadLine(std::string* line, std::string* err) {
    size_t e;
    while ((e = Buffered().find("\r\n")) == std::string_view::npos) {
      if (Buffered().size() > 65536) {
        Broken(err, "chunk line over 64 KiB");
        return false;
      }
      int r = Fill(err);
      if (r == 0) Broken(err, "connection closed inside a chunked body");
      if (r <= 0) return false;
    }
    line->assign(Buffered().substr(0, e));
    pos_ += e + 2;
    return true;
  }

  Result ReadChunked(std::string* err) {
    std::string line;
    for (;;) {
      if (!ReadLine(&line, err)) return Result::kBroken;
      char* end = nullptr;
      unsigned long long size = std::strtoull(line.c_str(), &end, 16);
      if (end == line.c_str()) return Broken(err, "bad chunk size line: " + line.substr(0, 40));
      if (size == 0) break;
      if (ReadExactly(static_cast<size_t>(size), err) != Result::kOk) return Result::kBroken;
      if (!ReadLine(&line, err)) return Result::kBroken;
      if (!line.empty()) return Broken(err, "chunk not followed by CRLF");
    }
    // Trailers, up to the empty line.
    for (;;) {
      if (!ReadLine(&line, err)) return Result::kBroken;
      if (line.empty()) return Result::kOk;
    }
  }

  const Options& o_;
  const sockaddr_in& addr_;
  int fd_ = -1;
  std::string buf_;
  size_t pos_ = 0;
};

void Worker(const Options& o, const sockaddr_in& addr, Clock::time_point measure_from,
            Clock::time_point measure_to, Stats* s) {
  const std::string request = "GET " + o.path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  Conn c(o, addr);
  bool fresh = false;     // the connection was opened for this request
  bool retrying = false;  // sending the request again: keep its first start time
  Clock::time_point t0;
  s->latency_us.reserve(1 << 16);
  auto note_error = [&](std::string& err) {
    if (s->first_error.empty() && !err.empty()) s->first_error = err;
  };
  while (Clock::now() < measure_to) {
    std::string err;
    if (!c.open()) {
      if (!c.Connect(&err)) {
        if (Clock::now() >= measure_from) {
          ++s->broken;
          note_error(err);
        }
        retrying = false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      fresh = true;
    }
    if (!retrying) t0 = Clock::now();
    retrying = false;
    int status = 0;
    bool close = false;
    Conn::Result r = c.Send(request, &err);
    if (r == Conn::Result::kOk) r = c.ReadResponse(&status, &close, &err);
    Clock::time_point t1 = Clock::now();
    bool counted = t0 >= measure_from && t1 < measure_to;
    if (r == Conn::Result::kClosedBeforeAnswer && !fresh) {
      // A keep-alive connection the server had closed (FIN or reset before
      // a byte of the answer): send the request again on a new one.
      c.Close();
      if (t1 >= measure_from) ++s->reconnects;
      retrying = true;
      continue;
    }
    fresh = false;
    if (r != Conn::Result::kOk) {
      if (r == Conn::Result::kClosedBeforeAnswer && err.empty())
        err = "connection closed before the response (on a new connection)";
      c.Close();
      if (t1 >= measure_from && t1 < measure_to) {
        ++s->broken;
        note_error(err);
      }
      continue;
    }
    if (status == 200) ++s->total_ok;
    if (counted) {
      if (status == 200) {
        ++s->ok;
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(t1 - t0).count();
        s->latency_us.push_back(static_cast<uint32_t>(std::min<long long>(us, UINT32_MAX)));
      } else {
        ++s->non200;
        if (s->first_error.empty()) s->first_error = "status " + std::to_string(status);
      }
    }
    if (close) {
      c.Close();
      if (t1 >= measure_from) ++s->reconnects;
    }
  }
}

double Percentile(const std::vector<uint32_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(sorted.size()));
  if (i >= sorted.size()) i = sorted.size() - 1;
  return sorted[i];
}

std::string JsonString(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (static_cast<unsigned char>(ch) < 0x20) {
      char tmp[8];
      std::snprintf(tmp, sizeof tmp, "\\u%04x", ch);
      out += tmp;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  if (::inet_pton(AF_INET, o.host.c_str(), &addr.sin_addr) != 1)
    Usage("--host must be an IPv4 address");

  auto to_dur = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  Clock::time_point start = Clock::now();
  Clock::time_point measure_from = start + to_dur(o.warmup);
  Clock::time_point measure_to = measure_from + to_dur(o.duration);

  std::vector<Stats> stats(static_cast<size_t>(o.connections));
  std::vector<std::thread> threads;
  threads.reserve(stats.size());
  for (auto& s : stats)
    threads.emplace_back(Worker, std::cref(o), std::cref(addr), measure_from, measure_to, &s);
  for (auto& t : threads) t.join();

  Stats all;
  for (auto& s : stats) {
    all.ok += s.ok;
    all.non200 += s.non200;
    all.broken += s.broken;
    all.reconnects += s.reconnects;
    all.total_ok += s.total_ok;
    all.latency_us.insert(all.latency_us.end(), s.latency_us.begin(), s.latency_us.end());
    if (all.first_error.empty()) all.first_error = s.first_error;
  }
  std::sort(all.latency_us.begin(), all.latency_us.end());
  double mean = 0;
  for (uint32_t v : all.latency_us) mean += v;
  if (!all.latency_us.empty()) mean /= static_cast<double>(all.latency_us.size());

  std::printf(
      "{\"requests\":%llu,\"errors\":%llu,\"non200\":%llu,\"broken\":%llu,\"reconnects\":%llu,"
      "\"rps\":%.1f,\"p50_us\":%.0f,\"p90_us\":%.0f,\"p99_us\":%.0f,\"mean_us\":%.1f,"
      "\"max_us\":%.0f,\"requests_with_warmup\":%llu,\"connections\":%d,\"duration_s\":%g,\"warmup_s\":%g,\"path\":%s,"
      "\"first_error\":%s}\n",
      static_cast<unsigned long long>(all.ok),
      static_cast<unsigned long long>(all.non200 + all.broken),
      static_cast<unsigned long long>(all.non200), static_cast<unsigned long long>(all.broken),
      static_cast<unsigned long long>(all.reconnects), static_cast<double>(all.ok) / o.duration,
      Percentile(all.latency_us, 50), Percentile(all.latency_us, 90),
      Percentile(all.latency_us, 99), mean,
      all.latency_us.empty() ? 0.0 : static_cast<double>(all.latency_us.back()),
      static_cast<unsigned long long>(all.total_ok), o.connections, o.duration, o.warmup,
      JsonString(o.path).c_str(), JsonString(all.first_error).c_str());
  return 0;
}
