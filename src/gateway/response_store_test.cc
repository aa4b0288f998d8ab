// The response store against both backends: SQLite (a temp file) and a real, throwaway
// PostgreSQL cluster.
#include "gateway/response_store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <chrono>
#include <filesystem>

#include "ledger/testing/pg_cluster.h"

namespace hybridgate::gateway {
namespace {

namespace asio = boost::asio;

// Runs an awaitable to completion on a context of its own (the store resumes it there).
template <typename T>
T Await(asio::awaitable<T> a) {
  asio::io_context io;
  auto f = asio::co_spawn(io, std::move(a), asio::use_future);
  io.run();
  return f.get();
}

ResponseStore::Row MakeRow(std::string id, std::string key, int cls = 1) {
  ResponseStore::Row r;
  r.id = std::move(id);
  r.key_id = std::move(key);
  r.data_class = cls;
  r.model = "m";
  r.history = R"([{"id":"h1"}])";
  r.input_items = R"([{"id":"i1"}])";
  r.output_items = R"([{"id":"o1"},{"id":"o2"}])";
  r.response = R"({"id":"x"})";
  return r;
}

void Put(ResponseStore& store, ResponseStore::Row row) {
  ResponseStore::Slot slot = store.Reserve();
  ASSERT_TRUE(slot.held());
  store.Save(std::move(row), slot);
  EXPECT_FALSE(slot.held());
}

// What both backends must do.
void Exercise(const config::ResponsesConfig& config, const std::string& path) {
  auto opened = ResponseStore::Open(config, path);
  ASSERT_TRUE(opened) << opened.error().message;
  ResponseStore& store = **opened;
  Put(store, MakeRow("resp_a", "key_1", 4));
  Put(store, MakeRow("resp_b", ""));
  // An old row: beyond retention, invisible (and purged).
  ResponseStore::Row old = MakeRow("resp_old", "key_1");
  old.created_at = 1000;
  Put(store, old);

  auto a = Await(store.Get("resp_a", "key_1"));
  ASSERT_TRUE(a && *a);
  EXPECT_EQ((*a)->data_class, 4);
  EXPECT_EQ(ResponseStore::Conversation(**a),
            R"([{"id":"h1"},{"id":"i1"},{"id":"o1"},{"id":"o2"}])");
  // Scoped to the key: another key, or none, sees nothing.
  auto other = Await(store.Get("resp_a", "key_2"));
  ASSERT_TRUE(other);
  EXPECT_FALSE(*other);
  EXPECT_FALSE(*Await(store.Get("resp_a", "")));
  EXPECT_TRUE(*Await(store.Get("resp_b", "")));
  EXPECT_FALSE(*Await(store.Get("resp_old", "key_1")));
  // Quotes and odd bytes in ids are data, not SQL.
  EXPECT_FALSE(*Await(store.Get("resp_a' OR '1'='1", "key_1")));
  // Delete is the owner's only, once.
  EXPECT_FALSE(*Await(store.Delete("resp_a", "key_2")));
  EXPECT_TRUE(*Await(store.Delete("resp_a", "key_1")));
  EXPECT_FALSE(*Await(store.Delete("resp_a", "key_1")));
  EXPECT_FALSE(*Await(store.Get("resp_a", "key_1")));
  // Saving again replaces.
  ResponseStore::Row b2 = MakeRow("resp_b", "", 3);
  Put(store, b2);
  EXPECT_EQ((*Await(store.Get("resp_b", "")))->data_class, 3);
}

TEST(ResponseStore, Sqlite) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("hg-resp-store-" + std::to_string(getpid()) + ".db"))
                               .string();
  config::ResponsesConfig config;
  Exercise(config, path);
  // Reopened, the rows are still there.
  {
    auto again = ResponseStore::Open(config, path);
    ASSERT_TRUE(again);
    EXPECT_TRUE(*Await((*again)->Get("resp_b", "")));
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

TEST(ResponseStore, Postgres) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  config::ResponsesConfig config;
  config.backend = "postgres";
  config.dsn = pg.dsn();
  Exercise(config, "");
  // A restarted server: the store reconnects on its next operation.
  ASSERT_EQ(pg.PgCtl("restart -m fast"), 0) << pg.Log();
  auto opened = ResponseStore::Open(config, "");
  ASSERT_TRUE(opened);
  EXPECT_TRUE(*Await((*opened)->Get("resp_b", "")));
}

// A database that takes statements and never answers: a read or delete is an error (a 503 to
// the client), never "there is no such response" — the row may well exist — and calls queued
// behind the first do not each wait their own timeout.
TEST(ResponseStore, APostgresThatDoesNotAnswerIsAnErrorNotAMiss) {
  ledger::testing::PgCluster pg;
  ASSERT_TRUE(pg.started()) << pg.error();
  config::ResponsesConfig config;
  config.backend = "postgres";
  config.dsn = pg.dsn();
  auto opened = ResponseStore::Open(config, "");
  ASSERT_TRUE(opened) << opened.error().message;
  Put(**opened, MakeRow("resp_a", "key_1"));
  ASSERT_TRUE(*Await((*opened)->Get("resp_a", "key_1")));
  const ledger::testing::TableLock locker(pg.dsn(), "hybridgate_responses");
  ASSERT_EQ(locker.error(), "");
  const auto start = std::chrono::steady_clock::now();
  auto got = Await((*opened)->Get("resp_a", "key_1"));
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, ErrorCode::kUnavailable);
  EXPECT_NE(got.error().message.find("no answer in 5000 ms"), std::string::npos)
      << got.error().message;
  auto deleted = Await((*opened)->Delete("resp_a", "key_1"));
  ASSERT_FALSE(deleted) << "not 'there was none'";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8))
      << "the delete queued behind the read does not wait a timeout of its own";
}

TEST(ResponseStore, SlotsBoundTheQueue) {
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("hg-resp-slots-" + std::to_string(getpid()) + ".db"))
                               .string();
  config::ResponsesConfig config;
  config.max_pending = 2;
  auto opened = ResponseStore::Open(config, path);
  ASSERT_TRUE(opened);
  ResponseStore& store = **opened;
  ResponseStore::Slot a = store.Reserve(), b = store.Reserve();
  EXPECT_TRUE(a.held() && b.held());
  EXPECT_FALSE(store.Reserve().held());         // full
  { ResponseStore::Slot gone = std::move(a); }  // an unused slot is given back
  ResponseStore::Slot c = store.Reserve();
  EXPECT_TRUE(c.held());
  store.Save(MakeRow("resp_s", ""), c);  // runs, then frees its place
  b = ResponseStore::Slot();             // a read needs a place too
  auto got = Await(store.Get("resp_s", ""));
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_TRUE(*got);
  EXPECT_TRUE(store.Reserve().held());
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

TEST(ResponseStore, PostgresWithoutADsnIsAClearError) {
  config::ResponsesConfig config;
  config.backend = "postgres";
  auto opened = ResponseStore::Open(config, "");
  ASSERT_FALSE(opened);
  EXPECT_NE(opened.error().message.find("dsn"), std::string::npos);
}

}  // namespace
}  // namespace hybridgate::gateway
