// The desired state of the platform in SQLite: installed modules and
// deployments (replicas, started/stopped). WAL journal, foreign keys,
// synchronous=FULL, every mutation in one BEGIN IMMEDIATE transaction, so a
// crash at any point leaves the last committed state.
//
// Errors: NotFound / AlreadyExists / FailedPrecondition for what the caller
// asked; IoError for the OS or the disk (full, read-only, cannot open), with
// SQLite's message; Corruption for a damaged file. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

struct sqlite3;

namespace arcella::platform {

struct ModuleRecord {
  std::string id;  // "name@x.y.z"
  std::string name;
  std::string version;
  std::string kind;   // "core" | "component"
  std::string hash;   // sha256 hex of the binary (blob_store.h)
  uint64_t size = 0;  // bytes
  std::string manifest_toml;
  std::string tier;             // "aot" | "interp" | ...
  int64_t installed_at_ms = 0;  // unix ms; 0 -> set to now by PutModule
};

enum class Desired { kStarted, kStopped };
const char* DesiredName(Desired d);  // "started" / "stopped"

struct DeploymentRecord {
  std::string id;  // "<module_id>/<group>"
  std::string module_id;
  std::string group;
  uint32_t replicas = 1;
  Desired desired = Desired::kStopped;
  std::string spec_toml;      // ToToml(DeploymentSpec)
  int64_t created_at_ms = 0;  // 0 -> now
};

// What one file in the hot-deploy folder created (hot_deploy.h), so that a
// restart knows what the folder owns and can undo files deleted meanwhile.
struct HotDeployFile {
  std::string file;           // name inside deploy/
  std::string kind;           // "wasm" | "deployment"
  std::string file_hash;      // sha256 hex of the file as applied
  std::string module_id;      // module installed by the file ("" if none)
  std::string module_hash;    // blob hash of that module as installed
  std::string deployment_id;  // deployment the file created ("" if none)
  int64_t applied_at_ms = 0;  // 0 -> now
};

class StateStore {
 public:
  struct Options {
    int busy_timeout_ms = 5000;
    // > 0 caps the file at this many pages (PRAGMA max_page_count): a quota,
    // and how tests provoke SQLITE_FULL.
    int64_t max_page_count = 0;
  };
  // Opens or creates the database and migrates its schema. Refuses a schema
  // newer than this build knows.
  static Result<std::unique_ptr<StateStore>> Open(const std::string& path);
  static Result<std::unique_ptr<StateStore>> Open(const std::string& path, const Options& opts);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  static constexpr int kSchemaVersion = 3;
  Result<int> SchemaVersion();

  // AlreadyExists unless `replace` (reinstall with --force keeps deployments).
  Status PutModule(const ModuleRecord& m, bool replace = false);
  Result<ModuleRecord> GetModule(const std::string& id);
  Result<std::vector<ModuleRecord>> ListModules();
  // FailedPrecondition naming the deployments while any exist; NotFound.
  Status RemoveModule(const std::string& id);
  // How many modules reference blob `hash` (for blob garbage collection).
  Result<int> CountModulesWithHash(const std::string& hash);

  // NotFound if the module is not installed; AlreadyExists for a duplicate id.
  Status PutDeployment(const DeploymentRecord& d);
  Result<DeploymentRecord> GetDeployment(const std::string& id);
  // All deployments, or those of one module; ordered by id.
  Result<std::vector<DeploymentRecord>> ListDeployments(const std::string& module_id = "");
  // Updates replicas / desired / spec of an existing deployment (NotFound).
  Status UpdateDeployment(const std::string& id, std::optional<uint32_t> replicas,
                          std::optional<Desired> desired,
                          std::optional<std::string> spec_toml = std::nullopt);
  Status RemoveDeployment(const std::string& id);

  // The apply journal (crash-loop protection). BeginApply marks `id` as
  // being applied; EndApply forgets it (applied and settled, stopped or
  // undeployed). CountCrashedApplies, once per daemon start: every mark
  // still set belongs to an apply the daemon died in; it is cleared and
  // counted. Returns deployment id -> daemon deaths while applying it (> 0),
  // since it last settled.
  Status BeginApply(const std::string& id);
  Status EndApply(const std::string& id);
  Result<std::map<std::string, uint32_t>> CountCrashedApplies();
  // The hot-deploy folder's record (one row per file; Put replaces).
  Status PutHotDeployFile(const HotDeployFile& f);
  Result<std::vector<HotDeployFile>> ListHotDeployFiles();
  Status RemoveHotDeployFile(const std::string& file);  // OK if absent

  // Changes after every write of a module or deployment (Put*, Update*,
  // Remove* of either), committed or not: a reader may keep what it read
  // while the generation it read before is still current.
  uint64_t generation() const;

  // PRAGMA integrity_check + foreign_key_check; OK or Corruption.
  Status CheckIntegrity();

  const std::string& path() const { return path_; }

 private:
  class Impl;
  StateStore(sqlite3* db, std::string path);
  sqlite3* db_;
  std::string path_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace arcella::platform
