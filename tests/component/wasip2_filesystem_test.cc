// wasi:filesystem@0.2.12 on a temporary directory preopen: every descriptor
// method through the host functions, the sandbox (escapes, read-only trees,
// descriptor flags), the file streams and directory listing.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "component/decoder.h"
#include "component/instance.h"
#include "component/npm_tools_util.h"
#include "component/wasip2/filesystem.h"
#include "component/wasip2/state.h"
#include "component/wasip2/wasi_p2.h"
#include "component/wasip2/wit_host.h"
#include "test_util.h"
#include "wasi/wasi.h"

namespace arcella::component {
namespace {

// error-code cases (WIT order).
constexpr uint32_t kEBadDescriptor = 3, kEExist = 7, kEInvalid = 12, kEIsDirectory = 14,
                   kELoop = 15, kENoEntry = 20, kENotDirectory = 24, kENotEmpty = 25,
                   kENotPermitted = 31, kEReadOnly = 33;
// descriptor-type cases.
constexpr uint32_t kTDirectory = 3, kTSymlink = 5, kTRegular = 6;
// open-flags bits.
constexpr uint64_t kCreate = 1, kDirectory = 2, kExclusive = 4, kTruncate = 8;
constexpr uint64_t kFollow = 1;

void WriteFile(const std::string& p, const std::string& s) { std::ofstream(p) << s; }
std::string Slurp(const std::string& p) {
  std::ifstream f(p);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}
bool Exists(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0;
}

Val B(uint64_t rep) { return Val::Borrow(nullptr, rep); }
Val S(std::string s) { return Val::String(std::move(s)); }
Val F(uint64_t bits) { return Val::Flags(bits); }
Val NoChange() { return Val::Variant(0); }
Val At(uint64_t sec, uint32_t ns) {
  return Val::Variant(2, {Val::Record({Val::U64(sec), Val::U32(ns)})});
}
Val Bytes(std::string_view s) {
  std::vector<Val> v;
  for (char c : s) v.push_back(Val::U8(static_cast<uint8_t>(c)));
  return Val::List(std::move(v));
}
std::string FromBytes(const Val& list) {
  std::string s;
  for (const Val& b : list.items) s.push_back(static_cast<char>(b.u));
  return s;
}

class FsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = arcella::test::TempDir("wasip2-fs");
    box_ = root_ + "/box";
    ro_ = root_ + "/ro";
    ASSERT_EQ(mkdir(box_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((box_ + "/sub").c_str(), 0755), 0);
    ASSERT_EQ(mkdir(ro_.c_str(), 0755), 0);
    ASSERT_EQ(mkdir((ro_ + "/rsub").c_str(), 0755), 0);
    WriteFile(root_ + "/secret", "SECRET");
    WriteFile(box_ + "/inside", "INSIDE");
    WriteFile(ro_ + "/data", "READ ONLY");
    ASSERT_EQ(symlink("/etc", (box_ + "/etc_link").c_str()), 0);
    ASSERT_EQ(symlink("../secret", (box_ + "/up_link").c_str()), 0);
    ASSERT_EQ(symlink("../../secret", (box_ + "/sub/up2").c_str()), 0);
    ASSERT_EQ(symlink(("/proc/self/root" + root_).c_str(), (box_ + "/magic").c_str()), 0);
    ASSERT_EQ(symlink("loop_b", (box_ + "/loop_a").c_str()), 0);
    ASSERT_EQ(symlink("loop_a", (box_ + "/loop_b").c_str()), 0);
    ASSERT_EQ(symlink("sub/../inside", (box_ + "/ok_link").c_str()), 0);
    Make({{box_, "/box", false}, {ro_, "/ro", true}});
  }
  void TearDown() override { (void)system(("rm -rf " + root_).c_str()); }

  void Make(std::vector<wasi::WasiConfig::Preopen> preopens) {
    wasi::WasiConfig cfg;
    cfg.preopens = std::move(preopens);
    auto ctx = wasi::WasiCtx::Create(std::move(cfg));
    ASSERT_TRUE(ctx.ok()) << ctx.status().ToString();
    st_ = std::make_shared<WasiP2State>(*ctx);
    impls_ = FilesystemTypesImpls(st_);
    for (auto& p : FilesystemPreopensImpls(st_)) impls_.push_back(std::move(p));
  }

