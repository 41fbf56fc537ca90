// pgjdbc (Debian's libpostgresql-jdbc-java) with its defaults: the driver suite's workload. Arguments
// and output are those of workload_common.py (its docstring describes them). Run with java's single-file
// launcher: java -cp /usr/share/java/postgresql.jar PgjdbcWorkload.java key=value ... (the suite compiles
// it once with javac instead: compile_pgjdbc_workload).
//
// Each application has `connections` JDBC connections in a small pool that its `workers` threads take
// turns on. A connection's TimeZone is the JVM's default when it connects (pgjdbc sends it as a startup
// parameter), its application_name the ApplicationName property (pgjdbc sets it with SET after login,
// with SET extra_float_digits = 3). Each connection keeps its PreparedStatements and reuses them in every
// transaction, well past prepareThreshold (5), after which pgjdbc prepares them on the server under a
// name; the rows are written with addBatch/executeBatch.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TimeZone;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGStatement;

public class PgjdbcWorkload {
  static final String SETTINGS_SQL = "SELECT current_setting('app.current_organization_id'), "
      + "current_setting('TimeZone'), current_setting('application_name')";
  static final int ROWS_PER_BATCH = 2;

  record App(int index, String tenant, String login, String password, String orgId, String timezone,
             String applicationName) {}

  // A pooled connection and the statements it keeps across transactions.
  static final class Client {
    final Connection connection;
    final PreparedStatement settings;
    final PreparedStatement orgs;
    final PreparedStatement insert;

    Client(Connection connection) throws SQLException {
      this.connection = connection;
      connection.setAutoCommit(false);
      settings = connection.prepareStatement(SETTINGS_SQL);
      orgs = connection.prepareStatement("SELECT org_id::text FROM projects WHERE name <> ?");
      insert = connection.prepareStatement("INSERT INTO projects (org_id, name) VALUES (?::uuid, ?)");
    }
  }

  static final Map<String, AtomicLong> counts = new java.util.LinkedHashMap<>();
  static {
    for (String name : new String[] {"transactions", "rows_written", "foreign_rows", "wrong_tenant", "wrong_timezone",
                                     "wrong_application_name", "failures"}) {
      counts.put(name, new AtomicLong());
    }
  }

  static Map<String, String> values = new HashMap<>();
  static List<App> apps = new ArrayList<>();

  static void failure(String where, Exception error) {
    counts.get("failures").incrementAndGet();
    String sqlstate = error instanceof SQLException sql && sql.getSQLState() != null ? sql.getSQLState() + " " : "";
    String message = String.valueOf(error.getMessage()).replaceAll("\\s+", " ");
    System.out.println("FAILURE " + where + ": " + sqlstate + error.getClass().getSimpleName() + ": " + message);
  }

  static void wrong(String count, String where, String what, String seen, String expected) {
    counts.get(count).incrementAndGet();
    System.out.println("WRONG " + where + ": " + what + " " + seen + ", expected " + expected);
  }

  static void transaction(App app, Client client, int worker, int t) throws SQLException {
    String where = "app" + app.index() + " w" + worker + " t" + t;
    try (ResultSet row = client.settings.executeQuery()) {
      row.next();
      String timezone = app.timezone().isEmpty() ? values.get("default_timezone") : app.timezone();
      if (!row.getString(1).equals(app.orgId())) wrong("wrong_tenant", where, "tenant context", row.getString(1), app.orgId());
      if (!row.getString(2).equals(timezone)) wrong("wrong_timezone", where, "TimeZone", row.getString(2), timezone);
      if (!row.getString(3).equals(app.applicationName())) {
        wrong("wrong_application_name", where, "application_name", row.getString(3), app.applicationName());
      }
    }
    client.orgs.setString(1, "");
    try (ResultSet rows = client.orgs.executeQuery()) {
      while (rows.next()) {
        if (!rows.getString(1).equals(app.orgId())) counts.get("foreign_rows").incrementAndGet();
      }
    }
    for (int b = 0; b < ROWS_PER_BATCH; ++b) {
      client.insert.setString(1, app.orgId());
      client.insert.setString(2, values.get("driver") + " " + app.tenant() + " app" + app.index() + " w" + worker + " t" + t
                                     + " b" + b);
      client.insert.addBatch();
    }
    for (int inserted : client.insert.executeBatch()) {
      if (inserted != 1) throw new SQLException("a batched INSERT reported " + inserted + " rows");
    }
    client.connection.commit();
    counts.get("rows_written").addAndGet(ROWS_PER_BATCH);
    counts.get("transactions").incrementAndGet();
  }

  static void worker(App app, BlockingQueue<Client> pool, int worker) {
    int transactions = Integer.parseInt(values.get("transactions"));
    for (int t = 0; t < transactions; ++t) {
      Client client;
      try {
        client = pool.take();
      } catch (InterruptedException e) {
        return;
      }
      try {
        transaction(app, client, worker, t);
      } catch (Exception error) {
        failure("app" + app.index() + " w" + worker + " t" + t, error);
        try {
          client.connection.rollback();
        } catch (SQLException ignored) {
          // the connection may be gone; the failure above is what counts
        }
        return;
      } finally {
        pool.add(client);
      }
    }
  }

  static void report() {
    StringBuilder line = new StringBuilder("RESULT");
    counts.forEach((name, n) -> line.append(' ').append(name).append('=').append(n.get()));
    System.out.println(line);
  }

  public static void main(String[] args) throws Exception {
    for (String arg : args) {
      int at = arg.indexOf('=');
      String key = arg.substring(0, at);
      String value = arg.substring(at + 1);
      if (key.equals("app")) {
        String[] f = value.split(",", -1);
        apps.add(new App(apps.size(), f[0], f[1], f[2], f[3], f[4], f[5]));
      } else {
        values.put(key, value);
      }
    }
    int connections = Integer.parseInt(values.get("connections"));
    int workers = Integer.parseInt(values.get("workers"));
    String url = "jdbc:postgresql://" + values.get("host") + ":" + values.get("port") + "/app";

    TimeZone jvmDefault = TimeZone.getDefault();
    List<BlockingQueue<Client>> pools = new ArrayList<>();
    try {
      for (App app : apps) {
        BlockingQueue<Client> pool = new ArrayBlockingQueue<>(connections);
        // pgjdbc sends the JVM's default time zone as the TimeZone startup parameter.
        TimeZone.setDefault(app.timezone().isEmpty() ? jvmDefault : TimeZone.getTimeZone(app.timezone()));
        for (int c = 0; c < connections; ++c) {
          Properties properties = new Properties();
          properties.setProperty("user", app.login());
          properties.setProperty("password", app.password());
          properties.setProperty("ApplicationName", app.applicationName());
          pool.add(new Client(DriverManager.getConnection(url, properties)));
        }
        pools.add(pool);
      }
    } catch (SQLException error) {
      failure("connect", error);
      report();
      System.exit(1);
    } finally {
      TimeZone.setDefault(jvmDefault);
    }

    List<Thread> threads = new ArrayList<>();
    for (int a = 0; a < apps.size(); ++a) {
      for (int w = 0; w < workers; ++w) {
        final App app = apps.get(a);
        final BlockingQueue<Client> pool = pools.get(a);
        final int worker = w;
        threads.add(new Thread(() -> worker(app, pool, worker)));
      }
    }
    for (Thread thread : threads) thread.start();
    for (Thread thread : threads) thread.join();
    // The workload did what it says: each connection's statements went past prepareThreshold, so pgjdbc
    // runs them as named server-prepared statements (unless a failure stopped the workers early).
    boolean workersFailed = counts.get("failures").get() != 0;
    for (BlockingQueue<Client> pool : pools) {
      for (Client client : pool) {
        for (PreparedStatement statement : new PreparedStatement[] {client.settings, client.orgs, client.insert}) {
          if (!workersFailed && !statement.unwrap(PGStatement.class).isUseServerPrepare()) {
            failure("check", new IllegalStateException("a statement was never server-prepared: " + statement));
          }
        }
        client.connection.close();
      }
    }
    report();
  }
}
