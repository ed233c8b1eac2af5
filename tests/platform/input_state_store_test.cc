// The hot-deploy folder's record in the state database (migration 2 -> 3).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "platform/state_store.h"
#include "test_util.h"

namespace arcella::platform {
namespace {

TEST(InputStateStore, HotDeployRecordPersistsAcrossReopen) {
  std::string db = test::TempDir() + "/state.db";
  {
    auto s = StateStore::Open(db);
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ(*(*s)->SchemaVersion(), 3);
    HotDeployFile f{"a@1.0.0.wasm", "wasm", "h1", "a@1.0.0", "h1", "a@1.0.0/default", 0};
    ASSERT_TRUE((*s)->PutHotDeployFile(f).ok());
    f.deployment_id = "";
    ASSERT_TRUE((*s)->PutHotDeployFile(f).ok());  // replaces
    ASSERT_TRUE((*s)->PutHotDeployFile(
                        {"b.deployment.toml", "deployment", "h2", "a@1.0.0", "", "a@1.0.0/b", 0})
                    .ok());
    EXPECT_FALSE((*s)->PutHotDeployFile({"c", "other", "", "", "", "", 0}).ok());  // kind checked
  }
  auto s = StateStore::Open(db);
  ASSERT_TRUE(s.ok());
  auto files = (*s)->ListHotDeployFiles();
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].file, "a@1.0.0.wasm");
  EXPECT_EQ((*files)[0].deployment_id, "");
  EXPECT_GT((*files)[0].applied_at_ms, 0);
  EXPECT_EQ((*files)[1].deployment_id, "a@1.0.0/b");
  ASSERT_TRUE((*s)->RemoveHotDeployFile("a@1.0.0.wasm").ok());
  ASSERT_TRUE((*s)->RemoveHotDeployFile("absent").ok());
  EXPECT_EQ((*s)->ListHotDeployFiles()->size(), 1u);
}

TEST(InputStateStore, VersionOneDatabaseMigratesToThree) {
  std::string db = test::TempDir() + "/state.db";
  { ASSERT_TRUE(StateStore::Open(db).ok()); }
  // Make it a version 1 database again (as written by the previous release).
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "DROP TABLE hot_deploy_files; UPDATE schema_version SET version = 1",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);
  auto s = StateStore::Open(db);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(*(*s)->SchemaVersion(), 3);
  EXPECT_TRUE((*s)->ListHotDeployFiles().ok());
}

}  // namespace
}  // namespace arcella::platform
