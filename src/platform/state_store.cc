#include "platform/state_store.h"

#include <sqlite3.h>
#include <atomic>

#include <chrono>
#include <functional>
#include <mutex>

namespace arcella::platform {

const char* DesiredName(Desired d) { return d == Desired::kStarted ? "started" : "stopped"; }

namespace {

// Schema migrations: entry i brings version i to i+1.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE modules (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('core', 'component')),
  hash TEXT NOT NULL,
  size INTEGER NOT NULL CHECK (size >= 0),
  manifest_toml TEXT NOT NULL,
  tier TEXT NOT NULL,
  installed_at INTEGER NOT NULL
);
CREATE INDEX modules_hash ON modules(hash);
CREATE TABLE deployments (
  id TEXT PRIMARY KEY NOT NULL,
  module_id TEXT NOT NULL REFERENCES modules(id) ON DELETE RESTRICT,
  grp TEXT NOT NULL,
  replicas INTEGER NOT NULL CHECK (replicas >= 0),
  desired TEXT NOT NULL CHECK (desired IN ('started', 'stopped')),
  spec_toml TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (module_id, grp)
);
CREATE INDEX deployments_module ON deployments(module_id);
)sql",
    // 1 -> 2: the apply journal (crash-loop protection, platform.h). No
    // foreign key: a row outlives an undeploy only until Forget.
    R"sql(
CREATE TABLE IF NOT EXISTS apply_journal (
  deployment_id TEXT PRIMARY KEY NOT NULL,
  applying INTEGER NOT NULL CHECK (applying IN (0, 1)),
  crashes INTEGER NOT NULL CHECK (crashes >= 0)
);
)sql",
    // v2 -> v3: what the hot-deploy folder created, per file (hot_deploy.h).
    // No foreign keys: a module or deployment removed by hand leaves the
    // record, which the folder then treats as gone.
    R"sql(
