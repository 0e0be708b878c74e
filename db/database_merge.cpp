// Database: merging other databases' contents in short, checked batches.
#include "db/database.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <set>
#include <thread>
#include <variant>

#include "core/build_info.h"
#include "core/fs.h"
#include "core/log.h"
#include "db/reader.h"
#include "db/rows.h"
#include "db/schema.h"

namespace gqaforge::db {
using namespace detail;
using sql::Statement;
using sql::Transaction;

// ---- Merging ----

// The write transactions of a merge: rows go into the open batch, which is committed after
// kMergeBatchRows rows or kMergeBatchMs, followed by a short random pause. SQLite has no queue
// for its write lock: a waiting writer polls (every 100 ms once it has waited a while), so the
// pauses must be long and irregular enough that its polls land in one of them. With about a
// quarter of the time free, at random, a tuner gets the lock within a few polls.
class Database::MergeBatch {
 public:
  explicit MergeBatch(Database& db) : db_(db), random_(std::random_device{}()) {}

  // Runs `write` inside the open batch (starting one if needed).
  template <typename Write>
  Status write(Write&& write_row) {
    if (!tx_) {
      lock_ = std::unique_lock<std::mutex>(db_.write_mu_);
      auto tx = Transaction::begin(db_.conn_, Transaction::Kind::kImmediate);
      if (!tx.ok()) {
        lock_.unlock();
        return tx.status();
      }
      tx_.emplace(std::move(tx).value());
      started_ = std::chrono::steady_clock::now();
      rows_ = 0;
    }
    GQF_RETURN_IF_ERROR(write_row());
    const auto elapsed = std::chrono::steady_clock::now() - started_;
    if (++rows_ >= kMergeBatchRows || elapsed >= std::chrono::milliseconds(kMergeBatchMs)) {
      GQF_RETURN_IF_ERROR(commit());
      std::uniform_int_distribution<int> pause_ms(kMergeBatchMs / 5, kMergeBatchMs / 2);
      std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms(random_)));
    }
    return ok_status();
  }

  // Runs `read_rows` under the connection's writer mutex (held already while a batch is open)
  // but without starting a write transaction.
  template <typename Read>
  auto read(Read&& read_rows) {
    if (lock_.owns_lock()) return read_rows();
    std::lock_guard<std::mutex> guard(db_.write_mu_);
    return read_rows();
  }

  Status finish() { return commit(); }
  int64_t transactions() const { return transactions_; }

 private:
  Status commit() {
    if (!tx_) return ok_status();
    GQF_RETURN_IF_ERROR(tx_->commit());
    tx_.reset();
    lock_.unlock();
    ++transactions_;
    return ok_status();
  }

  Database& db_;
  std::mt19937 random_;
  std::unique_lock<std::mutex> lock_;  // before tx_: the rollback runs while it is held
  std::optional<Transaction> tx_;
  std::chrono::steady_clock::time_point started_;
  int rows_ = 0;
  int64_t transactions_ = 0;
};

Status Database::merge_environment(const EnvironmentEntry& e, MergeStats& stats) {
  GQF_ASSIGN_OR_RETURN(bool added, insert_environment(conn_, e.key, e.env));
  stats.environments_added += added ? 1 : 0;
  return ok_status();
}

Status Database::merge_run(const RunEntry& r, MergeStats& stats) {
  GQF_ASSIGN_OR_RETURN(int64_t id, run_id_for_uid(r.uid));
  if (id == 0) {
    GQF_RETURN_IF_ERROR(insert_run(conn_, r.uid, r.run));
    ++stats.runs_added;
  } else if (!r.run.finished_at.empty()) {
    GQF_ASSIGN_OR_RETURN(Statement st,
                         conn_.prepare("UPDATE tune_runs SET finished_at = ? WHERE id = ? AND finished_at = ''"));
    st.bind(1, r.run.finished_at).bind(2, id);
    GQF_RETURN_IF_ERROR(st.run());
  }
  return ok_status();
}

Status Database::merge_measurement(const MeasurementEntry& me, MergeStats& stats, MergeBatch& batch) {
  std::optional<int64_t> run_id;
  if (!me.run_uid.empty()) {
    GQF_ASSIGN_OR_RETURN(int64_t id, batch.read([&] { return run_id_for_uid(me.run_uid); }));
    if (id == 0) {
      return invalid_argument("{} refers to run uid '{}', which is in neither the merged data nor '{}'",
                              describe(me.record), shown(me.run_uid), path());
    }
    run_id = id;
  }
  auto count = [&stats](Upsert outcome) {
    stats.measurements_added += outcome == Upsert::kAdded ? 1 : 0;
    stats.measurements_updated += outcome == Upsert::kUpdated ? 1 : 0;
    stats.measurements_unchanged += outcome == Upsert::kUnchanged ? 1 : 0;
    stats.measurements_skipped += outcome == Upsert::kSkipped ? 1 : 0;
  };
  // A row the database holds already, or holds a later measurement of, needs no write lock:
  // merging the same data again then keeps out of other writers' way entirely.
  GQF_ASSIGN_OR_RETURN(Upsert planned,
                       batch.read([&] { return upsert_measurement(me.record, run_id, /*dry_run=*/true); }));
  if (planned == Upsert::kUnchanged || planned == Upsert::kSkipped) {
    count(planned);
    return ok_status();
  }
  return batch.write([&]() -> Status {
    // Looked at again inside the transaction: another writer may have come first.
    GQF_ASSIGN_OR_RETURN(Upsert outcome, upsert_measurement(me.record, run_id));
    count(outcome);
    return ok_status();
  });
}

