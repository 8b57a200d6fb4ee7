'use strict';
// The load generator of bench/emulator.py: `connections` keep-alive HTTP/1.1
// connections over raw sockets, each sending its next request as soon as the
// previous answer has been read, for `seconds`. Requests are written as
// prepared bytes and answers framed by their Content-Length (the local tenant
// always sends one), so a request costs this process a few microseconds:
// Node's own http client cost about as much CPU per request as the server.
// Its CPU time is reported, to show it is not what limits the rate.
// The spec (argv[2], JSON): base, method, path, headers, body (a string in
// which "{n}" becomes a per-request counter, or null), expect, connections,
// seconds. Prints one JSON object.
const net = require('net');

const spec = JSON.parse(process.argv[2]);
const url = new URL(spec.base);
const head = [`${spec.method} ${spec.path} HTTP/1.1`, `host: ${url.host}`];
for (const [name, value] of Object.entries(spec.headers || {})) head.push(`${name}: ${value}`);
const fixed = spec.body == null ? Buffer.from(head.join('\r\n') + '\r\n\r\n') : null;

function request(n) {
  if (fixed) return fixed;
  const body = Buffer.from(spec.body.split('{n}').join(String(n)));
  const lines = head.concat(['content-type: application/json', `content-length: ${body.length}`]);
  return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), body]);
}

const latencies = [];
const statuses = {};
let requests = 0;
let errors = 0;
let counting = false;
let running = true;

function connection(index, ready) {
  return new Promise((done) => {
    const socket = net.connect({ host: url.hostname, port: Number(url.port) });
    socket.setNoDelay(true);
    let n = index * 10_000_000;
    let buffered = Buffer.alloc(0);
    let began = 0n;
    let warm = false;
    const send = () => {
      began = process.hrtime.bigint();
      socket.write(request(n++));
    };
    socket.on('connect', send);
    socket.on('data', (chunk) => {
      buffered = buffered.length ? Buffer.concat([buffered, chunk]) : chunk;
      for (;;) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end < 0) return;
        const headText = buffered.subarray(0, end).toString('latin1');
        const match = /\r\ncontent-length:\s*(\d+)/i.exec(headText);
        const length = match ? Number(match[1]) : 0;
        if (buffered.length < end + 4 + length) return;
        const status = Number(headText.slice(9, 12));
        buffered = buffered.subarray(end + 4 + length);
        if (!warm) {
          warm = true; // the first answer opened the connection: not counted
          ready();
        } else if (counting) {
          requests++;
          latencies.push(Number(process.hrtime.bigint() - began) / 1e6);
          statuses[status] = (statuses[status] || 0) + 1;
          if (status !== spec.expect) errors++;
        }
        if (!running || /\r\nconnection:\s*close/i.test(headText)) {
          socket.end();
          return;
        }
        send();
      }
    });
    socket.on('error', () => {
      errors++;
      ready();
      done();
    });
    socket.on('close', done);
  });
}

const warmed = [];
const connections = [];
for (let i = 0; i < spec.connections; i++) {
  let ready;
  warmed.push(new Promise((resolve) => {
    ready = resolve;
  }));
  connections.push(connection(i, ready));
}
let cpuBefore;
let began;
let window = 0;
Promise.all(warmed).then(() => {
  cpuBefore = process.cpuUsage();
  began = process.hrtime.bigint();
  counting = true;
  setTimeout(() => {
    window = Number(process.hrtime.bigint() - began) / 1e9;
    counting = false;
    running = false;
  }, spec.seconds * 1000);
});
Promise.all(connections).then(() => {
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const at = (q) =>
    latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] : 0;
  process.stdout.write(
    JSON.stringify({
      requests,
      errors,
      statuses,
      seconds: window,
      cpu_s: (cpu.user + cpu.system) / 1e6,
      p50_ms: at(0.5),
      p99_ms: at(0.99),
    }) + '\n',
  );
});