  TrapOr<std::vector<Val>> Raw(const std::string& name, std::vector<Val> args) {
    for (auto& [n, fn] : impls_)
      if (n == name) return fn(std::move(args));
    ADD_FAILURE() << "no host function " << name;
    return std::vector<Val>{};
  }
  // The single result of `name`, checked against the WIT's result type; a
  // trap fails the test.
  Val Call(const std::string& name, std::vector<Val> args) {
    auto r = Raw(name, std::move(args));
    if (!r.ok()) {
      ADD_FAILURE() << name << " trapped: " << r.trap().message;
      return Val::ResultErr({Val::Enum(999)});
    }
    if (r.value().size() != 1) {
      ADD_FAILURE() << name << " gave " << r.value().size() << " results";
      return Val::ResultErr({Val::Enum(999)});
    }
    const Val& v = r.value()[0];
    std::string iface = name == "get-directories" ? "preopens" : "types";
    auto wit = WasiInterface("wasi:filesystem/" + iface + "@0.2.12");
    const WitFunction* f = wit.ok() ? (*wit)->FindFunction(name) : nullptr;
    EXPECT_NE(f, nullptr) << name << " is not in the WIT";
    std::string why;
    if (f && f->type.result) {
      EXPECT_TRUE(ValMatches(v, *f->type.result, &why)) << name << ": " << why;
    }
    return v;
  }
  Val M(const std::string& method, std::vector<Val> args) {
    return Call("[method]descriptor." + method, std::move(args));
  }
  // The error-code of a failed result, or -1 when it succeeded.
  static int64_t Code(const Val& r) { return r.index == 1 ? r.payload().index : -1; }
  static const Val& Okv(const Val& r) {
    EXPECT_EQ(r.index, 0u) << "error-code " << Code(r);
    static const Val kNone;
    return r.has_payload() ? r.payload() : kNone;
  }

  // The rep of preopen `i` (0: /box, 1: /ro).
  uint64_t Pre(size_t i) {
    Val l = Call("get-directories", {});
    EXPECT_GT(l.items.size(), i);
    if (l.items.size() <= i) return 0;
    return l.items[i].items[0].u;
  }
  Val Open(uint64_t dir, const std::string& path, uint64_t oflags, uint64_t dflags,
           uint64_t pflags = 0) {
    return M("open-at", {B(dir), F(pflags), S(path), F(oflags), F(dflags)});
  }
  uint64_t OpenOk(uint64_t dir, const std::string& path, uint64_t oflags, uint64_t dflags) {
    Val r = Open(dir, path, oflags, dflags);
    return Okv(r).u;
  }
  Val StatAt(uint64_t dir, const std::string& path, uint64_t pflags = 0) {
    return M("stat-at", {B(dir), F(pflags), S(path)});
  }