CREATE TABLE hot_deploy_files (
  file TEXT PRIMARY KEY NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('wasm', 'deployment')),
  file_hash TEXT NOT NULL,
  module_id TEXT NOT NULL,
  module_hash TEXT NOT NULL,
  deployment_id TEXT NOT NULL,
  applied_at INTEGER NOT NULL
);
)sql",
};
constexpr int kNumMigrations = sizeof(kMigrations) / sizeof(kMigrations[0]);
static_assert(kNumMigrations == StateStore::kSchemaVersion);

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Maps an SQLite result code to a Status; `what` says what was being done.
Status SqlError(sqlite3* db, int rc, const std::string& what) {
  std::string msg = what + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_FULL: return Status::IoError(msg + " (disk or quota full; nothing was written)");
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM: return Status::IoError(msg + " (is the Arcella home writable?)");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Status::Corruption(msg);
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Status::IoError(msg + " (database busy)");
    case SQLITE_CONSTRAINT: return Status::FailedPrecondition(msg);
    default: return Status::IoError(msg);
  }
}

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr);
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Status status(const std::string& what) const {
    return rc_ == SQLITE_OK ? Status::Ok() : SqlError(db_, rc_, what);
  }
  Stmt& Bind(const std::string& s) {
    sqlite3_bind_text(st_, ++n_, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& Bind(int64_t v) {
    sqlite3_bind_int64(st_, ++n_, v);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(st_); }
  std::string Text(int col) const {
    const unsigned char* t = sqlite3_column_text(st_, col);
    return t ? std::string(reinterpret_cast<const char*>(t),
                           static_cast<size_t>(sqlite3_column_bytes(st_, col)))
             : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(st_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_;
  int n_ = 0;
};

ModuleRecord ReadModule(const Stmt& s) {
  ModuleRecord m;
  m.id = s.Text(0);
  m.name = s.Text(1);
  m.version = s.Text(2);
  m.kind = s.Text(3);
  m.hash = s.Text(4);
  m.size = static_cast<uint64_t>(s.Int(5));
  m.manifest_toml = s.Text(6);
  m.tier = s.Text(7);
  m.installed_at_ms = s.Int(8);
  return m;
}

DeploymentRecord ReadDeployment(const Stmt& s) {
  DeploymentRecord d;
  d.id = s.Text(0);
  d.module_id = s.Text(1);
  d.group = s.Text(2);
  d.replicas = static_cast<uint32_t>(s.Int(3));
  d.desired = s.Text(4) == "started" ? Desired::kStarted : Desired::kStopped;
  d.spec_toml = s.Text(5);
  d.created_at_ms = s.Int(6);
  return d;
}

const char* kModuleCols =
    "SELECT id, name, version, kind, hash, size, manifest_toml, tier, installed_at FROM modules";
const char* kDeploymentCols =
    "SELECT id, module_id, grp, replicas, desired, spec_toml, created_at FROM deployments";

}  // namespace

class StateStore::Impl {
 public:
  std::mutex mu;
  // Bumped after every write of a module or deployment (generation()).
  std::atomic<uint64_t> generation{0};
};

namespace {
// Bumps a generation when it goes out of scope: after the write it guards,
// whether or not it committed (a reader that saw the old generation must
// not keep what it read).
class BumpOnExit {
 public:
  explicit BumpOnExit(std::atomic<uint64_t>& g) : g_(g) {}
  ~BumpOnExit() { g_.fetch_add(1, std::memory_order_release); }
  BumpOnExit(const BumpOnExit&) = delete;
  BumpOnExit& operator=(const BumpOnExit&) = delete;

 private:
  std::atomic<uint64_t>& g_;
};
}  // namespace

StateStore::StateStore(sqlite3* db, std::string path)
    : db_(db), path_(std::move(path)), impl_(std::make_unique<Impl>()) {}

StateStore::~StateStore() { sqlite3_close_v2(db_); }

namespace {

Status Exec(sqlite3* db, const std::string& sql, const std::string& what) {
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : SqlError(db, rc, what);
}

// Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back on any error.
Status InTransaction(sqlite3* db, const std::string& what, const std::function<Status()>& body) {
  ARCELLA_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE", what));
  Status s = body();
  if (s.ok()) s = Exec(db, "COMMIT", what);
  if (!s.ok() && !sqlite3_get_autocommit(db))
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  return s;
}

Status StepDone(sqlite3* db, Stmt& st, const std::string& what) {
  int rc = st.Step();
  return rc == SQLITE_DONE ? Status::Ok() : SqlError(db, rc, what);
}

}  // namespace

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& path) {
  return Open(path, Options());
}

Result<std::unique_ptr<StateStore>> StateStore::Open(const std::string& path, const Options& opts) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    Status s = SqlError(db, rc, "opening state database " + path);
    sqlite3_close_v2(db);
    return s;
  }
  std::unique_ptr<StateStore> store(new StateStore(db, path));
  const std::string what = "opening state database " + path;
  sqlite3_busy_timeout(db, opts.busy_timeout_ms);
  sqlite3_extended_result_codes(db, 1);
  // journal_mode returns a row: run it through a statement to see the result.
  {
    Stmt st(db, "PRAGMA journal_mode=WAL");
    ARCELLA_RETURN_IF_ERROR(st.status(what));
    rc = st.Step();
    if (rc != SQLITE_ROW) return SqlError(db, rc, what);
    if (st.Text(0) != "wal")
      return Status::IoError(what + ": cannot enable WAL journal (got " + st.Text(0) +
                             "; is the Arcella home writable?)");
  }
  ARCELLA_RETURN_IF_ERROR(Exec(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL", what));
  if (opts.max_page_count > 0)
    ARCELLA_RETURN_IF_ERROR(
        Exec(db, "PRAGMA max_page_count=" + std::to_string(opts.max_page_count), what));
  ARCELLA_RETURN_IF_ERROR(InTransaction(db, what + ": migrating schema", [&]() -> Status {
    ARCELLA_RETURN_IF_ERROR(
        Exec(db, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", what));
    Stmt q(db, "SELECT version FROM schema_version");
    ARCELLA_RETURN_IF_ERROR(q.status(what));
    int version = 0;
    bool have_row = false;
    if ((rc = q.Step()) == SQLITE_ROW) {
      version = static_cast<int>(q.Int(0));
      have_row = true;
    } else if (rc != SQLITE_DONE) {
      return SqlError(db, rc, what);
    }
    if (version > kSchemaVersion)
      return Status::FailedPrecondition(path + " has schema version " + std::to_string(version) +
                                        ", newer than this arcella supports (" +
                                        std::to_string(kSchemaVersion) + "): upgrade arcella");
    for (int v = version; v < kSchemaVersion; ++v)
      ARCELLA_RETURN_IF_ERROR(
          Exec(db, kMigrations[v], what + ": migration to v" + std::to_string(v + 1)));
    if (!have_row)
      return Exec(db, "INSERT INTO schema_version VALUES (" + std::to_string(kSchemaVersion) + ")",
                  what);
    if (version != kSchemaVersion)
      return Exec(db, "UPDATE schema_version SET version = " + std::to_string(kSchemaVersion),
                  what);
    return Status::Ok();
  }));
  return store;
}

Result<int> StateStore::SchemaVersion() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(db_, "SELECT version FROM schema_version");
  ARCELLA_RETURN_IF_ERROR(q.status("reading schema version"));
  int rc = q.Step();
  if (rc != SQLITE_ROW) return SqlError(db_, rc, "reading schema version");
  return static_cast<int>(q.Int(0));
}

uint64_t StateStore::generation() const {
  return impl_->generation.load(std::memory_order_acquire);
}

Status StateStore::PutModule(const ModuleRecord& m, bool replace) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BumpOnExit bump(impl_->generation);
  const std::string what = "storing module " + m.id;
  return InTransaction(db_, what, [&]() -> Status {
    Stmt q(db_, "SELECT 1 FROM modules WHERE id = ?");
    ARCELLA_RETURN_IF_ERROR(q.status(what));
    q.Bind(m.id);
    int rc = q.Step();
    if (rc == SQLITE_ROW && !replace)
      return Status::AlreadyExists("module " + m.id +
                                   " is already installed (use --force to replace it)");
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqlError(db_, rc, what);
    // UPSERT, not REPLACE: REPLACE would delete the row and trip the FK.
    Stmt st(
        db_,
        "INSERT INTO modules (id, name, version, kind, hash, size, manifest_toml, tier, installed_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET name = excluded.name, "
        "version = excluded.version, kind = excluded.kind, hash = excluded.hash, size = excluded.size, "
        "manifest_toml = excluded.manifest_toml, tier = excluded.tier, installed_at = excluded.installed_at");
    ARCELLA_RETURN_IF_ERROR(st.status(what));
    st.Bind(m.id)
        .Bind(m.name)
        .Bind(m.version)
        .Bind(m.kind)
        .Bind(m.hash)
        .Bind(static_cast<int64_t>(m.size))
        .Bind(m.manifest_toml)
        .Bind(m.tier)
        .Bind(m.installed_at_ms ? m.installed_at_ms : NowMs());
    return StepDone(db_, st, what);
  });
}

Result<ModuleRecord> StateStore::GetModule(const std::string& id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(db_, (std::string(kModuleCols) + " WHERE id = ?").c_str());
  ARCELLA_RETURN_IF_ERROR(q.status("reading module " + id));
  q.Bind(id);
  int rc = q.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("module " + id + " is not installed");
  if (rc != SQLITE_ROW) return SqlError(db_, rc, "reading module " + id);
  return ReadModule(q);
}

Result<std::vector<ModuleRecord>> StateStore::ListModules() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(db_, (std::string(kModuleCols) + " ORDER BY id").c_str());
  ARCELLA_RETURN_IF_ERROR(q.status("listing modules"));
  std::vector<ModuleRecord> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ReadModule(q));
  if (rc != SQLITE_DONE) return SqlError(db_, rc, "listing modules");
  return out;
}

