/**
 * Plain data across an engine boundary that has no structured value API (quickjs-emscripten): one
 * JSON text plus the binary buffers it refers to, `[json, ...buffers]`. JSON cannot carry bytes,
 * `undefined`, non-finite numbers or bigints, so those travel as one-key tagged objects. The guest half
 * (`BRIDGE_SOURCE`) captures the intrinsics it uses before any user code runs.
 */

const BUF = '\u0000b';
const U8 = '\u0000v';
const UNDEF = '\u0000u';
const NUM = '\u0000n';
const BIG = '\u0000i';

export interface Wire {
  json: string;
  buffers: Uint8Array[];
}

export function encodeWire(value: unknown): Wire {
  const buffers: Uint8Array[] = [];
  const json = JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
    // `this[key]` is the value before toJSON: Buffers and typed arrays must not become {type,data}
    const raw = this[key];
    if (raw === undefined) return { [UNDEF]: 0 };
    if (typeof raw === 'number' && !Number.isFinite(raw)) return { [NUM]: String(raw) };
    if (typeof raw === 'bigint') return { [BIG]: String(raw) };
    if (raw instanceof ArrayBuffer) {
      buffers.push(new Uint8Array(raw));
      return { [BUF]: buffers.length - 1 };
    }
    if (ArrayBuffer.isView(raw)) {
      buffers.push(new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength));
      return { [U8]: buffers.length - 1 };
    }
    return v;
  });
  return { json, buffers };
}

export function decodeWire(json: string, buffers: ArrayBuffer[]): unknown {
  return JSON.parse(json, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const o = v as Record<string, unknown>;
    if (BUF in o) return buffers[o[BUF] as number];
    if (U8 in o) return new Uint8Array(buffers[o[U8] as number]!);
    if (UNDEF in o) return undefined;
    if (NUM in o) return Number(o[NUM]);
    if (BIG in o) return BigInt(o[BIG] as string);
    return v;
  });
}

/**
 * Guest side, evaluated once per context before the prelude: `(raw) => ({ host, call })`.
 * `host` is what the prelude knows as `__faas_host` (wire-encodes the arguments for the host function
 * `raw`, decodes its answer or the promise of one); `call(api, name, json, ...buffers)` runs an internal
 * API function and wire-encodes its result (or the promise of it); `watch(p, ok, err)` subscribes the
 * host to a promise with the original `then`, whatever user code later does to Promise.prototype.
 */
export const BRIDGE_SOURCE = `(function (raw) {
  'use strict';
  const J = JSON, AB = ArrayBuffer, isView = AB.isView, U8 = Uint8Array, P = Promise, then = P.prototype.then;
  const apply = Reflect.apply, fin = Number.isFinite, Str = String, Num = Number, Big = BigInt, isArray = Array.isArray;
  const BUF = ${JSON.stringify(BUF)}, V = ${JSON.stringify(U8)}, UNDEF = ${JSON.stringify(UNDEF)}, NUM = ${JSON.stringify(NUM)}, BIG = ${JSON.stringify(BIG)};
  const tag = (k, v) => { const o = {}; o[k] = v; return o; };
  const sliceAB = AB.prototype.slice, sliceU8 = U8.prototype.slice;
  function encode(value) {
    const bufs = [];
    const json = J.stringify(tag('v', value), function (key, v) {
      const x = this[key];
      if (x === undefined) return tag(UNDEF, 0);
      if (typeof x === 'number' && !fin(x)) return tag(NUM, Str(x));
      if (typeof x === 'bigint') return tag(BIG, Str(x));
      if (x !== null && typeof x === 'object') {
        if (x instanceof AB) { bufs[bufs.length] = apply(sliceAB, x, [0]); return tag(BUF, bufs.length - 1); }
        if (isView(x)) { bufs[bufs.length] = apply(sliceU8, new U8(x.buffer, x.byteOffset, x.byteLength), []).buffer; return tag(V, bufs.length - 1); }
      }
      return v;
    });
    const out = [json];
    for (let i = 0; i < bufs.length; i++) out[i + 1] = bufs[i];
    return out;
  }
  function decode(json, bufs) {
    return J.parse(json, (k, v) => {
      if (v === null || typeof v !== 'object' || isArray(v)) return v;
      if (BUF in v) return bufs[v[BUF]];
      if (V in v) return new U8(bufs[v[V]]);
      if (UNDEF in v) return undefined;
      if (NUM in v) return Num(v[NUM]);
      if (BIG in v) return Big(v[BIG]);
      return v;
    });
  }
  const fromWire = (w) => { const bufs = []; for (let i = 1; i < w.length; i++) bufs[i - 1] = w[i]; return decode(w[0], bufs); };
  return {
    host(...args) {
      const out = raw(encode(args));
      return out instanceof P ? apply(then, out, [fromWire]) : fromWire(out);
    },
    call(api, name, json, ...bufs) {
      const out = apply(api[name], api, decode(json, bufs));
      return out instanceof P ? apply(then, out, [encode]) : encode(out);
    },
    watch(p, onFulfilled, onRejected) {
      apply(then, p, [onFulfilled, onRejected]);
    },
  };
})`;

/** What the guest's `encode` wraps every value in, so `undefined` at the top level survives JSON. */
export function unwrapGuestValue(decoded: unknown): unknown {
  return (decoded as { v?: unknown } | undefined)?.v;
}
