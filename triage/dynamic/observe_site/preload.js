// Observation hooks loaded with `node --require` into a submitted Node MCP server inside the sandbox.
// Like sitecustomize.py for Python: outbound connections are redirected to the capturing listener on the
// sandbox's own loopback (nothing can leave the sandbox's network namespace anyway) and recorded with the
// destination the server asked for; child processes are recorded. The server can tamper with this; the
// harness treats the log as evidence that may be missing, never as proof of absence.
"use strict";
const fs = require("fs");
const net = require("net");
const dns = require("dns");
const childProcess = require("child_process");

const LOG = process.env._ASSAY_OBSERVE_LOG || "";
const PORT = Number(process.env._ASSAY_OBSERVE_PORT || 0);
delete process.env._ASSAY_OBSERVE_LOG;
delete process.env._ASSAY_OBSERVE_PORT;
let count = 0;

function emit(event, data) {
  if (!LOG || count >= 4000) return;
  count += 1;
  try {
    fs.appendFileSync(LOG, JSON.stringify(Object.assign({}, data, {event, pid: process.pid})).slice(0, 8192) + "\n");
  } catch (err) { /* an observer must never break the observed program */ }
}

if (LOG && PORT) {
  // Every outbound connection reaches the capture listener (never the named host); let TLS to its throwaway
  // certificate complete so that what an HTTPS request would have carried is seen. Nothing real is reachable.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
  const realEmitWarning = process.emitWarning;
  process.emitWarning = function (warning, ...rest) {
    if (String(warning && warning.message || warning).includes("NODE_TLS_REJECT_UNAUTHORIZED")) return;
    return realEmitWarning.call(process, warning, ...rest);
  };
  const fakeHosts = new Map();  // fake address -> requested name
  const realLookup = dns.lookup;
  dns.lookup = function (hostname, options, callback) {
    if (typeof options === "function") { callback = options; options = {}; }
    if (!hostname || hostname === "localhost" || net.isIP(hostname)) return realLookup.call(dns, hostname, options, callback);
    emit("resolve", {host: String(hostname).slice(0, 255), port: ""});
    let fake = null;
    for (const [address, name] of fakeHosts) if (name === hostname) fake = address;
    if (!fake) { fake = `198.18.0.${fakeHosts.size % 250 + 1}`; fakeHosts.set(fake, hostname); }
    if (options && options.all) return process.nextTick(callback, null, [{address: fake, family: 4}]);
    return process.nextTick(callback, null, fake, 4);
  };

  const realConnect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    let options = Array.isArray(args[0]) ? args[0][0] : args[0];
    if (typeof options !== "object" || options === null) {
      options = typeof options === "number" || /^\d+$/.test(String(options)) ? {port: Number(options), host: typeof args[1] === "string" ? args[1] : "localhost"} : null;
      if (options) args = [options, ...args.slice(typeof args[1] === "string" ? 2 : 1)];
    }
    if (options && options.port !== undefined && !options.path && Number(options.port) !== PORT) {
      const requested = String(options.host || "localhost");
      const destination = `${fakeHosts.get(requested) || requested}:${options.port}`;
      options.host = "127.0.0.1";
      options.port = PORT;
      delete options.lookup;
      this.once("connect", () => emit("connect", {destination, local_port: this.localPort}));
      this.once("error", () => emit("connect", {destination, local_port: null}));
    }
    return realConnect.apply(this, args);
  };

  for (const name of ["spawn", "execFile", "exec", "fork", "spawnSync", "execSync", "execFileSync"]) {
    const real = childProcess[name];
    childProcess[name] = function (file, argv, ...rest) {
      emit("subprocess", {executable: String(file).slice(0, 300), argv: JSON.stringify(Array.isArray(argv) ? argv : []).slice(0, 2048)});
      return real.call(this, file, argv, ...rest);
    };
  }
}
