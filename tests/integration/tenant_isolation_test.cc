// Tenants through the real proxy: each isolation mode sees only its own rows, the tenant context is
// the server session's default, and whoever cannot be placed in a tenant is refused (issue 3).
#include <catch2/catch.hpp>
#include <libpq-fe.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "tests/integration/harness/net.h"
#include "tests/integration/harness/pg.h"
#include "tests/integration/harness/postgres_server.h"
#include "tests/integration/harness/proxy_process.h"
#include "tests/integration/harness/tenant_world.h"

namespace pgtenant::integration {
namespace {

constexpr char kCurrentOrg[] = "SELECT current_setting('app.current_organization_id')";

std::vector<std::string> Projects(PGconn* conn) { return QueryColumn(conn, "SELECT name FROM projects ORDER BY name"); }

// Rows of `table` the session sees that belong to another organization than `tenant`.
std::string ForeignRows(PGconn* conn, const std::string& table, const std::string& tenant) {
  return QueryValue(conn, "SELECT count(*) FROM " + table + " WHERE org_id <> '" + TenantWorld::IdOf(tenant) + "'");
}

// The refusal of a connection that must fail: its SQLSTATE and the verbose libpq message.
struct Refusal {
  std::string sqlstate;
  std::string message;  // verbose: "FATAL:  28000: ...\nHINT:  ..."
};

Refusal MustBeRefused(PgConn conn) {
  REQUIRE(PQstatus(conn.get()) == CONNECTION_BAD);
  return {StartupSqlstate(conn.get()), PQerrorMessage(conn.get())};
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

TEST_CASE("each isolation mode sees only its own rows and carries its tenant id", "[tenants]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(world.Config());

  SECTION("rls: the shared table shows exactly the tenant's rows") {
    PgConn acme = MustConnectAs(proxy, "alice.acme");
    CHECK(QueryValue(acme.get(), kCurrentOrg) == kAcmeId);
    CHECK(QueryValue(acme.get(), "SELECT current_user") == world.shared.role);
    CHECK(QueryValue(acme.get(), "SELECT current_database()") == world.shared.database);
    CHECK(Projects(acme.get()) == TenantWorld::ProjectsOf("acme"));
    CHECK(ForeignRows(acme.get(), "projects", "acme") == "0");

    // The second rls tenant of the same table, named by a startup option.
    PgConn umbrella = MustConnectAs(proxy, "uma", "app", "options='-c pgtenant.tenant=umbrella'");
    CHECK(QueryValue(umbrella.get(), kCurrentOrg) == kTenantWorldUmbrellaId);
    CHECK(Projects(umbrella.get()) == TenantWorld::ProjectsOf("umbrella"));
    CHECK(ForeignRows(umbrella.get(), "projects", "umbrella") == "0");

    // The database is the wall: a row for another organization is refused by the policy's WITH CHECK.
    PgResult foreign_insert = Exec(acme.get(), "INSERT INTO projects (org_id, name) VALUES ('" +
                                                   std::string(kTenantWorldUmbrellaId) + "', 'planted')");
    CHECK(Sqlstate(foreign_insert.get()) == "42501");
    CHECK_THAT(ErrorMessage(foreign_insert.get()), Catch::Contains("row-level security"));
    MustExec(acme.get(), "INSERT INTO projects (org_id, name) VALUES (current_setting('app.current_organization_id')::uuid, "
                         "'acme: new')");
    CHECK(QueryValue(acme.get(), "SELECT count(*) FROM projects") == "4");
    CHECK(Projects(umbrella.get()) == TenantWorld::ProjectsOf("umbrella"));
  }

  SECTION("schema: the unqualified table is the tenant's schema's") {
    PgConn globex = MustConnectAs(proxy, "gina.globex");
    CHECK(QueryValue(globex.get(), kCurrentOrg) == kTenantWorldGlobexId);
    CHECK(QueryValue(globex.get(), "SHOW search_path") == "org_globex");
    CHECK(QueryValue(globex.get(), "SELECT relnamespace::regnamespace::text FROM pg_class WHERE oid = "
                                   "'projects'::regclass") == "org_globex");
    CHECK(Projects(globex.get()) == TenantWorld::ProjectsOf("globex"));
    // The shared table is RLS-protected for schema tenants too: only globex's own rows there.
    CHECK(QueryValue(globex.get(), "SELECT count(*) FROM public.projects") == "2");
    CHECK(ForeignRows(globex.get(), "public.projects", "globex") == "0");

    // alice belongs to acme and globex: the startup option picks globex.
    PgConn alice = MustConnectAs(proxy, "alice", "app", "options='-c pgtenant.tenant=globex'");
    CHECK(QueryValue(alice.get(), kCurrentOrg) == kTenantWorldGlobexId);
    CHECK(Projects(alice.get()) == TenantWorld::ProjectsOf("globex"));
  }

  SECTION("database: the tenant reaches its own database") {
    // database_name identification: dbname=initech names the tenant.
    PgConn initech = MustConnectAs(proxy, "carol", "initech");
    CHECK(QueryValue(initech.get(), kCurrentOrg) == kTenantWorldInitechId);
    CHECK(QueryValue(initech.get(), "SELECT current_database()") == world.dedicated.database);
    CHECK(QueryValue(initech.get(), "SELECT current_user") == world.dedicated.role);
    CHECK(Projects(initech.get()) == TenantWorld::ProjectsOf("initech"));

    PgConn suffix = MustConnectAs(proxy, "carol.initech", "initech_db");
    CHECK(QueryValue(suffix.get(), "SELECT current_database()") == world.dedicated.database);
  }
}

TEST_CASE("the tenant context cannot be reset away: RESET and DISCARD ALL fall back to it", "[tenants]") {
  TenantWorld world = TenantWorld::Create();

  SECTION("by default the proxy refuses to touch the context") {
    ProxyProcess proxy(world.Config());
    PgConn acme = MustConnectAs(proxy, "alice.acme");
    for (const char* sql : {"RESET app.current_organization_id",
                            "SET app.current_organization_id = '5e0c2b8a-1f3d-4c6e-9a7b-2d4f6e8a0c1b'"}) {
      INFO(sql);
      PgResult refused = Exec(acme.get(), sql);
      CHECK(Sqlstate(refused.get()) == "42501");
      CHECK_THAT(ErrorMessage(refused.get()), Catch::Contains("context.tenant_setting"));
      CHECK(QueryValue(acme.get(), kCurrentOrg) == kAcmeId);
    }
    // RESET ALL and DISCARD ALL (drivers' reset queries) run: the context is the server session's
    // default and survives them.
    for (const char* sql : {"DISCARD ALL", "RESET ALL"}) {
      INFO(sql);
      MustExec(acme.get(), sql);
      CHECK(QueryValue(acme.get(), kCurrentOrg) == kAcmeId);
    }
    CHECK(Projects(acme.get()) == TenantWorld::ProjectsOf("acme"));
  }

  SECTION("with the rules off, the server session's default is still the tenant's (session mode)") {
    // The parser is defence in depth; the context is in the server's startup packet, so even
    // statements the proxy lets through fall back to it.
    ProxyConfig config = world.Config();
    config.extra_yaml = "policy: { rules: { context.tenant_setting: off, context.search_path: off } }\n";
    ProxyProcess proxy(config);

    for (const std::string tenant : {"acme", "globex", "initech"}) {
      INFO("tenant " << tenant);
      const std::string login = tenant == "acme" ? "alice.acme" : tenant == "globex" ? "gina.globex" : "carol.initech";
      PgConn conn = MustConnectAs(proxy, login, tenant == "initech" ? "initech_db" : "app");
      const std::string id = TenantWorld::IdOf(tenant);
      CHECK(QueryValue(conn.get(), kCurrentOrg) == id);

      MustExec(conn.get(), "RESET app.current_organization_id");
      CHECK(QueryValue(conn.get(), kCurrentOrg) == id);

      MustExec(conn.get(), "SET app.current_organization_id = ''");
      CHECK(QueryValue(conn.get(), kCurrentOrg) == "");
      MustExec(conn.get(), "RESET app.current_organization_id");
      CHECK(QueryValue(conn.get(), kCurrentOrg) == id);

      MustExec(conn.get(), "SET app.current_organization_id = ''");
      MustExec(conn.get(), "DISCARD ALL");
      CHECK(QueryValue(conn.get(), kCurrentOrg) == id);

      MustExec(conn.get(), "SET app.current_organization_id = ''");
      MustExec(conn.get(), "RESET ALL");
      CHECK(QueryValue(conn.get(), kCurrentOrg) == id);

      if (tenant == "globex") {
        MustExec(conn.get(), "SET search_path = public");
        MustExec(conn.get(), "DISCARD ALL");
        CHECK(QueryValue(conn.get(), "SHOW search_path") == "org_globex");
        MustExec(conn.get(), "SET search_path = public");
        MustExec(conn.get(), "RESET search_path");
        CHECK(QueryValue(conn.get(), "SHOW search_path") == "org_globex");
      }
      CHECK(Projects(conn.get()) == TenantWorld::ProjectsOf(tenant));
    }
  }
}

TEST_CASE("no tenant, an unknown tenant and a tenant one is not a member of are refused with 28000, a database not served with 3D000", "[tenants]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(world.Config());

  SECTION("a user with two tenants who names none is asked to, with the accepted forms") {
    Refusal refusal = MustBeRefused(ConnectAs(proxy, "alice"));
    INFO(refusal.message);
    CHECK(refusal.sqlstate == "28000");
    CHECK(PrimaryMessageOf(refusal.message) == "pgtenant: tenant required");
    CHECK_THAT(refusal.message, Catch::Contains("HINT:"));
    CHECK_THAT(refusal.message, Catch::Contains("user=alice.TENANT"));
    CHECK_THAT(refusal.message, Catch::Contains("pgtenant.tenant=TENANT"));
    CHECK_THAT(refusal.message, Catch::Contains("dbname=TENANT"));
  }

  SECTION("an unknown tenant and a tenant the user is not in get the same answer") {
    // By user name suffix, and by startup option.
    Refusal unknown = MustBeRefused(ConnectAs(proxy, "alice.hooli"));
    Refusal not_member = MustBeRefused(ConnectAs(proxy, "alice.umbrella"));
    INFO(unknown.message);
    INFO(not_member.message);
    CHECK(unknown.sqlstate == "28000");
    CHECK(not_member.sqlstate == "28000");
    CHECK(PrimaryMessageOf(unknown.message) == "pgtenant: user \"alice\" is not a member of tenant \"hooli\"");
    CHECK(Replace(not_member.message, "umbrella", "hooli") == unknown.message);

    Refusal unknown_option = MustBeRefused(ConnectAs(proxy, "bob", "app", "options='-c pgtenant.tenant=hooli'"));
    Refusal not_member_option = MustBeRefused(ConnectAs(proxy, "bob", "app", "options='-c pgtenant.tenant=globex'"));
    INFO(unknown_option.message);
    INFO(not_member_option.message);
    CHECK(unknown_option.sqlstate == "28000");
    CHECK(not_member_option.sqlstate == "28000");
    CHECK(PrimaryMessageOf(not_member_option.message) == "pgtenant: user \"bob\" is not a member of tenant \"globex\"");
    CHECK(Replace(not_member_option.message, "globex", "hooli") == unknown_option.message);
  }

  SECTION("the client's database never picks another tenant's database") {
    // bob is acme's: neither initech's real database name nor its tenant name reaches it.
    for (const std::string& database : {world.dedicated.database, std::string("initech")}) {
      INFO("dbname=" << database);
      // PostgreSQL's answer for a missing database, one text whatever the database is.
      const std::string expected = "database \"" + database + "\" does not exist or is not served to this user";
      Refusal refusal = MustBeRefused(ConnectAs(proxy, "bob", database));
      INFO(refusal.message);
      CHECK(refusal.sqlstate == "3D000");
      CHECK(PrimaryMessageOf(refusal.message) == expected);
      Refusal with_suffix = MustBeRefused(ConnectAs(proxy, "bob.acme", database));
      INFO(with_suffix.message);
      CHECK(with_suffix.sqlstate == "3D000");
      CHECK(PrimaryMessageOf(with_suffix.message) == expected);
    }
    // A database that is no tenant's reads the same.
    for (const std::string login : {"bob", "bob.acme"}) {
      Refusal heldout = MustBeRefused(ConnectAs(proxy, login, "heldout"));
      INFO(heldout.message);
      CHECK(heldout.sqlstate == "3D000");
      CHECK(PrimaryMessageOf(heldout.message) == "database \"heldout\" does not exist or is not served to this user");
    }
    CHECK(PostgresServer::Shared().Exec("SELECT count(*) FROM pg_stat_activity WHERE datname = '" +
                                        world.dedicated.database + "'")
              .at(0)
              .at(0) == "0");
  }

  SECTION("a wrong password is 28P01 whatever tenant is named") {
    for (const std::string login : {"alice.acme", "alice.hooli", "alice"}) {
      INFO(login);
      PgConn conn = ConnectProxy(proxy, login, "wrong", "app");
      REQUIRE(PQstatus(conn.get()) == CONNECTION_BAD);
      CHECK(StartupSqlstate(conn.get()) == "28P01");
    }
  }
}

TEST_CASE("a viewer's session is read-only and the viewer cannot lift it", "[tenants]") {
  TenantWorld world = TenantWorld::Create();
  const std::string insert =
      "INSERT INTO projects (org_id, name) VALUES (current_setting('app.current_organization_id')::uuid, 'vic was here')";

  SECTION("the server session is read-only: writes fail with 25006") {
    // With the policy's readonly.write rule off, the write reaches the server, which refuses it.
    ProxyConfig config = world.Config();
    config.extra_yaml = "policy: { rules: { readonly.write: off } }\n";
    ProxyProcess proxy(config);
    PgConn vic = MustConnectAs(proxy, "vic.acme");
    CHECK(QueryValue(vic.get(), "SHOW default_transaction_read_only") == "on");
    CHECK(Projects(vic.get()) == TenantWorld::ProjectsOf("acme"));
    PgResult refused = Exec(vic.get(), insert);
    CHECK(Sqlstate(refused.get()) == "25006");
    CHECK_THAT(ErrorMessage(refused.get()), Catch::Contains("read-only transaction"));
    // A member of the same tenant writes normally.
    PgConn bob = MustConnectAs(proxy, "bob.acme");
    CHECK(QueryValue(bob.get(), "SHOW default_transaction_read_only") == "off");
    MustExec(bob.get(), insert);
    CHECK(world.ExecShared("SELECT count(*) FROM projects WHERE name = 'vic was here'").at(0).at(0) == "1");
  }

  SECTION("with the default policy, writes and attempts to lift read-only are refused with 42501") {
    ProxyProcess proxy(world.Config());
    PgConn vic = MustConnectAs(proxy, "vic.acme");
    for (const char* sql :
         {"SET default_transaction_read_only = off", "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
          "BEGIN READ WRITE", "SET transaction_read_only = off"}) {
      INFO(sql);
      PgResult refused = Exec(vic.get(), sql);
      CHECK(Sqlstate(refused.get()) == "42501");
      CHECK(PQtransactionStatus(vic.get()) == PQTRANS_IDLE);
    }
    // RESET may be let through or refused: either way it falls back to the session default, read-only.
    PgResult reset = Exec(vic.get(), "RESET default_transaction_read_only");
    CHECK((Sqlstate(reset.get()).empty() || Sqlstate(reset.get()) == "42501"));
    PgResult write = Exec(vic.get(), insert);
    CHECK(Sqlstate(write.get()) == "42501");
    CHECK(QueryValue(vic.get(), "SHOW default_transaction_read_only") == "on");
    CHECK(world.ExecShared("SELECT count(*) FROM projects WHERE name = 'vic was here'").at(0).at(0) == "0");
  }
}

TEST_CASE("startup parameters outside the allowlist are refused with 0A000", "[tenants]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(world.Config());

  SECTION("replication through libpq") {
    for (const char* mode : {"database", "true"}) {
      INFO("replication=" << mode);
      Refusal refusal = MustBeRefused(ConnectAs(proxy, "alice.acme", "app", std::string("replication=") + mode));
      INFO(refusal.message);
      CHECK(refusal.sqlstate == "0A000");
      CHECK(PrimaryMessageOf(refusal.message) == "pgtenant: unsupported startup parameter \"replication\"");
    }
  }

  SECTION("settings sent as startup parameters") {
    for (const std::string name : {"work_mem", "search_path", "app.current_organization_id", "session_authorization",
                                   "default_transaction_read_only"}) {
      INFO(name);
      RawClient client(proxy.port());
      REQUIRE(client.Send(StartupPacket({{"user", "alice.acme"}, {"database", "app"}, {name, "x"}})));
      auto error = client.ReadError(std::chrono::seconds(5));
      REQUIRE(error.has_value());
      CHECK((*error)['S'] == "FATAL");
      CHECK((*error)['C'] == "0A000");
      CHECK((*error)['M'] == "pgtenant: unsupported startup parameter \"" + name + "\"");
      CHECK(client.WaitForClose(std::chrono::seconds(5)));
    }
  }

  SECTION("options carrying anything but the tenant") {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"alice.acme", "-c work_mem=64MB"},
        {"alice.acme", "-c pgtenant.tenant=acme -c app.current_organization_id=5e0c2b8a-1f3d-4c6e-9a7b-2d4f6e8a0c1b"},
        {"gina.globex", "-c search_path=public"},
        {"vic.acme", "-c default_transaction_read_only=off"},
        {"alice", "--pgtenant.tenant=acme --work_mem=1MB"},
        {"alice.acme", "-B 1000"},
    };
    for (const auto& [login, options] : cases) {
      INFO(login << " options=" << options);
      Refusal refusal = MustBeRefused(ConnectAs(proxy, login, "app", "options=" + ConninfoValue(options)));
      INFO(refusal.message);
      CHECK(refusal.sqlstate == "0A000");
      CHECK_THAT(PrimaryMessageOf(refusal.message), Catch::StartsWith("pgtenant: startup option"));
    }
  }