Status StateStore::RemoveModule(const std::string& id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BumpOnExit bump(impl_->generation);
  const std::string what = "removing module " + id;
  return InTransaction(db_, what, [&]() -> Status {
    Stmt deps(db_, "SELECT id FROM deployments WHERE module_id = ? ORDER BY id");
    ARCELLA_RETURN_IF_ERROR(deps.status(what));
    deps.Bind(id);
    std::string names;
    int rc, n = 0;
    while ((rc = deps.Step()) == SQLITE_ROW) {
      names += (n++ ? ", " : "") + deps.Text(0);
    }
    if (rc != SQLITE_DONE) return SqlError(db_, rc, what);
    if (n > 0)
      return Status::FailedPrecondition("module " + id + " is still deployed (" + names +
                                        "): undeploy " + (n == 1 ? "it" : "them") + " first");
    Stmt del(db_, "DELETE FROM modules WHERE id = ?");
    ARCELLA_RETURN_IF_ERROR(del.status(what));
    del.Bind(id);
    ARCELLA_RETURN_IF_ERROR(StepDone(db_, del, what));
    if (sqlite3_changes(db_) == 0) return Status::NotFound("module " + id + " is not installed");
    return Status::Ok();
  });
}

Result<int> StateStore::CountModulesWithHash(const std::string& hash) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(db_, "SELECT COUNT(*) FROM modules WHERE hash = ?");
  ARCELLA_RETURN_IF_ERROR(q.status("counting modules"));
  q.Bind(hash);
  int rc = q.Step();
  if (rc != SQLITE_ROW) return SqlError(db_, rc, "counting modules");
  return static_cast<int>(q.Int(0));
}

