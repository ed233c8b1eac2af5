// Real wasi-libc guests (tests/fixtures/guest/wasi_*.c) through the public
// engine API, on both tiers.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "engine/engine.h"
#include "test_util.h"
#include "wasi/wasi.h"

namespace arcella::wasi {
namespace {

using engine::Tier;
using engine::TrapKind;

struct GuestRun {
  bool ran = false;
  int exit_code = -1;
  std::string out, err;
};

std::string CacheDir() {
  static std::string dir = arcella::test::TempDir("wasi-guest-cache");
  return dir;
}

GuestRun RunGuest(Tier tier, const std::string& name, WasiConfig cfg) {
  GuestRun run;
  auto bytes = arcella::test::ReadFile(arcella::test::FixturePath(name + ".wasm"));
  engine::CompileOptions opts;
  opts.tier = tier;
  auto mod = arcella::test::TestEngine(engine::Metering::kNone, CacheDir())->Compile(bytes, opts);
  EXPECT_TRUE(mod.ok()) << mod.status().ToString();
  if (!mod.ok()) return run;
  EXPECT_EQ((*mod)->tier(), tier);
  auto out = std::make_shared<std::string>(), err = std::make_shared<std::string>();
  cfg.stdout_stream.sink = [out](std::string_view s) { *out += s; };
  cfg.stderr_stream.sink = [err](std::string_view s) { *err += s; };
  auto ctx = WasiCtx::Create(std::move(cfg));
  EXPECT_TRUE(ctx.ok()) << ctx.status().ToString();
  if (!ctx.ok()) return run;
  engine::Linker linker;
  EXPECT_TRUE((*ctx)->AddToLinker(linker).ok());
  auto inst = engine::Instance::Create(*mod, linker, {});
  EXPECT_TRUE(inst.ok()) << inst.status().ToString();
  if (!inst.ok()) return run;
  auto res = (*inst)->Call("_start", {});
  EXPECT_TRUE(res.ok()) << res.status().ToString();
  if (!res.ok()) return run;
  run.ran = true;
  if (res->trap) {
    EXPECT_EQ(res->trap->kind, TrapKind::kExit) << res->trap->ToString();
    run.exit_code = res->trap->exit_code;
    EXPECT_EQ((*ctx)->exit_code(), run.exit_code);
  } else {
    run.exit_code = 0;
  }
  run.out = *out;
  run.err = *err;
  return run;
}

class WasiGuest : public ::testing::TestWithParam<Tier> {
 protected:
  void SetUp() override {
    if (GetParam() == Tier::kAot && !engine::AotAvailable()) GTEST_SKIP() << "no C compiler";
  }
};

TEST_P(WasiGuest, HelloArgsEnvClocksStdio) {
  WasiConfig cfg;
  cfg.args = {"hello.wasm", "exit", "7"};
  cfg.env = {{"GREETING", "hi there"}, {"OTHER", "x"}};
  cfg.stdin_data = "typed line\n";
  GuestRun r = RunGuest(GetParam(), "wasi_hello", cfg);
  ASSERT_TRUE(r.ran);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_NE(r.out.find("argc=3\nargv[0]=hello.wasm\nargv[1]=exit\nargv[2]=7\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("envc=2 GREETING=hi there\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sleep_ok=1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("realtime_ok=1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("random_ok=1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("poll=2 in=1 out=1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stdin=typed line\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.err, "to-stderr\n");
}

TEST_P(WasiGuest, DenyByDefaultAndReturnCode) {
  WasiConfig cfg;  // no args, env or stdin
  GuestRun r = RunGuest(GetParam(), "wasi_hello", cfg);
  ASSERT_TRUE(r.ran);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("argc=0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("envc=0 GREETING=(unset)\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stdin=EOF\n"), std::string::npos) << r.out;
  WasiConfig cfg2;
  cfg2.args = {"p", "return", "3"};
  r = RunGuest(GetParam(), "wasi_hello", cfg2);
  EXPECT_EQ(r.exit_code, 3);
}

TEST_P(WasiGuest, FilesAndDirectories) {
  std::string dir = arcella::test::TempDir("wasi-guest-files");
  WasiConfig cfg;
  cfg.preopens.push_back({dir, "/sandbox", false});
  GuestRun r = RunGuest(GetParam(), "wasi_files", cfg);
  ASSERT_TRUE(r.ran);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out, "files ok\n");
  std::ifstream f(dir + "/a.txt");
  std::string line;
  std::getline(f, line);
  EXPECT_EQ(line, "hello file");
  (void)system(("rm -rf " + dir).c_str());
}

TEST_P(WasiGuest, NoPreopenNoFiles) {
  GuestRun r = RunGuest(GetParam(), "wasi_files", WasiConfig{});
  ASSERT_TRUE(r.ran);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL line"), std::string::npos) << r.out;
}

TEST_P(WasiGuest, EscapesRefused) {
  std::string root = arcella::test::TempDir("wasi-guest-escape");
  std::string box = root + "/box";
  ASSERT_EQ(mkdir(box.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((box + "/sub").c_str(), 0755), 0);
  std::ofstream(root + "/secret") << "SECRET";
  std::ofstream(box + "/inside") << "INSIDE";
  ASSERT_EQ(symlink("/etc", (box + "/etc_link").c_str()), 0);
  ASSERT_EQ(symlink("../secret", (box + "/up_link").c_str()), 0);
  ASSERT_EQ(symlink("../../secret", (box + "/sub/up2").c_str()), 0);
  ASSERT_EQ(symlink("sub/up2", (box + "/chain1").c_str()), 0);
  WasiConfig cfg;
  cfg.preopens.push_back({box, "/sandbox", false});
  GuestRun r = RunGuest(GetParam(), "wasi_escape", cfg);
  ASSERT_TRUE(r.ran);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("leaks=0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("inside=INSIDE\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("LEAK"), std::string::npos) << r.out;
  EXPECT_EQ(access((root + "/secret").c_str(), F_OK), 0);
  EXPECT_NE(access((root + "/stolen").c_str(), F_OK), 0);
  EXPECT_NE(access((root + "/evil_dir").c_str(), F_OK), 0);
  EXPECT_EQ(access((box + "/inside").c_str(), F_OK), 0);
  (void)system(("rm -rf " + root).c_str());
}

TEST_P(WasiGuest, ReadOnlyPreopen) {
  std::string dir = arcella::test::TempDir("wasi-guest-ro");
  std::ofstream(dir + "/inside") << "INSIDE";
  WasiConfig cfg;
  cfg.preopens.push_back({dir, "/ro", true});
  GuestRun r = RunGuest(GetParam(), "wasi_readonly", cfg);
  ASSERT_TRUE(r.ran);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_NE(r.out.find("read=INSIDE\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("writes=0\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("open-write: refused errno=69\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("create: refused errno=69\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("unlink: refused errno=69\n"), std::string::npos) << r.out;
  struct stat st;
  EXPECT_EQ(stat((dir + "/inside").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 6);
  EXPECT_NE(access((dir + "/new").c_str(), F_OK), 0);
  (void)system(("rm -rf " + dir).c_str());
}

INSTANTIATE_TEST_SUITE_P(Tiers, WasiGuest, ::testing::Values(Tier::kAot, Tier::kInterp),
                         [](const auto& info) {
                           return std::string(engine::TierName(info.param));
                         });

}  // namespace
}  // namespace arcella::wasi

namespace arcella::wasi {
namespace {

// Hand-written module: bad pointers passed to WASI come back as EFAULT
// through the engine on both tiers, never as a trap or a host fault.
TEST_P(WasiGuest, BadPointersGiveEfaultThroughEngine) {
  auto wasm = arcella::test::Wat(R"((module
    (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "random_get" (func $r (param i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "args_sizes_get" (func $a (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 16) "\00\00\01\00\05\00\00\00")  ;; iovec {65536, 5}: past the end
    (func (export "bad_iovec") (result i32) (call $w (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 0)))
    (func (export "bad_random") (result i32) (call $r (i32.const 65535) (i32.const 2)))
    (func (export "bad_out") (result i32) (call $a (i32.const -4) (i32.const 0)))
    (func (export "ok_random") (result i32) (call $r (i32.const 65534) (i32.const 2)))))");
  ASSERT_FALSE(wasm.empty());
  engine::CompileOptions opts;
  opts.tier = GetParam();
  auto mod = arcella::test::TestEngine(engine::Metering::kNone, CacheDir())->Compile(wasm, opts);
  ASSERT_TRUE(mod.ok()) << mod.status().ToString();
  auto ctx = WasiCtx::Create({});
  ASSERT_TRUE(ctx.ok());
  engine::Linker linker;
  ASSERT_TRUE((*ctx)->AddToLinker(linker).ok());
  auto inst = engine::Instance::Create(*mod, linker, {});
  ASSERT_TRUE(inst.ok()) << inst.status().ToString();
  for (auto [fn, expect] :
       {std::pair{"bad_iovec", 21u}, {"bad_random", 21u}, {"bad_out", 21u}, {"ok_random", 0u}}) {
    auto out = (*inst)->Call(fn, {});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_FALSE(out->trap) << fn << ": " << out->trap->ToString();
    EXPECT_EQ(out->results.at(0).i32, expect) << fn;
  }
}

}  // namespace
}  // namespace arcella::wasi