  SECTION("allowlisted parameters pass and are applied") {
    PgConn conn = MustConnectAs(proxy, "alice.acme", "app", "application_name=billing client_encoding=UTF8");
    CHECK(QueryValue(conn.get(), "SHOW application_name") == "billing");
    CHECK(QueryValue(conn.get(), "SHOW client_encoding") == "UTF8");
    CHECK(QueryValue(conn.get(), kCurrentOrg) == kAcmeId);

    RawClient raw(proxy.port());
    REQUIRE(raw.Send(StartupPacket({{"user", "alice.acme"},
                                    {"database", "app"},
                                    {"TimeZone", "Asia/Tokyo"},
                                    {"DateStyle", "ISO, DMY"},
                                    {"extra_float_digits", "3"}})));
    // Not refused: the proxy asks for the password (SCRAM) instead.
    auto first = raw.Read(std::chrono::seconds(5));
    REQUIRE(first.has_value());
    CHECK(first->type == 'R');
  }
}

TEST_CASE("LISTEN/NOTIFY between two clients of one tenant in session mode", "[tenants]") {
  TenantWorld world = TenantWorld::Create();
  ProxyProcess proxy(world.Config());
  PgConn listener = MustConnectAs(proxy, "alice.acme");
  PgConn sender = MustConnectAs(proxy, "bob.acme");
  REQUIRE(QueryValue(listener.get(), "SELECT pg_backend_pid()") != QueryValue(sender.get(), "SELECT pg_backend_pid()"));

  MustExec(listener.get(), "LISTEN acme_events");
  MustExec(sender.get(), "NOTIFY acme_events, 'project created'");
  MustExec(sender.get(), "SELECT pg_notify('acme_events', current_setting('app.current_organization_id'))");

  std::vector<std::string> payloads;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (payloads.size() < 2 && std::chrono::steady_clock::now() < deadline) {
    while (PGnotify* notify = PQnotifies(listener.get())) {
      CHECK(std::string(notify->relname) == "acme_events");
      payloads.emplace_back(notify->extra);
      PQfreemem(notify);
    }
    if (payloads.size() >= 2) break;
    if (WaitReadable(listener.get(), std::chrono::milliseconds(200))) REQUIRE(PQconsumeInput(listener.get()) == 1);
  }
  REQUIRE(payloads.size() == 2);
  CHECK(payloads[0] == "project created");
  CHECK(payloads[1] == kAcmeId);
  // The listener's session goes on normally afterwards.
  CHECK(Projects(listener.get()) == TenantWorld::ProjectsOf("acme"));
}

}  // namespace
}  // namespace pgtenant::integration
