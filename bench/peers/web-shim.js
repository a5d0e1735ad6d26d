// The Web API stub the foreign peers (quickjs-emscripten, node:vm, isolated-vm) evaluate, from source,
// into every fresh context before the function: just what the three workloads touch (Response,
// Request, Headers, URL/URLSearchParams, TextEncoder/TextDecoder, crypto.subtle HMAC-SHA-256), all in
// plain JS so it runs the same in every engine, plus `__invoke(request, env)`, the glue the host calls.
// It is far smaller than faas's prelude (no streams, timers, fetch, console, structuredClone …), which
// favours the peers. Written for this benchmark; every run checks each peer's first response against
// faas's (whose HMAC is Node's), so a wrong digest here shows up as a mismatch in the report.
(() => {
  'use strict';
  const G = globalThis;

  const toBytes = (data) =>
    data instanceof Uint8Array ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

  class TextEncoder {
    get encoding() {
      return 'utf-8';
    }
    encode(input = '') {
      const s = String(input);
      const out = [];
      for (let i = 0; i < s.length; i++) {
        let c = s.codePointAt(i);
        if (c > 0xffff) i++;
        if (c < 0x80) out.push(c);
        else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
        else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
        else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      }
      return new Uint8Array(out);
    }
  }

  class TextDecoder {
    decode(input) {
      if (input === undefined) return '';
      const u = toBytes(input);
      let s = '';
      for (let i = 0; i < u.length; ) {
        let c = u[i++];
        if (c >= 0xf0) c = ((c & 7) << 18) | ((u[i++] & 63) << 12) | ((u[i++] & 63) << 6) | (u[i++] & 63);
        else if (c >= 0xe0) c = ((c & 15) << 12) | ((u[i++] & 63) << 6) | (u[i++] & 63);
        else if (c >= 0xc0) c = ((c & 31) << 6) | (u[i++] & 63);
        s += String.fromCodePoint(c);
      }
      return s;
    }
  }

  class Headers {
    constructor(init) {
      this._m = new Map();
      if (init instanceof Headers) init = [...init._m];
      if (init) for (const [k, v] of Array.isArray(init) ? init : Object.entries(init)) this.append(k, v);
    }
    append(k, v) {
      const key = String(k).toLowerCase();
      const prev = this._m.get(key);
      this._m.set(key, prev === undefined ? String(v) : `${prev}, ${v}`);
    }
    set(k, v) {
      this._m.set(String(k).toLowerCase(), String(v));
    }
    get(k) {
      const v = this._m.get(String(k).toLowerCase());
      return v === undefined ? null : v;
    }
    has(k) {
      return this._m.has(String(k).toLowerCase());
    }
    delete(k) {
      this._m.delete(String(k).toLowerCase());
    }
    entries() {
      return this._m.entries();
    }
    [Symbol.iterator]() {
      return this._m.entries();
    }
  }

  const bodyText = (b) => (b == null ? '' : typeof b === 'string' ? b : new TextDecoder().decode(b));
  const bodyBytes = (b) => (b == null ? new Uint8Array(0) : typeof b === 'string' ? new TextEncoder().encode(b) : toBytes(b));

  class Body {
    async text() {
      return bodyText(this._body);
    }
    async json() {
      return JSON.parse(bodyText(this._body));
    }
    async arrayBuffer() {
      return bodyBytes(this._body).slice().buffer;
    }
  }

  class Response extends Body {
    constructor(body = null, init = {}) {
      super();
      this._body = body;
      this.status = init.status ?? 200;
      this.statusText = init.statusText ?? '';
      this.headers = new Headers(init.headers);
      if (typeof body === 'string' && !this.headers.has('content-type')) this.headers.set('content-type', 'text/plain;charset=UTF-8');
    }
    get ok() {
      return this.status >= 200 && this.status < 300;
    }
    static json(data, init = {}) {
      const r = new Response(JSON.stringify(data), init);
      r.headers.set('content-type', 'application/json');
      return r;
    }
  }

  class Request extends Body {
    constructor(url, init = {}) {
      super();
      this.url = String(url);
      this.method = (init.method ?? 'GET').toUpperCase();
      this.headers = new Headers(init.headers);
      this._body = init.body ?? null;
    }
  }

  const decode = (s) => decodeURIComponent(s.replace(/\+/g, ' '));

  class URLSearchParams {
    constructor(query = '') {
      this._p = [];
      for (const part of String(query).replace(/^\?/, '').split('&')) {
        if (!part) continue;
        const i = part.indexOf('=');
        this._p.push(i < 0 ? [decode(part), ''] : [decode(part.slice(0, i)), decode(part.slice(i + 1))]);
      }
    }
    get(name) {
      const hit = this._p.find(([k]) => k === name);
      return hit ? hit[1] : null;
    }
    getAll(name) {
      return this._p.filter(([k]) => k === name).map(([, v]) => v);
    }
    has(name) {
      return this._p.some(([k]) => k === name);
    }
  }

  class URL {
    constructor(input) {
      const m = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)([^?#]*)(\?[^#]*)?(#.*)?$/i.exec(String(input));
      if (!m) throw new TypeError(`Invalid URL: ${input}`);
      this.protocol = m[1].toLowerCase();
      this.host = m[2].toLowerCase();
      this.hostname = this.host.replace(/:\d+$/, '');
      this.pathname = m[3] || '/';
      this.search = m[4] && m[4].length > 1 ? m[4] : '';
      this.hash = m[5] && m[5].length > 1 ? m[5] : '';
      this.searchParams = new URLSearchParams(this.search);
      this.href = `${this.protocol}//${this.host}${this.pathname}${this.search}${this.hash}`;
    }
    toString() {
      return this.href;
    }
  }

  // SHA-256 (FIPS 180-4); the round constants are derived from the primes as the standard defines them.
  const K = new Uint32Array(64);
  const H0 = new Uint32Array(8);
  const frac32 = (x) => ((x - Math.floor(x)) * 4294967296) >>> 0;
  for (let p = 2, n = 0; n < 64; p++) {
    let prime = true;
    for (let d = 2; d * d <= p; d++) if (p % d === 0) prime = false;
    if (!prime) continue;
    if (n < 8) H0[n] = frac32(Math.sqrt(p));
    K[n++] = frac32(Math.cbrt(p));
  }
  const ror = (x, n) => (x >>> n) | (x << (32 - n));

  function sha256(msg) {
    const len = msg.length;
    const buf = new Uint8Array(((len + 72) >> 6) << 6);
    buf.set(msg);
    buf[len] = 0x80;
    const dv = new DataView(buf.buffer);
    dv.setUint32(buf.length - 8, Math.floor(len / 0x20000000));
    dv.setUint32(buf.length - 4, (len << 3) >>> 0);
    const h = H0.slice();
    const w = new Uint32Array(64);
    for (let off = 0; off < buf.length; off += 64) {
      for (let i = 0; i < 16; i++) w[i] = dv.getUint32(off + i * 4);
      for (let i = 16; i < 64; i++) {
        const a = w[i - 15];
        const b = w[i - 2];
        w[i] = w[i - 16] + (ror(a, 7) ^ ror(a, 18) ^ (a >>> 3)) + w[i - 7] + (ror(b, 17) ^ ror(b, 19) ^ (b >>> 10));
      }
      let [a, b, c, d, e, f, g, hh] = h;
      for (let i = 0; i < 64; i++) {
        const t1 = (hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
        const t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        hh = g;
        g = f;
        f = e;
        e = (d + t1) | 0;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) | 0;
      }
      h[0] += a;
      h[1] += b;
      h[2] += c;
      h[3] += d;
      h[4] += e;
      h[5] += f;
      h[6] += g;
      h[7] += hh;
    }
    const out = new Uint8Array(32);
    const odv = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) odv.setUint32(i * 4, h[i]);
    return out;
  }

  function hmacSha256(key, msg) {
    let k = key.length > 64 ? sha256(key) : key;
    const block = new Uint8Array(64);
    block.set(k);
    const inner = new Uint8Array(64 + msg.length);
    const outer = new Uint8Array(64 + 32);
    for (let i = 0; i < 64; i++) {
      inner[i] = block[i] ^ 0x36;
      outer[i] = block[i] ^ 0x5c;
    }
    inner.set(msg, 64);
    outer.set(sha256(inner), 64);
    return sha256(outer);
  }

  const hashName = (h) => (typeof h === 'string' ? h : h && h.name);
  const subtle = {
    async importKey(format, keyData, algorithm, extractable, usages) {
      if (format !== 'raw' || algorithm.name !== 'HMAC' || hashName(algorithm.hash) !== 'SHA-256') {
        throw new Error('the bench shim only supports raw HMAC SHA-256 keys');
      }
      return { type: 'secret', extractable, usages, algorithm: { name: 'HMAC', hash: { name: 'SHA-256' } }, _raw: toBytes(keyData).slice() };
    },
    async sign(algorithm, key, data) {
      return hmacSha256(key._raw, toBytes(data)).buffer;
    },
    async verify(algorithm, key, signature, data) {
      const mac = hmacSha256(key._raw, toBytes(data));
      const sig = toBytes(signature);
      let diff = mac.length ^ sig.length;
      for (let i = 0; i < mac.length; i++) diff |= mac[i] ^ (sig[i] ?? 0);
      return diff === 0;
    },
    async digest(algorithm, data) {
      if (hashName(algorithm) !== 'SHA-256') throw new Error('the bench shim only supports SHA-256');
      return sha256(toBytes(data)).buffer;
    },
  };
  const crypto = {
    subtle,
    getRandomValues(arr) {
      for (let i = 0; i < arr.length; i++) arr[i] = Math.floor(Math.random() * 256);
      return arr;
    },
  };

  Object.assign(G, { TextEncoder, TextDecoder, Headers, Request, Response, URL, URLSearchParams, crypto });

  const ctx = { waitUntil() {}, passThroughOnException() {} };
  /** Host → guest: one request as plain data; resolves with the response as plain data. */
  G.__invoke = async (req, env) => {
    const request = new Request(req.url, { method: req.method, headers: req.headers, body: req.body });
    const res = await G.__ns.default.fetch(request, env, ctx);
    return { status: res.status, body: await res.text() };
  };
})();
