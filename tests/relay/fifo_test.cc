// Fifo: first in, first out, holding nothing once empty.
#include "relay/fifo.h"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

namespace pgtenant::relay {
namespace {

TEST_CASE("Fifo gives elements back in the order they came", "[fifo]") {
  Fifo<int> fifo;
  CHECK(fifo.empty());
  for (int i = 0; i < 5; ++i) fifo.push_back(i);
  CHECK(fifo.size() == 5);
  for (int i = 0; i < 3; ++i) {
    CHECK(fifo.front() == i);
    fifo.pop_front();
  }
  fifo.push_back(5);  // pushed while others wait: still behind them
  for (int i = 3; i <= 5; ++i) {
    CHECK(fifo.front() == i);
    fifo.pop_front();
  }
  CHECK(fifo.empty());
  CHECK(fifo.size() == 0);
}

TEST_CASE("Fifo releases what a popped element holds at once", "[fifo]") {
  Fifo<std::shared_ptr<int>> fifo;
  auto value = std::make_shared<int>(1);
  fifo.push_back(value);
  fifo.push_back(std::make_shared<int>(2));
  CHECK(value.use_count() == 2);
  fifo.pop_front();
  CHECK(value.use_count() == 1);  // not when the queue empties
  CHECK(*fifo.front() == 2);
}

TEST_CASE("Fifo is reusable after clear", "[fifo]") {
  Fifo<std::string> fifo;
  fifo.push_back("a");
  fifo.clear();
  CHECK(fifo.empty());
  fifo.push_back("b");
  CHECK(fifo.front() == "b");
}

}  // namespace
}  // namespace pgtenant::relay
