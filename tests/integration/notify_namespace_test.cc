// LISTEN/NOTIFY for tenants that share a database (issue 24, item 1): each tenant's channels are its
// own (policy/channel_namespace.h). Two tenants listen on the same channel name and each hears only
// its own tenant's NOTIFY, pg_notify() and parameterised pg_notify(); no channel name a tenant can
// write reaches another tenant's listeners; a trigger of the schema owner reaches one tenant by
// notifying in its namespace, and a channel in no namespace reaches no tenant; a tenant with a
// database of its own keeps its channels as they are.
//
// "Nothing arrives" is shown without a timeout: the listener's tenant then sends a notification of
// its own (a sentinel), and the next notification the listener gets must be that one. A listener
// gets notifications in the order their transactions committed.
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <string>

#include "protocol/md5_auth.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/tenant_world.h"

namespace pgtenant::integration {
namespace {

constexpr auto kArrival = std::chrono::seconds(10);

// The next notification, which must come.
Notification Next(PGconn* listener) {
  auto received = AwaitNotification(listener, kArrival);
  REQUIRE(received.has_value());
  return *received;
}

// A sentinel from the listener's own tenant (`sender`), and the listener's next notification is it.
void CheckNothingElseArrived(PGconn* listener, PGconn* sender, const std::string& channel) {
  MustExec(sender, "NOTIFY " + channel + ", 'sentinel'");
  const Notification next = Next(listener);
  CHECK(next.channel == channel);
  CHECK(next.payload == "sentinel");
}

// The channel "orders" of tenant `tenant` on the server, written as the SQL recipe gives it.
std::string ServerChannel(const std::string& tenant, const std::string& channel) {
  return "t" + protocol::Md5Hex(TenantWorld::IdOf(tenant)).substr(0, 16) + "." + channel;
}

TEST_CASE("two tenants of one database LISTEN on one channel name and each hears only its own tenant",
          "[notify][isolation]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(world.Config());
  PgConn acme_listener = MustConnectAs(proxy, "bob");
  PgConn acme_sender = MustConnectAs(proxy, "alice.acme");
  PgConn umbrella_listener = MustConnectAs(proxy, "uma");
  PgConn umbrella_sender = MustConnectAs(proxy, "uma");
  PgConn globex_listener = MustConnectAs(proxy, "gina");
  for (PGconn* listener : {acme_listener.get(), umbrella_listener.get(), globex_listener.get()})
    MustExec(listener, "LISTEN orders");

  // acme sends in every form a client can.
  MustExec(acme_sender.get(), "NOTIFY orders, 'statement'");
  MustExec(acme_sender.get(), "SELECT pg_notify('orders', 'literal')");
  const char* values[] = {"orders", "parameter"};
  PgResult params(PQexecParams(acme_sender.get(), "SELECT pg_notify($1, $2)", 2, nullptr, values, nullptr, nullptr, 0));
  REQUIRE(PQresultStatus(params.get()) == PGRES_TUPLES_OK);
  for (const char* payload : {"statement", "literal", "parameter"}) {
    const Notification got = Next(acme_listener.get());
    CHECK(got.channel == "orders");  // without the namespace
    CHECK(got.payload == payload);
    CHECK(std::to_string(got.sender_pid) == QueryValue(acme_sender.get(), "SELECT pg_backend_pid()"));
  }
  // Neither umbrella (rls) nor globex (schema) heard any of it.
  CheckNothingElseArrived(umbrella_listener.get(), umbrella_sender.get(), "orders");
  PgConn globex_sender = MustConnectAs(proxy, "alice.globex");
  CheckNothingElseArrived(globex_listener.get(), globex_sender.get(), "orders");
  CheckNothingElseArrived(acme_listener.get(), acme_sender.get(), "orders");  // nor did acme hear theirs

  // A client's own notification carries the process ID it was given at login, as before.
  MustExec(acme_listener.get(), "NOTIFY orders, 'own'");
  const Notification own = Next(acme_listener.get());
  CHECK(own.payload == "own");
  CHECK(own.sender_pid == PQbackendPID(acme_listener.get()));
}

TEST_CASE("no channel name a tenant writes reaches another tenant's listeners", "[notify][isolation]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(world.Config());
  PgConn umbrella_listener = MustConnectAs(proxy, "uma");
  PgConn umbrella_sender = MustConnectAs(proxy, "uma");
  PgConn attacker = MustConnectAs(proxy, "bob");
  MustExec(umbrella_listener.get(), "LISTEN orders");

  // umbrella's channel as the server names it, and every way to write it.
  const std::string target = ServerChannel("umbrella", "orders");
  MustExec(attacker.get(), "NOTIFY \"" + target + "\", 'statement'");
  MustExec(attacker.get(), "SELECT pg_notify('" + target + "', 'literal')");
  MustExec(attacker.get(), "SELECT pg_notify(text '" + target + "', 'typed')");
  const char* values[] = {target.c_str()};
  PgResult params(PQexecParams(attacker.get(), "SELECT pg_notify($1, 'parameter')", 1, nullptr, values, nullptr,
                               nullptr, 0));
  REQUIRE(PQresultStatus(params.get()) == PGRES_TUPLES_OK);
  // A channel computed by an expression is refused (42501, notify.channel) and the session goes on.
  PgResult computed = Exec(attacker.get(), "SELECT pg_notify(lower('" + target + "'), 'computed')");
  CHECK(Sqlstate(computed.get()) == "42501");
  CHECK_THAT(ErrorMessage(computed.get()), Catch::Contains("notify.channel"));
  CHECK(QueryValue(attacker.get(), "SELECT 'still here'") == "still here");
  CheckNothingElseArrived(umbrella_listener.get(), umbrella_sender.get(), "orders");

  // Listening on umbrella's server channel by name hears nothing of umbrella either.
  MustExec(attacker.get(), "LISTEN \"" + target + "\"");
  MustExec(umbrella_sender.get(), "NOTIFY orders, 'for umbrella'");
  CHECK(Next(umbrella_listener.get()).payload == "for umbrella");
  MustExec(attacker.get(), "NOTIFY \"" + target + "\", 'acme sentinel'");
  const Notification heard = Next(attacker.get());
  CHECK(heard.payload == "acme sentinel");
  CHECK(heard.channel == target);  // the attacker's own channel of that name
}

TEST_CASE("a trigger reaches one tenant's listeners through its namespace; a channel in none reaches no tenant",
          "[notify][isolation]") {
  TenantWorld world = TenantWorld::Create();
  // The schema owner's trigger: the documented recipe for a tenant's channel, and a plain channel.
  world.ExecShared(
      "CREATE FUNCTION public.project_added() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
      "PERFORM pg_notify('t' || left(md5(NEW.org_id::text), 16) || '.projects', NEW.name); "
      "PERFORM pg_notify('projects', 'plain ' || NEW.name); RETURN NEW; END $$;"
      "ALTER FUNCTION public.project_added() OWNER TO " + world.owner_role + ";"
      "CREATE TRIGGER project_added AFTER INSERT ON public.projects FOR EACH ROW EXECUTE FUNCTION public.project_added();");
  ProxyProcess proxy(world.Config());
  PgConn acme_listener = MustConnectAs(proxy, "bob");
  PgConn acme_writer = MustConnectAs(proxy, "alice.acme");
  PgConn umbrella_listener = MustConnectAs(proxy, "uma");
  PgConn umbrella_sender = MustConnectAs(proxy, "uma");
  MustExec(acme_listener.get(), "LISTEN projects");
  MustExec(umbrella_listener.get(), "LISTEN projects");

  MustExec(acme_writer.get(),
           "INSERT INTO projects (org_id, name) VALUES (current_setting('app.current_organization_id')::uuid, 'rocket')");
  const Notification got = Next(acme_listener.get());
  CHECK(got.channel == "projects");
  CHECK(got.payload == "rocket");
  CheckNothingElseArrived(acme_listener.get(), acme_writer.get(), "projects");  // not the plain one
  CheckNothingElseArrived(umbrella_listener.get(), umbrella_sender.get(), "projects");
}

TEST_CASE("a tenant with a database of its own keeps its channels as they are", "[notify][isolation]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(world.Config());
  PgConn listener = MustConnectAs(proxy, "carol", "initech");
  MustExec(listener.get(), "LISTEN orders");
  world.ExecDedicated("NOTIFY orders, 'from the database itself'");
  const Notification got = Next(listener.get());
  CHECK(got.channel == "orders");
  CHECK(got.payload == "from the database itself");
  // And what carol sends goes out under the name she gave it.
  CHECK(QueryValue(listener.get(), "SELECT pg_listening_channels()") == "orders");
}

}  // namespace
}  // namespace pgtenant::integration
