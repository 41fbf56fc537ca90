// Counts every allocation of the test executable that includes this header (one .cc per
// executable): the global operator new is replaced, and tests read AllocationCount() around a
// section where nothing else runs.
//
// Under AddressSanitizer the sanitizer owns operator new; replacing it there mixes its allocations
// with ours (alloc-dealloc-mismatch at exit). There PGTENANT_COUNT_ALLOCATIONS is 0, nothing is
// replaced, and the counting tests are compiled out: they run in the plain build only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define PGTENANT_COUNT_ALLOCATIONS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PGTENANT_COUNT_ALLOCATIONS 0
#endif
#endif
#ifndef PGTENANT_COUNT_ALLOCATIONS
#define PGTENANT_COUNT_ALLOCATIONS 1
#endif

#if PGTENANT_COUNT_ALLOCATIONS
namespace pgtenant::testing {
inline std::atomic<uint64_t> allocation_count{0};
inline uint64_t AllocationCount() { return allocation_count.load(std::memory_order_relaxed); }
}  // namespace pgtenant::testing

void* operator new(std::size_t size) {
  pgtenant::testing::allocation_count.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif
