import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;

/** Starts an in-memory MongoDB-wire server with the oplog enabled (so change streams work). */
public final class MongoWireServer {
  public static void main(String[] args) throws Exception {
    String host = args.length > 0 ? args[0] : "127.0.0.1";
    int port = args.length > 1 ? Integer.parseInt(args[1]) : 27017;
    MemoryBackend backend = new MemoryBackend();
    backend.enableOplog();
    MongoServer server = new MongoServer(backend);
    server.bind(host, port);
    System.out.println("mongo-wire listening on " + host + ":" + port);
    Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow));
    Thread.currentThread().join();
  }
}
