// HttpIngress (http_ingress.h): Boost.Beast sessions on two I/O threads;
// each parsed request goes to a pool thread that makes the guest call
// (Platform::ServeHttp) and posts the response back to its session.
#include "daemon/http_ingress.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "daemon/http_request.h"
#include "platform/http_call.h"
#include "platform/replica_host.h"

namespace arcella::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Response = http::response<http::string_body>;

namespace {

constexpr int kIoThreads = 2;
constexpr int kCallThreads = 32;  // guest calls in flight, all connections

Response Plain(unsigned status, std::string text) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "text/plain; charset=utf-8");
  res.body() = std::move(text) + "\n";
  return res;
}

bool Token(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!(std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos))
      return false;
  return true;
}

bool FieldValue(const std::string& s) {
  for (unsigned char c : s)
    if (c == '\r' || c == '\n' || c == 0) return false;
  return true;
}

// Hop-by-hop and framing headers are the ingress's, never the guest's.
bool Framing(const std::string& lower) {
  return lower == "connection" || lower == "keep-alive" || lower == "transfer-encoding" ||
         lower == "content-length" || lower == "upgrade" || lower == "te" || lower == "trailer" ||
         lower == "proxy-connection";
}

}  // namespace

class HttpIngress::Impl {
 public:
  Impl(platform::Platform* p, const platform::Config::Http& c)
      : platform_(p), config_(c), acceptor_(asio::make_strand(ioc_)), calls_(kCallThreads) {}

  Status Listen();
  void Accept();
  void Stop();
  // The guest call and its response (a pool thread).
  Response Serve(const std::string& path, const std::string& request_text,
                 platform::CallControl* control);

  platform::Platform* const platform_;
  const platform::Config::Http config_;
  std::atomic<int> connections_{0};  // before ioc_: sessions outlive its handlers
  asio::io_context ioc_;
  tcp::acceptor acceptor_;  // on a strand of its own: accepts and the close never overlap
  asio::thread_pool calls_;
  std::vector<std::thread> io_threads_;
  std::string address_;
  bool stopped_ = false;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket s, HttpIngress::Impl* in) : stream_(std::move(s)), in_(in) {
    in_->connections_.fetch_add(1);
  }
  ~Session() { in_->connections_.fetch_sub(1); }

  void Start(bool over_limit) {
    auto self = shared_from_this();
    asio::dispatch(stream_.get_executor(), [self, over_limit] {
      if (over_limit) {
        self->keep_alive_ = false;
        self->Write(Plain(503, "too many HTTP connections (at most " +
                                   std::to_string(self->in_->config_.max_connections) + ")"));
        return;
      }
      self->Read();
    });
  }

 private:
  void Read() {
    head_ = false;
    parser_.emplace();
    parser_->body_limit(platform::kMaxHttpBody);
    parser_->header_limit(kHttpHeaderLimit);
    stream_.expires_after(in_->config_.read_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->OnRead(ec);
                              self->ReadBody();
                            });
  }

  // A client that sent `Expect: 100-continue` waits for an interim 100
  // before its body (RFC 9110 §10.1.1); a refused header (too large a
  // Content-Length) was answered before this.
  void ReadBody() {
    auto self = shared_from_this();
    auto body = [self] {
      http::async_read(self->stream_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec, size_t) { self->OnRead(ec); });
    };
    const auto& h = parser_->get();
    auto expect = h.find(http::field::expect);
    if (expect == h.end() || !beast::iequals(expect->value(), "100-continue") || parser_->is_done())
      return body();
    continue_ = std::make_unique<http::response<http::empty_body>>(http::status::continue_,
                                                                   h.version());
    http::async_write(stream_, *continue_, [self, body](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      body();
    });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset)
      return Close();
    keep_alive_ = false;
    // The stream closed the socket when its timer ran out: nothing can be
    // answered (as nginx, which logs a 408 and sends nothing).
    if (ec == beast::error::timeout) return Close();
    if (ec == http::error::body_limit)
      return Write(Plain(413, "the request body is larger than " +
                                  std::to_string(platform::kMaxHttpBody) + " bytes"));
    if (ec == http::error::header_limit)
      return Write(Plain(431, "the request header is larger than " +
                                  std::to_string(kHttpHeaderLimit) + " bytes"));
    if (ec) return Write(Plain(400, "bad request: " + ec.message()));

    const auto& req = parser_->get();
    auto converted = ToComponentRequest(req);
    if (auto* refusal = std::get_if<HttpRefusal>(&converted))
      return Write(Plain(refusal->status, std::move(refusal->message)));
    component::HttpRequest& r = std::get<component::HttpRequest>(converted);
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    head_ = req.method() == http::verb::head;
    std::string path = r.path_with_query;
    std::string text = platform::EncodeHttpRequest(r);
    stream_.expires_never();
    auto self = shared_from_this();
    auto control = std::make_shared<platform::CallControl>();
    Watch(control);
    asio::post(in_->calls_,
               [self, control, path = std::move(path), text = std::move(text)]() mutable {
                 Response res = self->in_->Serve(path, text, control.get());
                 auto ex = self->stream_.get_executor();
                 asio::post(ex, [self, res = std::move(res)]() mutable {
                   self->Unwatch();
                   self->Write(std::move(res));
                 });
               });
  }

  // While its guest call runs, a client that closes its connection cancels
  // it (as nginx aborts the upstream request on a client's close): the
  // socket is watched for readability; end of stream or an error cancels
  // the call, bytes (a pipelined request) end the watch and stay unread for
  // the next Read. A stale watch (its call answered) does nothing.
  void Watch(std::shared_ptr<platform::CallControl> control) {
    watched_ = std::move(control);
    const uint64_t gen = ++watch_gen_;
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this(),
                                                         gen](beast::error_code ec) {
      if (gen != self->watch_gen_ || !self->watched_) return;
      if (ec == asio::error::operation_aborted) return;
      char c;
      ssize_t n = ec ? -1
                     : ::recv(self->stream_.socket().native_handle(), &c, 1,
                              MSG_PEEK | MSG_DONTWAIT);
      if (n > 0) return self->Unwatch();
      if (n < 0 && !ec && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return self->Watch(std::move(self->watched_));  // nothing after all
      self->watched_->Cancel();  // 0: end of stream; < 0: the connection failed
      self->Unwatch();
    });
  }
  void Unwatch() {
    ++watch_gen_;
    watched_.reset();
    beast::error_code ec;
    stream_.socket().cancel(ec);  // only the watch is pending now
  }

  void Write(Response res) {
    res_ = std::make_unique<Response>(std::move(res));
    res_->version(version_);
    res_->keep_alive(keep_alive_);
    res_->set(http::field::server, "arcella");
    if (head_) {  // the length a GET would get, and no body (RFC 9110 §9.3.2)
      size_t n = res_->body().size();
      res_->body().clear();
      res_->content_length(n);
    } else {
      res_->prepare_payload();
    }
    stream_.expires_after(in_->config_.read_timeout);
    http::async_write(stream_, *res_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      if (!self->keep_alive_) return self->Linger();
      self->Read();
    });
  }

  // Closing with unread request bytes would reset the connection and lose
  // the answer just sent (a 413 or 431 while the client still sends): stop
  // sending, read and drop what comes for up to a second, then close.
  void Linger() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    stream_.expires_after(std::chrono::seconds(1));
    Drain();
  }
  void Drain() {
    stream_.async_read_some(asio::buffer(drain_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->Close();
                              self->Drain();
                            });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  HttpIngress::Impl* const in_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::unique_ptr<Response> res_;
  std::unique_ptr<http::response<http::empty_body>> continue_;  // the interim 100
  std::shared_ptr<platform::CallControl> watched_;              // the running call's (Watch)
  uint64_t watch_gen_ = 0;                                      // which Watch is current
  bool keep_alive_ = true;
  bool head_ = false;  // the request being answered is a HEAD
  char drain_[4096];
  unsigned version_ = 11;
};

}  // namespace

