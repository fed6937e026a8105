// The local node's TCP forwarders (started by scripts/lib/node.sh): pods reach this machine's
// loopback-only servers (kube-apiserver, PostgreSQL, Redis) through the pod bridge's address,
// nothing else. Each connection to LISTEN_HOST:PORT is piped to TARGET_HOST:TARGET_PORT.
//
//   node scripts/lib/pod-forward.mjs LISTEN_HOST PORT=TARGET_HOST:TARGET_PORT...
//
// Exits 1 when a port cannot be bound (in use, or the address is not on this machine); SIGTERM
// closes the listeners and every open connection. One line per listener and per failed
// connection (at most one a second per port) goes to stderr.
import console from "node:console";
import net from "node:net";
import process from "node:process";

const [listenHost, ...mappings] = process.argv.slice(2);
if (!listenHost || mappings.length === 0) {
  console.error("usage: pod-forward.mjs LISTEN_HOST PORT=TARGET_HOST:TARGET_PORT...");
  process.exit(2);
}

const routes = mappings.map((mapping) => {
  const match = /^(\d+)=([^:]+):(\d+)$/.exec(mapping);
  if (!match) {
    console.error(`pod-forward: not PORT=HOST:PORT: ${mapping}`);
    process.exit(2);
  }
  return { port: Number(match[1]), targetHost: match[2], targetPort: Number(match[3]) };
});

const sockets = new Set();
const servers = [];
const lastFailureLog = new Map();

function track(socket) {
  sockets.add(socket);
  socket.once("close", () => sockets.delete(socket));
}

function failed(route, error) {
  const now = Date.now();
  if (now - (lastFailureLog.get(route.port) ?? 0) < 1000) return;
  lastFailureLog.set(route.port, now);
  console.error(
    `pod-forward: ${listenHost}:${route.port} -> ${route.targetHost}:${route.targetPort}: ${error.code ?? error.message}`,
  );
}

for (const route of routes) {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    track(client);
    const upstream = net.connect({
      host: route.targetHost,
      port: route.targetPort,
      allowHalfOpen: true,
      noDelay: true,
    });
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    // A reset on either side resets the other; a clean end is passed on by pipe().
    client.on("error", () => upstream.destroy());
    upstream.on("error", (error) => {
      failed(route, error);
      client.destroy();
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  server.on("error", (error) => {
    console.error(`pod-forward: cannot listen on ${listenHost}:${route.port}: ${error.code ?? error.message}`);
    process.exit(1);
  });
  server.listen({ host: listenHost, port: route.port, backlog: 511 }, () => {
    console.error(`pod-forward: ${listenHost}:${route.port} -> ${route.targetHost}:${route.targetPort}`);
  });
  servers.push(server);
}

function stop() {
  for (const server of servers) server.close();
  for (const socket of sockets) socket.destroy();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