  std::string root_, box_, ro_;
  std::shared_ptr<WasiP2State> st_;
  HostImpls impls_;
};

TEST_F(FsTest, NoPreopensNoFileSystem) {
  Make({});
  EXPECT_TRUE(Call("get-directories", {}).items.empty());
}

TEST_F(FsTest, PreopensWithNamesFlagsAndType) {
  Val l = Call("get-directories", {});
  ASSERT_EQ(l.items.size(), 2u);
  EXPECT_EQ(l.items[0].items[1].str, "/box");
  EXPECT_EQ(l.items[1].items[1].str, "/ro");
  uint64_t box = l.items[0].items[0].u, ro = l.items[1].items[0].u;
  EXPECT_EQ(Okv(M("get-flags", {B(box)})).u, dflag::kRead | dflag::kMutateDirectory);
  EXPECT_EQ(Okv(M("get-flags", {B(ro)})).u, dflag::kRead);
  EXPECT_EQ(Okv(M("get-type", {B(box)})).index, kTDirectory);
  // Each call hands out new descriptors of the same directories.
  uint64_t again = Pre(0);
  EXPECT_NE(again, box);
  EXPECT_TRUE(M("is-same-object", {B(box), B(again)}).b);
  EXPECT_FALSE(M("is-same-object", {B(box), B(ro)}).b);
}

TEST_F(FsTest, FileReadWriteStatSizeSync) {
  uint64_t box = Pre(0);
  uint64_t f = OpenOk(box, "new.txt", kCreate | kExclusive, dflag::kRead | dflag::kWrite);
  EXPECT_EQ(Okv(M("write", {B(f), Bytes("hello"), Val::U64(0)})).u, 5u);
  EXPECT_EQ(Okv(M("write", {B(f), Bytes("!!"), Val::U64(5)})).u, 2u);
  EXPECT_EQ(Slurp(box_ + "/new.txt"), "hello!!");
  Val r = Okv(M("read", {B(f), Val::U64(100), Val::U64(1)}));
  EXPECT_EQ(FromBytes(r.items[0]), "ello!!");
  EXPECT_TRUE(r.items[1].b);  // end of file reached
  r = Okv(M("read", {B(f), Val::U64(2), Val::U64(0)}));
  EXPECT_EQ(FromBytes(r.items[0]), "he");
  EXPECT_FALSE(r.items[1].b);

  Val st = Okv(M("stat", {B(f)}));
  EXPECT_EQ(st.items[0].index, kTRegular);
  EXPECT_EQ(st.items[1].u, 1u);      // link-count
  EXPECT_EQ(st.items[2].u, 7u);      // size
  EXPECT_EQ(st.items[4].index, 1u);  // some(modification time)
  EXPECT_EQ(Okv(M("get-type", {B(f)})).index, kTRegular);
  EXPECT_EQ(Okv(M("get-flags", {B(f)})).u, dflag::kRead | dflag::kWrite);

  Okv(M("set-size", {B(f), Val::U64(3)}));
  EXPECT_EQ(Slurp(box_ + "/new.txt"), "hel");
  Okv(M("sync", {B(f)}));
  Okv(M("sync-data", {B(f)}));
  Okv(M("advise", {B(f), Val::U64(0), Val::U64(3), Val::Enum(1)}));
  Okv(M("set-times", {B(f), At(1000000000, 5), Val::Variant(1)}));
  st = Okv(M("stat", {B(f)}));
  EXPECT_EQ(st.items[3].payload().items[0].u, 1000000000u);
  EXPECT_EQ(st.items[3].payload().items[1].u, 5u);
  EXPECT_EQ(Code(M("set-times", {B(f), At(1, 1000000000), NoChange()})), kEInvalid);

  // Exclusive create of an existing file; truncate on open.
  EXPECT_EQ(Code(Open(box, "new.txt", kCreate | kExclusive, dflag::kWrite)), kEExist);
  OpenOk(box, "new.txt", kTruncate, dflag::kWrite);
  EXPECT_EQ(Slurp(box_ + "/new.txt"), "");
  EXPECT_EQ(Code(Open(box, "missing", 0, dflag::kRead)), kENoEntry);
  // A huge length is a short read (one call lifts at most 64 KiB), not EOF.
  WriteFile(box_ + "/big", std::string(100000, 'b'));
  uint64_t big = OpenOk(box, "big", 0, dflag::kRead);
  r = Okv(M("read", {B(big), Val::U64(uint64_t{1} << 40), Val::U64(0)}));
  EXPECT_EQ(r.items[0].items.size(), 65536u);
  EXPECT_FALSE(r.items[1].b);
  r = Okv(M("read", {B(big), Val::U64(uint64_t{1} << 40), Val::U64(99990)}));
  EXPECT_EQ(r.items[0].items.size(), 10u);
  EXPECT_TRUE(r.items[1].b);
  EXPECT_EQ(Code(Open(box, "inside", kDirectory, dflag::kRead)), kENotDirectory);
  EXPECT_EQ(Code(Open(box, "sub", kDirectory | kCreate, dflag::kRead)), kEInvalid);
}

TEST_F(FsTest, DescriptorFlagsLimitAccess) {
  uint64_t box = Pre(0);
  uint64_t r = OpenOk(box, "inside", 0, dflag::kRead);
  EXPECT_EQ(Code(M("write", {B(r), Bytes("x"), Val::U64(0)})), kEBadDescriptor);
  EXPECT_EQ(Code(M("write-via-stream", {B(r), Val::U64(0)})), kEBadDescriptor);
  EXPECT_EQ(Code(M("append-via-stream", {B(r)})), kEBadDescriptor);
  EXPECT_EQ(Code(M("set-size", {B(r), Val::U64(0)})), kEBadDescriptor);
  uint64_t w = OpenOk(box, "inside", 0, dflag::kWrite);
  EXPECT_EQ(Code(M("read", {B(w), Val::U64(1), Val::U64(0)})), kEBadDescriptor);
  EXPECT_EQ(Code(M("read-via-stream", {B(w), Val::U64(0)})), kEBadDescriptor);
  EXPECT_EQ(Slurp(box_ + "/inside"), "INSIDE");
  // A directory opened from a writable one may change what is in it (it
  // inherits mutate-directory, as in wasmtime: the preview-1 adapter never
  // asks for it).
  uint64_t sub = OpenOk(box, "sub", kDirectory, dflag::kRead);
  EXPECT_EQ(Okv(M("get-flags", {B(sub)})).u, dflag::kRead | dflag::kMutateDirectory);
  Okv(M("create-directory-at", {B(sub), S("d")}));
  EXPECT_TRUE(Exists(box_ + "/sub/d"));
  // Directories: no byte I/O.
  EXPECT_EQ(Code(M("read", {B(box), Val::U64(1), Val::U64(0)})), kEIsDirectory);
  EXPECT_EQ(Code(M("read-directory", {B(r)})), kENotDirectory);
  EXPECT_EQ(Code(M("stat-at", {B(r), F(0), S("x")})), kENotDirectory);
}

TEST_F(FsTest, StreamsReadWriteAppend) {
  uint64_t box = Pre(0);
  uint64_t f = OpenOk(box, "s.txt", kCreate, dflag::kRead | dflag::kWrite);
  Val o = Okv(M("write-via-stream", {B(f), Val::U64(0)}));
  auto out = st_->output_streams.Get(static_cast<uint32_t>(o.u));
  ASSERT_TRUE(out);
  IoError err;
  uint64_t permit = 0;
  ASSERT_EQ(out->CheckWrite(&permit, &err), StreamStatus::kOk);
  EXPECT_GE(permit, 4096u);
  EXPECT_TRUE(out->Subscribe()->Ready());  // regular files are always ready
  ASSERT_EQ(out->Write("hello world", &err), StreamStatus::kOk);
  ASSERT_EQ(out->Flush(true, &err), StreamStatus::kOk);
  Val a = Okv(M("append-via-stream", {B(f)}));
  auto app = st_->output_streams.Get(static_cast<uint32_t>(a.u));
  ASSERT_TRUE(app);
  ASSERT_EQ(app->Write("!", &err), StreamStatus::kOk);
  ASSERT_EQ(out->Write("HELLO", &err), StreamStatus::kOk);  // at its own offset 11: over "!"
  ASSERT_EQ(app->Write("?", &err), StreamStatus::kOk);      // at the end again
  EXPECT_EQ(Slurp(box_ + "/s.txt"), "hello worldHELLO?");

  Val i = Okv(M("read-via-stream", {B(f), Val::U64(6)}));
  auto in = st_->input_streams.Get(static_cast<uint32_t>(i.u));
  ASSERT_TRUE(in);
  EXPECT_TRUE(in->Subscribe()->Ready());
  std::string got;
  ASSERT_EQ(in->Read(5, false, &got, &err), StreamStatus::kOk);
  EXPECT_EQ(got, "world");
  ASSERT_EQ(in->Read(1000, true, &got, &err), StreamStatus::kOk);
  EXPECT_EQ(got, "worldHELLO?");
  EXPECT_EQ(in->Read(1000, false, &got, &err), StreamStatus::kClosed);
  // Reading a directory's stream is refused up front.
  EXPECT_EQ(Code(M("read-via-stream", {B(box), Val::U64(0)})), kEIsDirectory);
}

// A FIFO in the preopen: its stream is non-blocking (ready only with data),
// and a blocking read ends once `interrupted` says so.
TEST_F(FsTest, FifoStreamPollsAndIsInterruptible) {
  std::atomic<bool> stop{false};
  wasi::WasiConfig cfg;
  cfg.preopens = {{box_, "/box", false}};
  cfg.interrupted = [&] { return stop.load(); };
  auto ctx = wasi::WasiCtx::Create(std::move(cfg));
  ASSERT_TRUE(ctx.ok());
  st_ = std::make_shared<WasiP2State>(*ctx);
  impls_ = FilesystemTypesImpls(st_);
  for (auto& p : FilesystemPreopensImpls(st_)) impls_.push_back(std::move(p));

  ASSERT_EQ(mkfifo((box_ + "/fifo").c_str(), 0600), 0);
  uint64_t f = OpenOk(Pre(0), "fifo", 0, dflag::kRead);
  EXPECT_EQ(Okv(M("get-type", {B(f)})).index, 4u);  // fifo
  int w = open((box_ + "/fifo").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(w, 0);
  Val i = Okv(M("read-via-stream", {B(f), Val::U64(0)}));
  auto in = st_->input_streams.Get(static_cast<uint32_t>(i.u));
  ASSERT_TRUE(in);
  auto ready = in->Subscribe();
  IoError err;
  std::string got;
  EXPECT_FALSE(ready->Ready());
  short events = 0;
  EXPECT_GE(ready->WaitFd(&events), 0);
  ASSERT_EQ(in->Read(10, false, &got, &err), StreamStatus::kOk);
  EXPECT_EQ(got, "");  // nothing yet, and no wait
  ASSERT_EQ(write(w, "abc", 3), 3);
  EXPECT_TRUE(ready->Ready());
  ASSERT_EQ(in->Read(10, false, &got, &err), StreamStatus::kOk);
  EXPECT_EQ(got, "abc");
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop = true;
  });
  EXPECT_EQ(in->Read(10, true, &got, &err), StreamStatus::kFailed);  // blocked, then interrupted
  stopper.join();
  EXPECT_EQ(err.host_errno, EINTR);
  close(w);
}

