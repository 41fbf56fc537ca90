// Sparse<T>: a part of a config entry that most entries leave at its defaults, costing one pointer
// until something sets it (issue 26: a tenant in the config costs what the tenant needs, and most of
// 100,000 tenants set no policy, compliance, server role or pool of their own).
//
// Reads see the defaults (a shared, immutable T{}) when nothing was set; the loader writes through
// Mutable() or assignment. Copies are deep, like the T they stand for.
#pragma once

#include <memory>
#include <utility>

namespace pgtenant::config {

template <typename T>
class Sparse {
 public:
  Sparse() = default;
  Sparse(const Sparse& other) : value_(other.value_ ? std::make_unique<T>(*other.value_) : nullptr) {}
  Sparse(Sparse&&) noexcept = default;
  Sparse& operator=(const Sparse& other) {
    if (this != &other) value_ = other.value_ ? std::make_unique<T>(*other.value_) : nullptr;
    return *this;
  }
  Sparse& operator=(Sparse&&) noexcept = default;
  Sparse& operator=(T value) {
    value_ = std::make_unique<T>(std::move(value));
    return *this;
  }

  const T& operator*() const { return value_ ? *value_ : Defaults(); }
  const T* operator->() const { return &**this; }
  // Equal when what they read is equal (unset equals set to the defaults).
  friend bool operator==(const Sparse& a, const Sparse& b) { return *a == *b; }

  T& Mutable() {
    if (!value_) value_ = std::make_unique<T>();
    return *value_;
  }

 private:
  static const T& Defaults() {
    static const T defaults{};
    return defaults;
  }

  std::unique_ptr<T> value_;
};

}  // namespace pgtenant::config
