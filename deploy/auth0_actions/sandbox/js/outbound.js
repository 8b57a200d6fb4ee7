'use strict';
// Outbound HTTP of action code, answered by the host's stubs and never by the
// network (deploy/auth0_actions/sandbox/outbound.py decides every answer).
//
// worker.js installs this once, before any action code runs, with `ask`: a
// function that sends one request to the host over the authenticated channel
// and returns the host's answer, and `isOpen`: whether the current execution
// has stubs at all (without, every request fails with the sandbox's network
// error, exactly as before stubs existed). Nothing here opens a socket:
//
// - `fetch` normalises its input with Node's own Request class, asks the
//   host, and builds a real Response (redirects followed as undici does);
// - `http`/`https` requests keep Node's own client (so axios,
//   follow-redirects, node-fetch and the `auth0` SDK work unmodified): the
//   Agent's createConnection returns one end of an in-memory duplex pair, the
//   other end goes to an HTTP server that never listens, whose handler asks
//   the host. net, tls, dgram and dns stay blocked for anything else.
//
// A stub's delay is a timer, so the action's other timers keep running, and a
// delay past the trigger's limit ends in the harness's timeout, as a slow
// service would.

const { duplexPair } = require('stream');

const apply = Reflect.apply;
const defineProperty = Reflect.defineProperty;
const BufferSafe = Buffer;
const bufferFrom = Buffer.from;
const bufferConcat = Buffer.concat;
const bufferToString = Buffer.prototype.toString;
const setTimeoutSafe = setTimeout;
const clearTimeoutSafe = clearTimeout;
const URLSafe = URL;
const PromiseSafe = Promise;

// Larger bodies are refused rather than sent over the channel.
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const REDIRECTS = [301, 302, 303, 307, 308];
const NULL_BODY = [101, 204, 205, 304];
// undici's redirect limit (fetch spec: 20).
const MAX_REDIRECTS = 20;

let ask = null;
let isOpen = () => false;
let networkDisabled = null;

/**
 * Called once by worker.js: `channel(message)` -> the host's answer,
 * `open()` -> whether this execution has stubs, `refuse()` -> the network error.
 */
function install(channel, open, refuse) {
  if (ask !== null) throw new Error('outbound HTTP is already installed');
  ask = channel;
  isOpen = open;
  networkDisabled = refuse;
}

function sandboxError(code, message) {
  const err = new Error(message);
  err.code = code;
  return err;
}

/**
 * Sends one request to the host and resolves with its stub's answer once the
 * stub's delay has passed: {status, statusText, headers: [[name, value]], body}.
 */
function exchange(method, url, headers, body, signal) {
  if (body !== null && body.length > MAX_BODY_BYTES) {
    return PromiseSafe.reject(sandboxError('ERR_SANDBOX_HTTP',
      `The request body of ${method} ${url} is larger than the sandbox's ${MAX_BODY_BYTES} bytes.`));
  }
  if (!isOpen()) return PromiseSafe.reject(networkDisabled());
  const answer = ask({
    method,
    url,
    headers,
    body: body === null ? null : apply(bufferToString, body, ['base64']),
  });
  if (answer.http_error !== undefined) {
    return PromiseSafe.reject(sandboxError('ERR_SANDBOX_NO_STUB', String(answer.http_error)));
  }
  const reply = answer.http_reply;
  const response = {
    status: reply.status,
    statusText: reply.status_text || '',
    headers: reply.headers,
    body: apply(bufferFrom, BufferSafe, [reply.body || '', 'base64']),
  };
  const delay = reply.delay_ms || 0;
  return new PromiseSafe((resolve, reject) => {
    if (signal && signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeoutSafe(timer);
      reject(signal.reason);
    };
    const timer = setTimeoutSafe(() => {
      if (signal) signal.removeEventListener('abort', onAbort);
      resolve(response);
    }, delay);
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
  });
}

// --- fetch ---------------------------------------------------------------------

function sameOrigin(a, b) {
  return new URLSafe(a).origin === new URLSafe(b).origin;
}

/** The next request of a redirect, as undici builds it (fetch spec, "HTTP-redirect fetch"). */
function redirected(request, status, location, body) {
  const target = new URLSafe(location, request.url).href;
  let method = request.method;
  let nextBody = body;
  const headers = new Headers(request.headers);
  if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
    method = 'GET';
    nextBody = null;
    for (const name of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) {
      headers.delete(name);
    }
  }
  if (!sameOrigin(request.url, target)) {
    for (const name of ['authorization', 'cookie', 'proxy-authorization']) headers.delete(name);
  }
  return new Request(target, {
    method,
    headers,
    body: nextBody,
    redirect: request.redirect,
    signal: request.signal,
  });
}

