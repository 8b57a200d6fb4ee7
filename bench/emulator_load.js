'use strict';
// The load generator of bench/emulator.py: `connections` keep-alive HTTP/1.1
// connections, each sending its next request as soon as the previous answer
// has been read, for `seconds`. One Node process: its event loop multiplexes
// every connection, so its own CPU time (reported) stays well under the
// server's. The spec (argv[2], JSON): base, method, path, headers, body
// (a string in which "{n}" becomes a per-request counter, or null), expect,
// connections, seconds. Prints one JSON object.
const http = require('http');

const spec = JSON.parse(process.argv[2]);
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
const url = new URL(spec.base);
const latencies = [];
const statuses = {};
let requests = 0;
let errors = 0;
let running = true;

function send(n) {
  return new Promise((resolve) => {
    const headers = Object.assign({}, spec.headers);
    let body = null;
    if (spec.body != null) {
      body = Buffer.from(spec.body.split('{n}').join(String(n)));
      headers['content-type'] = 'application/json';
      headers['content-length'] = body.length;
    }
    const began = process.hrtime.bigint();
    const request = http.request(
      { agent, host: url.hostname, port: url.port, method: spec.method, path: spec.path, headers },
      (response) => {
        response.on('data', () => {});
        response.on('end', () => {
          resolve([response.statusCode, Number(process.hrtime.bigint() - began) / 1e6]);
        });
      },
    );
    request.on('error', () => resolve([-1, 0]));
    if (body) request.write(body);
    request.end();
  });
}

async function connection(index, go) {
  let n = index * 10_000_000;
  await go; // every connection is open before the clock starts
  while (running) {
    const [status, ms] = await send(n++);
    if (!running) break; // answered after the end: not counted
    requests++;
    latencies.push(ms);
    statuses[status] = (statuses[status] || 0) + 1;
    if (status !== spec.expect) errors++;
  }
}

let start;
const go = new Promise((resolve) => {
  start = resolve;
});
const warmed = [];
const connections = [];
for (let i = 0; i < spec.connections; i++) {
  let warm;
  warmed.push(new Promise((resolve) => {
    warm = resolve;
  }));
  connections.push(send(-1 - i).then(warm).then(() => connection(i, go)));
}
let cpuBefore;
let began;
Promise.all(warmed).then(() => {
  cpuBefore = process.cpuUsage();
  began = process.hrtime.bigint();
  setTimeout(() => {
    running = false;
  }, spec.seconds * 1000);
  start();
});
Promise.all(connections).then(() => {
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const at = (q) =>
    latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : 0;
  process.stdout.write(
    JSON.stringify({
      requests,
      errors,
      statuses,
      seconds,
      cpu_s: (cpu.user + cpu.system) / 1e6,
      p50_ms: at(0.5),
      p99_ms: at(0.99),
    }) + '\n',
  );
  agent.destroy();
});
