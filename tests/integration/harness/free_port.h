// Free TCP ports for the integration suite, safe when several test processes choose at once.
//
// A port is handed out from a range below the kernel's ephemeral range (so no outgoing connection of
// any process takes it meanwhile) and leased with an flock on /tmp/pgtenant-it-ports/<port>: no other
// test process on the machine gets the same port while this process holds the lease. Leases end when
// the process exits (or, in a long run of many test cases, when more than kMaxPortLeases newer ones are
// held). The port is also checked free with a bind, as a server binds it (SO_REUSEADDR).
#pragma once

namespace pgtenant::integration {

inline constexpr int kMaxPortLeases = 256;

// A TCP port on 127.0.0.1 that nothing listens on now and no other test process has been given.
// Thread-safe. Throws std::runtime_error when none is left in the range.
int FreePort();
// The first of `count` consecutive such ports (for a port plus an instance id: metrics.port_per_instance).
int FreePorts(int count);

}  // namespace pgtenant::integration
