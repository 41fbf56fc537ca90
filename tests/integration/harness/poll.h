// Waiting for an event with a deadline: the integration suite's one way to wait.
//
// A test never sleeps for a guessed time; it polls the event itself (a log line, a metric value, a row
// of pg_stat_activity, a console SHOW) until it holds or the deadline passes.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string_view>

namespace pgtenant::integration {

// Calls `condition` until it returns true or `timeout` has passed, `interval` apart; true if it held.
// The condition is checked once more at the deadline, so a slow last poll still counts.
bool PollUntil(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(20));

// How many times `what` occurs in `text` (non-overlapping).
size_t CountOf(std::string_view text, std::string_view what);

}  // namespace pgtenant::integration