async function fetch(input, init = undefined) {
  if (!isOpen()) throw networkDisabled();
  let request = new Request(input, init);
  for (let hops = 0; ; hops += 1) {
    const body = request.body === null ? null : BufferSafe.from(await request.arrayBuffer());
    // What undici adds when the caller did not say.
    if (!request.headers.has('accept')) request.headers.set('accept', '*/*');
    if (!request.headers.has('user-agent')) request.headers.set('user-agent', 'node');
    const headers = [];
    for (const [name, value] of request.headers) headers.push([name, value]);
    let reply;
    try {
      reply = await exchange(request.method, request.url, headers, body, request.signal);
    } catch (err) {
      if (request.signal.aborted && err === request.signal.reason) throw err;
      if (err && err.code === 'ERR_SANDBOX_NETWORK') throw err;
      throw new TypeError('fetch failed', { cause: err });
    }
    const location = reply.headers.find(([name]) => name.toLowerCase() === 'location');
    if (apply(Array.prototype.includes, REDIRECTS, [reply.status]) && location && request.redirect !== 'manual') {
      if (request.redirect === 'error') {
        throw new TypeError('fetch failed', { cause: new Error('unexpected redirect') });
      }
      if (hops + 1 > MAX_REDIRECTS) {
        throw new TypeError('fetch failed', { cause: new Error('redirect count exceeded') });
      }
      request = redirected(request, reply.status, location[1], body);
      continue;
    }
    const empty = apply(Array.prototype.includes, NULL_BODY, [reply.status]) || request.method === 'HEAD';
    const response = new Response(empty ? null : reply.body, {
      status: reply.status,
      statusText: reply.statusText,
      headers: reply.headers,
    });
    // A constructed Response has no url; a fetched one has the final URL.
    defineProperty(response, 'url', { value: request.url, enumerable: true });
    defineProperty(response, 'redirected', { value: hops > 0, enumerable: true });
    return response;
  }
}

// --- http and https --------------------------------------------------------------

const TARGET = Symbol('outbound target');
const SOCKET_STUBS = ['setNoDelay', 'setKeepAlive', 'ref', 'unref'];

/** Makes one end of a duplex pair pass for a net.Socket with Node's HTTP code. */
function socketLike(stream, encrypted) {
  for (const name of SOCKET_STUBS) stream[name] = function socketStub() { return this; };
  let idle = null;
  const clear = () => {
    if (idle !== null) clearTimeoutSafe(idle);
    idle = null;
  };
  // A real idle timeout: req.setTimeout (axios' `timeout`) relies on it. Cleared
  // on close, so a finished request leaves no timer behind.
  stream.setTimeout = function setTimeout(ms, callback) {
    clear();
    if (callback) this.once('timeout', callback);
    if (ms > 0 && !this.destroyed) idle = setTimeoutSafe(() => { idle = null; this.emit('timeout'); }, ms);
    return this;
  };
  stream.once('close', clear);
  stream.connecting = false;
  stream.encrypted = encrypted;
  stream.address = () => ({});
  return stream;
}

let server = null;

function respond(req, res, answer) {
  const headers = [];
  for (const [name, value] of answer.headers) {
    const lower = name.toLowerCase();
    if (lower !== 'content-length' && lower !== 'transfer-encoding' && lower !== 'connection') headers.push(name, value);
  }
  const empty = apply(Array.prototype.includes, NULL_BODY, [answer.status]);
  const body = empty ? BufferSafe.alloc(0) : answer.body;
  if (!empty) headers.push('content-length', String(body.length));
  // One request per in-memory connection: nothing is kept alive between executions.
  res.shouldKeepAlive = false;
  res.sendDate = false;
  res.writeHead(answer.status, answer.statusText, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

function serve(req, res) {
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= MAX_BODY_BYTES + 1) chunks.push(chunk);
  });
  req.on('end', () => {
    const target = req.socket[TARGET];
    let url;
    try {
      url = /^https?:\/\//i.test(req.url)
        ? new URLSafe(req.url).href
        : new URLSafe(target.scheme + '//' + (req.headers.host || target.host) + req.url).href;
    } catch (err) {
      target.peer.destroy(err);
      return;
    }
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    const hasBody = size > 0 || req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    const body = hasBody ? apply(bufferConcat, BufferSafe, [chunks]) : null;
    exchange(req.method, url, headers, body, null).then(
      (answer) => respond(req, res, answer),
      (err) => {
        // As a refused connection looks to Node's client: an 'error' on the request.
        const refused = err && err.code === 'ERR_SANDBOX_NO_STUB'
          ? sandboxError('ECONNREFUSED', `connect ECONNREFUSED ${target.host} (${err.message})`)
          : err;
        if (refused !== err) refused.cause = err;
        target.peer.destroy(refused);
        req.socket.destroy();
      },
    );
  });
}

/** Agent#createConnection for http and https: an in-memory connection to the stubs. */
function connect(options) {
  if (!isOpen()) throw networkDisabled();
  if (server === null) {
    server = require('http').createServer({ requireHostHeader: false }, serve);
  }
  const [client, peer] = duplexPair();
  const https = this && this.protocol === 'https:';
  socketLike(client, https);
  socketLike(peer, https);
  const port = options && options.port ? ':' + options.port : '';
  peer[TARGET] = { scheme: https ? 'https:' : 'http:', host: String((options && (options.host || options.hostname)) || 'localhost') + port, peer: client };
  server.emit('connection', peer);
  return client;
}

let agentsPatched = false;

/**
 * Routes http and https requests (any Agent, the global ones included) to the
 * stubs. Loading https costs a few milliseconds, so this runs on a worker's
 * first execution that has stubs, not at its start.
 */
function useStubbedAgents() {
  if (agentsPatched) return;
  agentsPatched = true;
  const http = require('http');
  const https = require('https');
  for (const proto of [http.Agent.prototype, https.Agent.prototype]) {
    Object.defineProperty(proto, 'createConnection', { value: connect, writable: true, configurable: true });
  }
}

module.exports = Object.freeze({ install, fetch, useStubbedAgents });