TEST_F(FsTest, ReadDirectoryListsEntries) {
  uint64_t box = Pre(0);
  Val s = Okv(M("read-directory", {B(box)}));
  std::vector<std::pair<std::string, uint32_t>> got;
  for (;;) {
    Val e = Okv(Call("[method]directory-entry-stream.read-directory-entry", {B(s.u)}));
    if (e.index == 0) break;
    got.emplace_back(e.payload().items[1].str, e.payload().items[0].index);
  }
  std::sort(got.begin(), got.end());
  std::vector<std::pair<std::string, uint32_t>> want = {
      {"etc_link", kTSymlink}, {"inside", kTRegular}, {"loop_a", kTSymlink},
      {"loop_b", kTSymlink},   {"magic", kTSymlink},  {"ok_link", kTSymlink},
      {"sub", kTDirectory},    {"up_link", kTSymlink}};
  EXPECT_EQ(got, want);  // no "." or ".."
  // Past the end it stays at none.
  EXPECT_EQ(Okv(Call("[method]directory-entry-stream.read-directory-entry", {B(s.u)})).index, 0u);
}

TEST_F(FsTest, PathOperations) {
  uint64_t box = Pre(0);
  Okv(M("create-directory-at", {B(box), S("d")}));
  EXPECT_EQ(Code(M("create-directory-at", {B(box), S("d")})), kEExist);
  EXPECT_EQ(Okv(StatAt(box, "d")).items[0].index, kTDirectory);

  Okv(M("symlink-at", {B(box), S("inside"), S("lnk")}));
  EXPECT_EQ(Okv(M("readlink-at", {B(box), S("lnk")})).str, "inside");
  EXPECT_EQ(Okv(StatAt(box, "lnk")).items[0].index, kTSymlink);
  EXPECT_EQ(Okv(StatAt(box, "lnk", kFollow)).items[0].index, kTRegular);
  EXPECT_EQ(Okv(StatAt(box, "ok_link", kFollow)).items[2].u, 6u);
  // Without symlink-follow, open-at does not open through a final symlink.
  EXPECT_EQ(Code(Open(box, "lnk", 0, dflag::kRead)), kELoop);
  Val r = Open(box, "lnk", 0, dflag::kRead, kFollow);
  uint64_t viaf = Okv(r).u;
  uint64_t direct = OpenOk(box, "inside", 0, dflag::kRead);
  EXPECT_TRUE(M("is-same-object", {B(viaf), B(direct)}).b);
  Val h1 = Okv(M("metadata-hash", {B(direct)}));
  Val h2 = Okv(M("metadata-hash-at", {B(box), F(kFollow), S("lnk")}));
  Val h3 = Okv(M("metadata-hash-at", {B(box), F(0), S("lnk")}));
  EXPECT_TRUE(ValEquals(h1, h2));
  EXPECT_FALSE(ValEquals(h1, h3));  // the link itself is another object

  Okv(M("link-at", {B(box), F(0), S("inside"), B(box), S("d/hard")}));
  EXPECT_EQ(Okv(StatAt(box, "inside")).items[1].u, 2u);  // link-count
  EXPECT_EQ(Slurp(box_ + "/d/hard"), "INSIDE");
  Okv(M("rename-at", {B(box), S("d/hard"), B(box), S("moved")}));
  EXPECT_FALSE(Exists(box_ + "/d/hard"));
  EXPECT_EQ(Slurp(box_ + "/moved"), "INSIDE");
  Okv(M("set-times-at", {B(box), F(0), S("moved"), At(7, 0), At(1234567, 89)}));
  Val st = Okv(StatAt(box, "moved"));
  EXPECT_EQ(st.items[3].payload().items[0].u, 7u);
  EXPECT_EQ(st.items[4].payload().items[0].u, 1234567u);
  EXPECT_EQ(st.items[4].payload().items[1].u, 89u);

  WriteFile(box_ + "/d/f", "x");
  EXPECT_EQ(Code(M("remove-directory-at", {B(box), S("d")})), kENotEmpty);
  EXPECT_EQ(Code(M("unlink-file-at", {B(box), S("d")})), kEIsDirectory);
  Okv(M("unlink-file-at", {B(box), S("d/f")}));
  Okv(M("remove-directory-at", {B(box), S("d")}));
  EXPECT_FALSE(Exists(box_ + "/d"));
  EXPECT_EQ(Code(M("unlink-file-at", {B(box), S("d/f")})), kENoEntry);
  Okv(M("unlink-file-at", {B(box), S("lnk")}));
  EXPECT_TRUE(Exists(box_ + "/inside"));  // unlinking a symlink leaves its target
}

