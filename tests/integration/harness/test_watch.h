// Watches each integration test case: a per-test deadline (a hang fails the run in minutes, not at the
// ctest timeout) and whether the running test case has failed so far (to print logs only then).
#pragma once

namespace pgtenant::integration {

// Seconds a test case may run before the run is stopped as hung (SIGTERM: the harness cleans up).
// PGTENANT_IT_DEADLINE_SECONDS overrides it (e.g. longer under a debugger).
// Sanitized builds run two to three times slower (the 10,000-connect restart loop takes ~50 s plain).
#ifdef PGTENANT_SANITIZED
inline constexpr int kTestCaseDeadlineSeconds = 300;
#else
inline constexpr int kTestCaseDeadlineSeconds = 120;
#endif

// True once an assertion of the running test case has failed.
bool CurrentTestCaseFailed();

}  // namespace pgtenant::integration
