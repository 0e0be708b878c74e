// Tests of the RAII SQLite wrapper: errors carry SQL and SQLite's message, transactions roll
// back unless committed, handles move.
#include "db/sqlite.h"

#include <gtest/gtest.h>

#include <cmath>

namespace gqaforge::db::sql {
namespace {

Connection memory_db() {
  auto conn = Connection::open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  EXPECT_TRUE(conn.ok()) << conn.status().to_string();
  return std::move(conn).value();
}

TEST(SqliteTest, ErrorsCarryTheSqlAndSqliteMessage) {
  Connection conn = memory_db();
  Status s = conn.exec("SELECT * FROM no_such_table");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no such table: no_such_table"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("SELECT * FROM no_such_table"), std::string::npos) << s.message();
  auto st = conn.prepare("SELEC 1");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().message().find("syntax error"), std::string::npos) << st.status().message();
}

TEST(SqliteTest, ConstraintViolationIsInvalidArgument) {
  Connection conn = memory_db();
  ASSERT_TRUE(conn.exec("CREATE TABLE t (k TEXT UNIQUE); INSERT INTO t VALUES ('a')").ok());
  Status s = conn.exec("INSERT INTO t VALUES ('a')");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.to_string();
  EXPECT_NE(s.message().find("UNIQUE"), std::string::npos) << s.message();
}

TEST(SqliteTest, TransactionRollsBackUnlessCommitted) {
  Connection conn = memory_db();
  ASSERT_TRUE(conn.exec("CREATE TABLE t (x INTEGER)").ok());
  {
    auto tx = Transaction::begin(conn, Transaction::Kind::kImmediate);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(conn.exec("INSERT INTO t VALUES (1)").ok());
  }  // destroyed uncommitted
  EXPECT_EQ(*conn.query_int("SELECT count(*) FROM t"), 0);
  {
    auto tx = Transaction::begin(conn, Transaction::Kind::kImmediate);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(conn.exec("INSERT INTO t VALUES (2)").ok());
    Transaction moved = std::move(*tx);  // moving keeps one owner
    ASSERT_TRUE(moved.commit().ok());
  }
  EXPECT_EQ(*conn.query_int("SELECT count(*) FROM t"), 1);
  EXPECT_NE(sqlite3_get_autocommit(conn.handle()), 0);  // no transaction left open
}

TEST(SqliteTest, StatementsBindStepAndMove) {
  Connection conn = memory_db();
  ASSERT_TRUE(conn.exec("CREATE TABLE t (i INTEGER, d REAL, s TEXT)").ok());
  auto ins = conn.prepare("INSERT INTO t VALUES (?, ?, ?)");
  ASSERT_TRUE(ins.ok());
  const std::string with_nul("a\0b", 3);
  ins->bind(1, int64_t{1} << 40).bind(2, 0.1).bind(3, with_nul);
  ASSERT_TRUE(ins->run().ok());
  ins->reset();
  ins->bind(1, 7).bind(2, std::nan("")).bind(3, "x");
  ASSERT_TRUE(ins->run().ok());

  auto sel = conn.prepare("SELECT i, d, s FROM t ORDER BY i");
  ASSERT_TRUE(sel.ok());
  Statement moved = std::move(*sel);
  ASSERT_TRUE(*moved.step());
  EXPECT_EQ(moved.column_int(0), 7);
  EXPECT_TRUE(std::isnan(moved.column_double(1)));  // NaN is stored as NULL and read back as NaN
  EXPECT_TRUE(moved.column_is_null(1));
  ASSERT_TRUE(*moved.step());
  EXPECT_EQ(moved.column_int(0), int64_t{1} << 40);
  EXPECT_EQ(moved.column_double(1), 0.1);
  EXPECT_EQ(moved.column_text(2), with_nul);
  EXPECT_FALSE(*moved.step());
}

TEST(SqliteTest, BindErrorIsReportedByStep) {
  Connection conn = memory_db();
  auto st = conn.prepare("SELECT ?");
  ASSERT_TRUE(st.ok());
  st->bind(5, 1);  // no parameter 5
  auto row = st->step();
  ASSERT_FALSE(row.ok());
  EXPECT_EQ(row.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(row.status().message().find("SELECT ?"), std::string::npos) << row.status().message();
}

TEST(SqliteTest, ConnectionMoveTransfersOwnership) {
  Connection a = memory_db();
  ASSERT_TRUE(a.exec("CREATE TABLE t (x)").ok());
  Connection b = std::move(a);
  EXPECT_FALSE(a.is_open());  // NOLINT(bugprone-use-after-move): checking the moved-from state
  ASSERT_TRUE(b.is_open());
  EXPECT_TRUE(b.exec("INSERT INTO t VALUES (1)").ok());
}

TEST(SqliteTest, OpeningAMissingDirectoryFails) {
  auto conn = Connection::open("/nonexistent-dir-gqaforge/x.sqlite", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  ASSERT_FALSE(conn.ok());
  EXPECT_NE(conn.status().message().find("/nonexistent-dir-gqaforge/x.sqlite"), std::string::npos);
}

}  // namespace
}  // namespace gqaforge::db::sql