// Every route out of the preopen is refused with not-permitted, and nothing
// outside is read, created or changed.
TEST_F(FsTest, EscapesRefused) {
  uint64_t box = Pre(0);
  for (const char* p : {"../secret", "/etc/passwd", "sub/../../secret", "etc_link/passwd",
                        "up_link", "sub/up2", "magic/secret", "./../box/inside"}) {
    EXPECT_EQ(Code(Open(box, p, 0, dflag::kRead, kFollow)), kENotPermitted) << p;
    EXPECT_EQ(Code(StatAt(box, p, kFollow)), kENotPermitted) << p;
    EXPECT_EQ(Code(M("metadata-hash-at", {B(box), F(kFollow), S(p)})), kENotPermitted) << p;
  }
  EXPECT_EQ(Code(Open(box, "loop_a", 0, dflag::kRead, kFollow)), kELoop);
  EXPECT_EQ(Code(Open(box, "../new", kCreate, dflag::kWrite)), kENotPermitted);
  EXPECT_EQ(Code(Open(box, "etc_link/x", kCreate, dflag::kWrite)), kENotPermitted);
  EXPECT_EQ(Code(M("create-directory-at", {B(box), S("../newdir")})), kENotPermitted);
  EXPECT_EQ(Code(M("unlink-file-at", {B(box), S("../secret")})), kENotPermitted);
  EXPECT_EQ(Code(M("remove-directory-at", {B(box), S("sub/../..")})), kENotPermitted);
  EXPECT_EQ(Code(M("rename-at", {B(box), S("inside"), B(box), S("../stolen")})), kENotPermitted);
  EXPECT_EQ(Code(M("rename-at", {B(box), S("../secret"), B(box), S("got")})), kENotPermitted);
  EXPECT_EQ(Code(M("link-at", {B(box), F(kFollow), S("up_link"), B(box), S("l")})), kENotPermitted);
  EXPECT_EQ(Code(M("symlink-at", {B(box), S("/etc/passwd"), S("abs")})), kENotPermitted);
  EXPECT_EQ(Code(M("readlink-at", {B(box), S("../secret")})), kENotPermitted);
  EXPECT_EQ(Code(M("set-times-at", {B(box), F(kFollow), S("up_link"), At(1, 0), At(1, 0)})),
            kENotPermitted);
  // A relative link leading out may be made, but never followed.
  Okv(M("symlink-at", {B(box), S("../secret"), S("out")}));
  EXPECT_EQ(Code(Open(box, "out", 0, dflag::kRead, kFollow)), kENotPermitted);
  // A subdirectory descriptor cannot climb to its parent either.
  uint64_t sub = OpenOk(box, "sub", kDirectory, dflag::kRead);
  EXPECT_EQ(Code(Open(sub, "../inside", 0, dflag::kRead)), kENotPermitted);
  EXPECT_EQ(Slurp(root_ + "/secret"), "SECRET");
  EXPECT_FALSE(Exists(root_ + "/new"));
  EXPECT_FALSE(Exists(root_ + "/newdir"));
  EXPECT_FALSE(Exists(root_ + "/stolen"));
  EXPECT_FALSE(Exists(box_ + "/got"));
  EXPECT_FALSE(Exists(box_ + "/abs"));
}

// A directory swapped for links leading out (absolute and relative) while
// the guest opens through it: open-at either fails or opens the file inside.
TEST_F(FsTest, RenameRaceNeverEscapes) {
  std::string race = box_ + "/race", outside = root_ + "/outdir";
  ASSERT_EQ(mkdir(race.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((race + "/a").c_str(), 0755), 0);
  WriteFile(race + "/a/target", "INSIDE");
  ASSERT_EQ(mkdir(outside.c_str(), 0755), 0);
  WriteFile(outside + "/target", "SECRET");
  ASSERT_EQ(symlink(outside.c_str(), (race + "/evil").c_str()), 0);
  ASSERT_EQ(symlink("../../outdir", (race + "/evil_rel").c_str()), 0);
  uint64_t box = Pre(0);
  std::atomic<bool> stop{false};
  std::thread swapper([&] {
    std::string a = race + "/a", real = race + "/real", evil = race + "/evil",
                rel = race + "/evil_rel";
    bool flip = false;
    while (!stop.load()) {
      rename(a.c_str(), real.c_str());
      rename((flip ? evil : rel).c_str(), a.c_str());
      rename(a.c_str(), (flip ? evil : rel).c_str());
      rename(real.c_str(), a.c_str());
      flip = !flip;
    }
  });
  int inside = 0;
  for (int i = 0; i < 5000; ++i) {
    Val r = Open(box, "race/a/target", 0, dflag::kRead, kFollow);
    if (r.index != 0) continue;
    Val got = M("read", {B(r.payload().u), Val::U64(16), Val::U64(0)});
    ASSERT_EQ(got.index, 0u);
    ASSERT_EQ(FromBytes(got.payload().items[0]), "INSIDE") << "escaped on iteration " << i;
    st_->descriptors.Remove(static_cast<uint32_t>(r.payload().u));
    ++inside;
  }
  stop = true;
  swapper.join();
  EXPECT_GT(inside, 0);  // the race did not simply refuse everything
}

TEST_F(FsTest, ReadOnlyPreopenRefusesEveryChange) {
  uint64_t ro = Pre(1), box = Pre(0);
  EXPECT_EQ(Code(Open(ro, "data", 0, dflag::kRead | dflag::kWrite)), kEReadOnly);
  EXPECT_EQ(Code(Open(ro, "new", kCreate, dflag::kRead)), kEReadOnly);
  EXPECT_EQ(Code(Open(ro, "data", kTruncate, dflag::kRead)), kEReadOnly);
  EXPECT_EQ(Code(Open(ro, "rsub", kDirectory, dflag::kRead | dflag::kMutateDirectory)), kEReadOnly);
  EXPECT_EQ(Code(M("create-directory-at", {B(ro), S("d")})), kEReadOnly);
  EXPECT_EQ(Code(M("unlink-file-at", {B(ro), S("data")})), kEReadOnly);
  EXPECT_EQ(Code(M("remove-directory-at", {B(ro), S("rsub")})), kEReadOnly);
  EXPECT_EQ(Code(M("rename-at", {B(ro), S("data"), B(ro), S("data2")})), kEReadOnly);
  EXPECT_EQ(Code(M("rename-at", {B(ro), S("data"), B(box), S("taken")})), kEReadOnly);
  EXPECT_EQ(Code(M("rename-at", {B(box), S("inside"), B(ro), S("planted")})), kEReadOnly);
  EXPECT_EQ(Code(M("link-at", {B(ro), F(0), S("data"), B(box), S("hard")})), kEReadOnly);
  EXPECT_EQ(Code(M("symlink-at", {B(ro), S("data"), S("l")})), kEReadOnly);
  EXPECT_EQ(Code(M("set-times-at", {B(ro), F(0), S("data"), At(1, 0), At(1, 0)})), kEReadOnly);
  EXPECT_EQ(Code(M("set-times", {B(ro), At(1, 0), NoChange()})), kEReadOnly);
  // Reading works; the read-only descriptor refuses writes.
  uint64_t f = OpenOk(ro, "data", 0, dflag::kRead);
  Val r = Okv(M("read", {B(f), Val::U64(100), Val::U64(0)}));
  EXPECT_EQ(FromBytes(r.items[0]), "READ ONLY");
  EXPECT_EQ(Code(M("write", {B(f), Bytes("x"), Val::U64(0)})), kEReadOnly);
  EXPECT_EQ(Code(M("write-via-stream", {B(f), Val::U64(0)})), kEReadOnly);
  EXPECT_EQ(Code(M("set-size", {B(f), Val::U64(0)})), kEReadOnly);
  EXPECT_EQ(Code(M("set-times", {B(f), At(1, 0), NoChange()})), kEReadOnly);
  // Subdirectories of a read-only tree stay read-only.
  uint64_t rsub = OpenOk(ro, "rsub", kDirectory, dflag::kRead);
  EXPECT_EQ(Code(M("create-directory-at", {B(rsub), S("d")})), kEReadOnly);
  EXPECT_EQ(Code(Open(rsub, "n", kCreate, dflag::kWrite)), kEReadOnly);
  std::vector<std::string> names;
  Val s = Okv(M("read-directory", {B(ro)}));
  for (;;) {
    Val e = Okv(Call("[method]directory-entry-stream.read-directory-entry", {B(s.u)}));
    if (e.index == 0) break;
    names.push_back(e.payload().items[1].str);
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"data", "rsub"}));
  EXPECT_EQ(Slurp(ro_ + "/data"), "READ ONLY");
  EXPECT_FALSE(Exists(ro_ + "/new"));
  EXPECT_FALSE(Exists(box_ + "/taken"));
  EXPECT_FALSE(Exists(box_ + "/hard"));
}

