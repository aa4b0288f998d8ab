// Preloaded into Portkey's gateway by bench/run.sh: its start script listens on every interface;
// the bench binds nothing but loopback, so every listen() is pinned to 127.0.0.1.
const net = require('net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'object' && args[0] !== null) {
    args[0] = { ...args[0], host: '127.0.0.1' };
  } else if (typeof args[0] === 'number' || typeof args[0] === 'string') {
    const port = args.shift();
    if (typeof args[0] === 'string') args.shift();  // a given host is replaced
    args = [port, '127.0.0.1', ...args];
  }
  return listen.apply(this, args);
};

// Portkey 1.15.2 on Node 20 answers every streaming request with 500 "Something went wrong"
// (log: "TypeError: immutable" in updateHeaders, Portkey-AI/gateway#1550): it appends its x-portkey-*
// headers to the upstream fetch's Response, whose headers are immutable. Re-wrapping each upstream
// Response once gives it mutable headers — what the proposed fix (#1551) does inside Portkey.
const upstreamFetch = globalThis.fetch;
globalThis.fetch = async (...args) => {
  const r = await upstreamFetch(...args);
  return new Response(r.body, { status: r.status, statusText: r.statusText, headers: new Headers(r.headers) });
};