Status StateStore::PutDeployment(const DeploymentRecord& d) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BumpOnExit bump(impl_->generation);
  const std::string what = "storing deployment " + d.id;
  return InTransaction(db_, what, [&]() -> Status {
    Stmt m(db_, "SELECT 1 FROM modules WHERE id = ?");
    ARCELLA_RETURN_IF_ERROR(m.status(what));
    m.Bind(d.module_id);
    int rc = m.Step();
    if (rc == SQLITE_DONE)
      return Status::NotFound("module " + d.module_id + " is not installed (install it first)");
    if (rc != SQLITE_ROW) return SqlError(db_, rc, what);
    Stmt dup(db_, "SELECT id FROM deployments WHERE id = ? OR (module_id = ? AND grp = ?)");
    ARCELLA_RETURN_IF_ERROR(dup.status(what));
    dup.Bind(d.id).Bind(d.module_id).Bind(d.group);
    rc = dup.Step();
    if (rc == SQLITE_ROW)
      return Status::AlreadyExists("deployment " + dup.Text(0) +
                                   " already exists (scale or undeploy it)");
    if (rc != SQLITE_DONE) return SqlError(db_, rc, what);
    Stmt ins(
        db_,
        "INSERT INTO deployments (id, module_id, grp, replicas, desired, spec_toml, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)");
    ARCELLA_RETURN_IF_ERROR(ins.status(what));
    ins.Bind(d.id)
        .Bind(d.module_id)
        .Bind(d.group)
        .Bind(static_cast<int64_t>(d.replicas))
        .Bind(std::string(DesiredName(d.desired)))
        .Bind(d.spec_toml)
        .Bind(d.created_at_ms ? d.created_at_ms : NowMs());
    return StepDone(db_, ins, what);
  });
}

Result<DeploymentRecord> StateStore::GetDeployment(const std::string& id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(db_, (std::string(kDeploymentCols) + " WHERE id = ?").c_str());
  ARCELLA_RETURN_IF_ERROR(q.status("reading deployment " + id));
  q.Bind(id);
  int rc = q.Step();
  if (rc == SQLITE_DONE) return Status::NotFound("deployment " + id + " does not exist");
  if (rc != SQLITE_ROW) return SqlError(db_, rc, "reading deployment " + id);
  return ReadDeployment(q);
}