namespace {

// The error of a merge that stopped while writing, saying what is committed.
Status merge_stopped(const Status& s, const std::string& path, int64_t transactions) {
  if (transactions == 0) {
    return s.with_context(fmt::format("merging into '{}' failed; nothing was written", path));
  }
  return s.with_context(
      fmt::format("merging into '{}' stopped after {} committed batch(es); merging the same "
                  "data again completes it",
                  path, transactions));
}

}  // namespace

Result<MergeStats> Database::merge(std::span<const DbContents> parts) {
  GQF_RETURN_IF_ERROR(check_writable());
  // Everything is checked before anything is written.
  std::set<std::string> uids;
  for (const DbContents& part : parts) {
    for (const EnvironmentEntry& e : part.environments) {
      GQF_RETURN_IF_ERROR_CTX(check_entry(e), fmt::format("environment '{}'", shown(e.key)));
    }
    for (const RunEntry& r : part.runs) {
      GQF_RETURN_IF_ERROR_CTX(
          check_entry(r), fmt::format("run '{}' started at {}", shown(r.run.command_line), shown(r.run.started_at)));
      uids.insert(r.uid);
    }
  }
  for (const DbContents& part : parts) {
    for (const MeasurementEntry& me : part.measurements) {
      GQF_RETURN_IF_ERROR_CTX(check_entry(me), describe(me.record));
      if (me.run_uid.empty() || uids.count(me.run_uid) != 0) continue;
      GQF_ASSIGN_OR_RETURN(int64_t id, run_id_for_uid(me.run_uid));
      if (id == 0) {
        return invalid_argument("{} refers to run uid '{}', which is in neither the merged data nor '{}'",
                                describe(me.record), shown(me.run_uid), path());
      }
      uids.insert(me.run_uid);
    }
  }
  MergeStats stats;
  MergeBatch batch(*this);
  auto write_all = [&]() -> Status {
    // Environments and runs of every part first: a measurement may refer to a run of another.
    for (const DbContents& part : parts) {
      for (const EnvironmentEntry& e : part.environments)
        GQF_RETURN_IF_ERROR(batch.write([&] { return merge_environment(e, stats); }));
      for (const RunEntry& r : part.runs) GQF_RETURN_IF_ERROR(batch.write([&] { return merge_run(r, stats); }));
    }
    for (const DbContents& part : parts) {
      for (const MeasurementEntry& me : part.measurements) GQF_RETURN_IF_ERROR(merge_measurement(me, stats, batch));
    }
    return batch.finish();
  };
  if (Status s = write_all(); !s.ok()) return merge_stopped(s, path(), batch.transactions());
  stats.transactions = batch.transactions();
  return stats;
}

Result<MergeStats> Database::merge_from(std::span<Database* const> sources) {
  GQF_RETURN_IF_ERROR(check_writable());
  MergeStats stats;
  MergeBatch batch(*this);
  auto write_all = [&]() -> Status {
    ContentVisitor heads;
    heads.environment = [&](const EnvironmentEntry& e) {
      GQF_RETURN_IF_ERROR(check_entry(e));
      return batch.write([&] { return merge_environment(e, stats); });
    };
    heads.run = [&](const RunEntry& r) {
      GQF_RETURN_IF_ERROR(check_entry(r));
      return batch.write([&] { return merge_run(r, stats); });
    };
    for (Database* source : sources) {
      GQF_RETURN_IF_ERROR_CTX(source->scan(heads), fmt::format("'{}'", source->path()));
    }
    ContentVisitor rows;
    rows.measurement = [&](const MeasurementEntry& me) {
      GQF_RETURN_IF_ERROR_CTX(check_entry(me), describe(me.record));
      return merge_measurement(me, stats, batch);
    };
    for (Database* source : sources) {
      GQF_RETURN_IF_ERROR_CTX(source->scan(rows), fmt::format("'{}'", source->path()));
    }
    return batch.finish();
  };
  if (Status s = write_all(); !s.ok()) return merge_stopped(s, path(), batch.transactions());
  stats.transactions = batch.transactions();
  return stats;
}

}  // namespace gqaforge::db
