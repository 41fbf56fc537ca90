// Fifo: a first-in first-out queue that allocates nothing until its first push.
//
// std::deque allocates a map and a 512-byte node as soon as it is constructed; a session holds two
// queues and thousands of sessions sit idle, so that cost is paid per idle client for nothing.
// Fifo keeps its elements in a vector and an index of the front; the storage is reset (keeping its
// capacity) whenever the queue becomes empty, which for request/response traffic is every round trip.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace pgtenant::relay {

template <typename T>
class Fifo {
 public:
  bool empty() const { return head_ == items_.size(); }
  size_t size() const { return items_.size() - head_; }
  T& front() { return items_[head_]; }
  const T& front() const { return items_[head_]; }
  void push_back(T item) { items_.push_back(std::move(item)); }
  // REQUIRES: !empty().
  void pop_front() {
    items_[head_] = T();  // release what the element holds now, not when the queue empties
    if (++head_ == items_.size()) clear();
  }
  void clear() {
    items_.clear();
    head_ = 0;
  }

 private:
  std::vector<T> items_;
  size_t head_ = 0;
};

}  // namespace pgtenant::relay