Result<std::vector<DeploymentRecord>> StateStore::ListDeployments(const std::string& module_id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::string sql = std::string(kDeploymentCols) +
                    (module_id.empty() ? "" : " WHERE module_id = ?") + " ORDER BY id";
  Stmt q(db_, sql.c_str());
  ARCELLA_RETURN_IF_ERROR(q.status("listing deployments"));
  if (!module_id.empty()) q.Bind(module_id);
  std::vector<DeploymentRecord> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) out.push_back(ReadDeployment(q));
  if (rc != SQLITE_DONE) return SqlError(db_, rc, "listing deployments");
  return out;
}

Status StateStore::UpdateDeployment(const std::string& id, std::optional<uint32_t> replicas,
                                    std::optional<Desired> desired,
                                    std::optional<std::string> spec_toml) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BumpOnExit bump(impl_->generation);
  const std::string what = "updating deployment " + id;
  return InTransaction(db_, what, [&]() -> Status {
    std::string sets;
    if (replicas) sets += "replicas = ?";
    if (desired) sets += std::string(sets.empty() ? "" : ", ") + "desired = ?";
    if (spec_toml) sets += std::string(sets.empty() ? "" : ", ") + "spec_toml = ?";
    if (sets.empty()) sets = "id = id";
    std::string desired_s = desired ? DesiredName(*desired) : "";
    Stmt up(db_, ("UPDATE deployments SET " + sets + " WHERE id = ?").c_str());
    ARCELLA_RETURN_IF_ERROR(up.status(what));
    if (replicas) up.Bind(static_cast<int64_t>(*replicas));
    if (desired) up.Bind(desired_s);
    if (spec_toml) up.Bind(*spec_toml);
    up.Bind(id);
    ARCELLA_RETURN_IF_ERROR(StepDone(db_, up, what));
    if (sqlite3_changes(db_) == 0) return Status::NotFound("deployment " + id + " does not exist");
    return Status::Ok();
  });
}

Status StateStore::RemoveDeployment(const std::string& id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  BumpOnExit bump(impl_->generation);
  const std::string what = "removing deployment " + id;
  return InTransaction(db_, what, [&]() -> Status {
    Stmt del(db_, "DELETE FROM deployments WHERE id = ?");
    ARCELLA_RETURN_IF_ERROR(del.status(what));
    del.Bind(id);
    ARCELLA_RETURN_IF_ERROR(StepDone(db_, del, what));
    if (sqlite3_changes(db_) == 0) return Status::NotFound("deployment " + id + " does not exist");
    return Status::Ok();
  });
}

Status StateStore::BeginApply(const std::string& id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const std::string what = "journaling the apply of " + id;
  return InTransaction(db_, what, [&]() -> Status {
    Stmt up(db_, "INSERT INTO apply_journal (deployment_id, applying, crashes) VALUES (?, 1, 0) "
                 "ON CONFLICT(deployment_id) DO UPDATE SET applying = 1");
    ARCELLA_RETURN_IF_ERROR(up.status(what));
    up.Bind(id);
    return StepDone(db_, up, what);
  });
}

Status StateStore::EndApply(const std::string& id) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const std::string what = "journaling the end of the apply of " + id;
  return InTransaction(db_, what, [&]() -> Status {
    Stmt del(db_, "DELETE FROM apply_journal WHERE deployment_id = ?");
    ARCELLA_RETURN_IF_ERROR(del.status(what));
    del.Bind(id);
    return StepDone(db_, del, what);
  });
}