TEST_F(FsTest, ErrorCodeOfStreamErrors) {
  uint32_t e1 = st_->errors.Insert(std::make_shared<IoError>(IoError{"read: gone", ENOENT}));
  uint32_t e2 = st_->errors.Insert(std::make_shared<IoError>(IoError{"not a host error", 0}));
  Val v = Call("filesystem-error-code", {B(e1)});
  ASSERT_EQ(v.index, 1u);
  EXPECT_EQ(v.payload().index, kENoEntry);
  EXPECT_EQ(Call("filesystem-error-code", {B(e2)}).index, 0u);
  EXPECT_EQ(ErrorCodeOf(wasi::kNotcapable), kENotPermitted);
  EXPECT_EQ(ErrorCodeOf(wasi::kRofs), kEReadOnly);
  EXPECT_EQ(ErrorCodeOf(wasi::kAcces), 0u);
  EXPECT_EQ(ErrorCodeOf(wasi::kXdev), 36u);
}

// DefineWasiFilesystem puts both interfaces, with the WIT's types and the
// resource destructors, into a Linker.
TEST_F(FsTest, DefinedInALinkerWithDestructors) {
  Linker linker;
  ASSERT_TRUE(DefineWasiFilesystem(linker, st_).ok());
  const Linker::Interface* types = linker.FindInterface("wasi:filesystem/types@0.2.3");
  ASSERT_NE(types, nullptr);            // any 0.2.x import finds it
  EXPECT_EQ(types->funcs.size(), 29u);  // 27 methods, read-directory-entry, filesystem-error-code
  ASSERT_TRUE(types->resources.count("descriptor"));
  ASSERT_TRUE(types->resources.count("directory-entry-stream"));
  const Linker::Interface* pre = linker.FindInterface("wasi:filesystem/preopens@0.2.0");
  ASSERT_NE(pre, nullptr);
  auto dirs = pre->funcs.at("get-directories").fn({});
  ASSERT_TRUE(dirs.ok());
  ASSERT_EQ(dirs.value()[0].items.size(), 2u);
  uint32_t rep = static_cast<uint32_t>(dirs.value()[0].items[0].items[0].u);
  EXPECT_EQ(dirs.value()[0].items[0].items[0].resource, types->resources.at("descriptor").type);
  auto stat = types->funcs.at("[method]descriptor.stat").fn({B(rep)});
  ASSERT_TRUE(stat.ok());
  EXPECT_EQ(stat.value()[0].index, 0u);
  size_t open = st_->descriptors.size();
  types->resources.at("descriptor").dtor(rep);
  EXPECT_EQ(st_->descriptors.size(), open - 1);
  EXPECT_FALSE(types->funcs.at("[method]descriptor.stat").fn({B(rep)}).ok());  // stale handle
}