Status HttpIngress::Impl::Listen() {
  const std::string& listen = config_.listen;
  size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  beast::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("http.listen \"" + listen + "\": not an IP address");
  tcp::endpoint ep(addr, static_cast<uint16_t>(std::stoul(listen.substr(colon + 1))));
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::IoError("HTTP ingress: cannot listen on " + listen + ": " + ec.message());
  tcp::endpoint bound = acceptor_.local_endpoint(ec);
  std::string ip = bound.address().to_string();
  address_ = (bound.address().is_v6() ? "[" + ip + "]" : ip) + ":" + std::to_string(bound.port());
  return Status::Ok();
}

void HttpIngress::Impl::Accept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (!ec) {
      bool over = connections_.load() >= static_cast<int>(config_.max_connections);
      std::make_shared<Session>(std::move(s), this)->Start(over);
    }
    Accept();
  });
}

Response HttpIngress::Impl::Serve(const std::string& path, const std::string& request_text,
                                  platform::CallControl* control) {
  auto served = platform_->ServeHttp(path, request_text, control);
  if (!served.ok()) {
    const Status& st = served.status();
    unsigned code = st.code() == StatusCode::kNotFound             ? 404
                    : st.code() == StatusCode::kFailedPrecondition ? 503
                    : st.code() == StatusCode::kUnavailable        ? 503
                    : st.code() == StatusCode::kInvalidArgument    ? 400
                                                                   : 500;
    return Plain(code, st.message());
  }
  const platform::CallResult& call = served->call;
  if (call.trap) return Plain(500, served->deployment + " (" + call.replica + "): " + call.error());
  if (call.results.size() != 1) return Plain(502, call.replica + " answered no HTTP response");
  auto response = platform::DecodeHttpResponse(call.results[0]);
  if (!response.ok())
    return Plain(502, call.replica +
                          " answered a malformed HTTP response: " + response.status().message());
  Response res{static_cast<http::status>(response->status), 11};
  for (auto& [name, value] : response->headers) {
    std::string lower = name;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!Token(name) || !FieldValue(value))
      return Plain(502, call.replica + " answered a malformed header field");
    if (Framing(lower)) continue;
    res.insert(name, value);
  }
  res.set("x-arcella-replica", call.replica);
  res.body() = std::move(response->body);
  return res;
}

void HttpIngress::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  ioc_.stop();
  for (auto& t : io_threads_)
    if (t.joinable()) t.join();
  beast::error_code ec;
  acceptor_.close(ec);  // no I/O thread runs any more
  calls_.join();        // calls in flight end (the platform's Shutdown interrupts them)
}

Result<std::unique_ptr<HttpIngress>> HttpIngress::Start(platform::Platform* platform,
                                                        const platform::Config::Http& config) {
  auto impl = std::make_unique<Impl>(platform, config);
  ARCELLA_RETURN_IF_ERROR(impl->Listen());
  impl->Accept();
  for (int i = 0; i < kIoThreads; ++i)
    impl->io_threads_.emplace_back([p = impl.get()] { p->ioc_.run(); });
  return std::unique_ptr<HttpIngress>(new HttpIngress(std::move(impl)));
}

HttpIngress::HttpIngress(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpIngress::~HttpIngress() { Stop(); }
const std::string& HttpIngress::address() const { return impl_->address_; }
void HttpIngress::Stop() { impl_->Stop(); }

}  // namespace arcella::daemon