Status StateStore::PutHotDeployFile(const HotDeployFile& f) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const std::string what = "recording hot-deploy file " + f.file;
  return InTransaction(db_, what, [&]() -> Status {
    Stmt st(
        db_,
        "INSERT INTO hot_deploy_files (file, kind, file_hash, module_id, module_hash, "
        "deployment_id, applied_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(file) DO UPDATE SET "
        "kind = excluded.kind, file_hash = excluded.file_hash, module_id = excluded.module_id, "
        "module_hash = excluded.module_hash, deployment_id = excluded.deployment_id, "
        "applied_at = excluded.applied_at");
    ARCELLA_RETURN_IF_ERROR(st.status(what));
    st.Bind(f.file)
        .Bind(f.kind)
        .Bind(f.file_hash)
        .Bind(f.module_id)
        .Bind(f.module_hash)
        .Bind(f.deployment_id)
        .Bind(f.applied_at_ms ? f.applied_at_ms : NowMs());
    return StepDone(db_, st, what);
  });
}

Result<std::vector<HotDeployFile>> StateStore::ListHotDeployFiles() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(db_, "SELECT file, kind, file_hash, module_id, module_hash, deployment_id, applied_at "
              "FROM hot_deploy_files ORDER BY file");
  ARCELLA_RETURN_IF_ERROR(q.status("listing hot-deploy files"));
  std::vector<HotDeployFile> out;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW) {
    HotDeployFile f;
    f.file = q.Text(0);
    f.kind = q.Text(1);
    f.file_hash = q.Text(2);
    f.module_id = q.Text(3);
    f.module_hash = q.Text(4);
    f.deployment_id = q.Text(5);
    f.applied_at_ms = q.Int(6);
    out.push_back(std::move(f));
  }
  if (rc != SQLITE_DONE) return SqlError(db_, rc, "listing hot-deploy files");
  return out;
}

Status StateStore::RemoveHotDeployFile(const std::string& file) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const std::string what = "forgetting hot-deploy file " + file;
  return InTransaction(db_, what, [&]() -> Status {
    Stmt del(db_, "DELETE FROM hot_deploy_files WHERE file = ?");
    ARCELLA_RETURN_IF_ERROR(del.status(what));
    del.Bind(file);
    return StepDone(db_, del, what);
  });
}

Result<std::map<std::string, uint32_t>> StateStore::CountCrashedApplies() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  const std::string what = "reading the apply journal";
  std::map<std::string, uint32_t> out;
  Status st = InTransaction(db_, what, [&]() -> Status {
    ARCELLA_RETURN_IF_ERROR(Exec(db_,
                                 "UPDATE apply_journal SET crashes = crashes + 1, applying = 0 "
                                 "WHERE applying = 1",
                                 what));
    Stmt q(db_, "SELECT deployment_id, crashes FROM apply_journal WHERE crashes > 0");
    ARCELLA_RETURN_IF_ERROR(q.status(what));
    int rc;
    while ((rc = q.Step()) == SQLITE_ROW) out[q.Text(0)] = static_cast<uint32_t>(q.Int(1));
    return rc == SQLITE_DONE ? Status::Ok() : SqlError(db_, rc, what);
  });
  if (!st.ok()) return st;
  return out;
}

Status StateStore::CheckIntegrity() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  Stmt q(db_, "PRAGMA integrity_check");
  ARCELLA_RETURN_IF_ERROR(q.status("integrity check"));
  std::string problems;
  int rc;
  while ((rc = q.Step()) == SQLITE_ROW)
    if (q.Text(0) != "ok") problems += q.Text(0) + "; ";
  if (rc != SQLITE_DONE) return SqlError(db_, rc, "integrity check");
  Stmt fk(db_, "PRAGMA foreign_key_check");
  ARCELLA_RETURN_IF_ERROR(fk.status("foreign key check"));
  while ((rc = fk.Step()) == SQLITE_ROW) problems += "dangling reference in " + fk.Text(0) + "; ";
  if (rc != SQLITE_DONE) return SqlError(db_, rc, "foreign key check");
  if (!problems.empty()) return Status::Corruption(path_ + ": " + problems);
  return Status::Ok();
}

}  // namespace arcella::platform