TEST_F(FsTest, UnknownHandlesTrap) {
  auto r = Raw("[method]descriptor.stat", {B(12345)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.trap().message.find("unknown descriptor handle"), std::string::npos);
  EXPECT_FALSE(Raw("[method]directory-entry-stream.read-directory-entry", {B(777)}).ok());
  EXPECT_FALSE(Raw("filesystem-error-code", {B(777)}).ok());
}

// A C command component (wasi-libc through the preview-1 adapter, so every
// file call is wasi:filesystem@0.2.x) run by ComponentInstance + WasiP2 on
// a writable and a read-only preopen.
TEST_F(FsTest, CommandComponentUsesThePreopens) {
  std::string path = std::string(ARCELLA_COMPONENT_FIXTURES) + "/fs_command.component.wasm";
  if (access(path.c_str(), R_OK) != 0) {
    ARCELLA_REQUIRE_NPM_TOOLS();
    FAIL() << "fixture not built: " << path;
  }
  std::vector<uint8_t> bytes = arcella::test::ReadFile(path);
  auto component = DecodeComponent(bytes);
  ASSERT_TRUE(component.ok()) << component.status().ToString();
  WriteFile(ro_ + "/data.txt", "read only text\n");
  WriteFile(root_ + "/secret.txt", "SECRET\n");

  std::string out, err;
  wasi::WasiConfig cfg;
  cfg.args = {"fs_command", "/rw", "/ro"};
  cfg.preopens = {{box_, "/rw", false}, {ro_, "/ro", true}};
  cfg.stdout_stream.sink = [&](std::string_view s) { out += s; };
  cfg.stderr_stream.sink = [&](std::string_view s) { err += s; };
  auto p2 = WasiP2::Create(std::move(cfg));
  ASSERT_TRUE(p2.ok()) << p2.status().ToString();
  Linker linker;
  ASSERT_TRUE((*p2)->AddToLinker(linker).ok());
  // The interpreter: the AOT tier is covered by the component instance tests.
  ComponentOptions opts;
  opts.tier = engine::Tier::kInterp;
  auto inst = ComponentInstance::Create(arcella::test::TestEngine(), *component, linker, opts);
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  std::string run;
  for (const std::string& f : (*inst)->ExportedFuncs())
    if (f.rfind("wasi:cli/run@0.2.", 0) == 0 && f.size() > 4 && f.substr(f.size() - 4) == "#run")
      run = f;
  ASSERT_FALSE(run.empty());
  auto r = (*inst)->Call(run, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  if (r->trap) {
    ASSERT_EQ(r->trap->kind, engine::TrapKind::kExit) << r->trap->ToString() << "\n" << err;
    EXPECT_EQ(r->trap->exit_code, 0) << err;
  } else {
    ASSERT_EQ(r->results.size(), 1u);
    EXPECT_EQ(r->results[0].index, 0u) << err;  // result::ok
  }
  EXPECT_EQ(out, "notes.txt: 23 bytes, regular file\n"
                 "notes.txt says: first line\nsecond line\n"
                 "mkdirat, unlinkat through a directory fd: ok\n"
                 "link -> moved.txt\n"
                 "through the link: first line\nsecond line\n"
                 "dir: link moved.txt\n"
                 "after seek+write: first LINE\n"
                 "after truncate: first\n"
                 "cleanup: ok\n"
                 "read-only data.txt: read only text\n"
                 "read-only write: EROFS\n"
                 "read-only mkdir: EROFS\n"
                 "read-only unlink: EROFS\n"
                 "escape: refused\n")
      << err;
  EXPECT_EQ(err, "");
  EXPECT_EQ(Slurp(box_ + "/output.txt"), "done\n");
  EXPECT_FALSE(Exists(box_ + "/dir"));
  EXPECT_EQ(Slurp(ro_ + "/data.txt"), "read only text\n");
  EXPECT_FALSE(Exists(ro_ + "/new"));
}

}  // namespace
}  // namespace arcella::component
