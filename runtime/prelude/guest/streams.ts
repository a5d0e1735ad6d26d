/**
 * WHATWG Streams. The classes are web-streams-polyfill's (the spec's reference implementation, as a
 * ponyfill: it touches no global), bundled into this chunk. That code is vendored and not held to the
 * primordials rule (see primordials-lint.ts): it only ever handles the guest's own data (its queues
 * hold the user's chunks) and holds no host capability, so a user who patches a built-in it calls can
 * only disturb their own streams. What is ours follows the rule: the bridge to the host's body
 * streams (`fromHost`, `expose`/`pull`), and the readers the prelude uses on a body, which go through
 * the polyfill's methods as captured here, when this chunk loaded and before user code could reach
 * its classes.
 */
import {
  ByteLengthQueuingStrategy,
  CountQueuingStrategy,
  ReadableByteStreamController,
  ReadableStream,
  ReadableStreamBYOBReader,
  ReadableStreamBYOBRequest,
  ReadableStreamDefaultController,
  ReadableStreamDefaultReader,
  TransformStream,
  TransformStreamDefaultController,
  WritableStream,
  WritableStreamDefaultController,
  WritableStreamDefaultWriter,
} from 'web-streams-polyfill';
import { call, internals } from './host.ts';
import { isArrayBuffer } from './safe.ts';
import { bytesCopy, exactBuffer, named, viewBytes } from './util.ts';

type AnyFn = (...args: any[]) => any;

function method(proto: object, name: string): AnyFn {
  return ObjectGetOwnPropertyDescriptor(proto, name)!.value;
}
function getter(proto: object, name: string): AnyFn {
  return ObjectGetOwnPropertyDescriptor(proto, name)!.get!;
}

const RS = ReadableStream.prototype;
const getReader = method(RS, 'getReader');
const teeStream = method(RS, 'tee');
const cancelStream = method(RS, 'cancel');
const lockedOf = getter(RS, 'locked');
const DR = ReadableStreamDefaultReader.prototype;
const readerRead = method(DR, 'read');
const readerCancel = method(DR, 'cancel');
const BC = ReadableByteStreamController.prototype;
const byteEnqueue = method(BC, 'enqueue');
const byteClose = method(BC, 'close');
const byobRequestOf = getter(BC, 'byobRequest');
const byobRespond = method(ReadableStreamBYOBRequest.prototype, 'respond');

/** Larger chunks are handed to the host in pieces of this size (the host's own chunk size). */
const MAX_PULL = 64 * 1024;

const ignore = () => {};

export function isReadableStream(x: unknown): boolean {
  // the polyfill's own brand check: an own slot, and the class (asked without Symbol.hasInstance)
  return (
    typeof x === 'object' &&
    x !== null &&
    callWith(ObjectPrototypeHasOwnProperty, x, '_readableStreamController') &&
    callWith(FunctionPrototypeSymbolHasInstance, ReadableStream, x)
  );
}

export const isLocked = (stream: ReadableStream): boolean => callWith(lockedOf, stream);
/** Read from or cancelled at least once (the spec's [[disturbed]], the polyfill's slot of that name). */
export const isDisturbed = (stream: ReadableStream): boolean => (stream as any)._disturbed === true;

/** Streams made over a host stream, by host id: while untouched, the host can take the id back. */
const hostIds = new WeakMap<object, number>();

/**
 * A byte stream over a host body stream (a request body, a fetch response): each read asks the host
 * for its next chunk, so nothing is read from the socket before the guest wants it.
 */
export function fromHost(id: number): ReadableStream {
  const stream = new ReadableStream(
    {
      __proto__: null,
      type: 'bytes',
      pull(c: ReadableByteStreamController) {
        return callWith(PromisePrototypeThen, call('streamRead', id, false), (chunk: ArrayBuffer | null) => {
          if (chunk !== null) return void callWith(byteEnqueue, c, new Uint8Array(chunk));
          callWith(byteClose, c);
          // a BYOB read still waiting gets its (empty) answer
          const request = callWith(byobRequestOf, c);
          if (request) callWith(byobRespond, request, 0);
        });
      },
      cancel() {
        call('streamCancel', id);
      },
    } as any,
    { __proto__: null, highWaterMark: 0 } as any,
  );
  callWith(WeakMapPrototypeSet, hostIds, stream, id);
  return stream;
}

/** The host stream behind `stream` if nobody has touched it yet (then it is locked, for good); else undefined. */
export function takeHostId(stream: ReadableStream): number | undefined {
  const id: number | undefined = callWith(WeakMapPrototypeGet, hostIds, stream);
  if (id === undefined || isLocked(stream) || isDisturbed(stream)) return undefined;
  callWith(getReader, stream);
  return id;
}

/** A byte stream of one chunk (a body kept whole, seen through `.body`). */
export function fromBytes(bytes: Uint8Array): ReadableStream {
  return new ReadableStream(
    {
      __proto__: null,
      type: 'bytes',
      start(c: ReadableByteStreamController) {
        if (callWith(TypedArrayPrototypeGetLength, bytes)) callWith(byteEnqueue, c, bytes);
        callWith(byteClose, c);
      },
    } as any,
  );
}

/** A stream already read: what `.body` shows once text() or the like consumed a body kept whole. */
export function usedStream(): ReadableStream {
  const stream = fromBytes(new Uint8Array(0));
  callWith(PromisePrototypeThen, callWith(cancelStream, stream), undefined, ignore);
  return stream;
}

/** A body source as a stream: `.body` of a body kept whole or still on the host (an empty, disturbed one once it was read). */
export function streamOf(src: string | Uint8Array | number, used: boolean): ReadableStream {
  if (used) return usedStream();
  if (typeof src === 'number') return fromHost(src);
  return fromBytes(typeof src === 'string' ? internals.toBytes(src) : src);
}

/** clone() of a body that streams: [the branch the body keeps, the clone's]. */
export function teeSource(src: number | ReadableStream): [ReadableStream, ReadableStream] {
  const stream = typeof src === 'number' ? fromHost(src) : src;
  if (isLocked(stream)) throw new TypeError('Body is locked by a reader');
  const pair = callWith(teeStream, stream);
  return [pair[0], pair[1]];
}

/** The bytes of a body chunk, or a TypeError: body streams carry bytes (the Fetch spec asks for Uint8Array). */
function chunkBytes(v: unknown): Uint8Array {
  if (isArrayBuffer(v) || ArrayBufferIsView(v)) return viewBytes(v);
  throw new TypeError('a body stream chunk must be a Uint8Array (or another ArrayBuffer view), not ' + (v === null ? 'null' : typeof v));
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < chunks.length; i++) {
    callWith(TypedArrayPrototypeSet, out, chunks[i]!, at);
    at += callWith(TypedArrayPrototypeGetLength, chunks[i]!);
  }
  return out;
}

/** The Fetch spec's "fully read" of a body stream (text(), json() …): its chunks joined. */
export async function readAll(stream: ReadableStream): Promise<Uint8Array> {
  const id = takeHostId(stream);
  if (id !== undefined) return internals.readHost(id);
  const reader = callWith(getReader, stream);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const r = await callWith(readerRead, reader);
    if (r.done) break;
    let bytes: Uint8Array;
    try {
      bytes = chunkBytes(r.value);
    } catch (e) {
      callWith(PromisePrototypeThen, callWith(readerCancel, reader, e), undefined, ignore);
      throw e;
    }
    chunks[chunks.length] = bytes;
    total += callWith(TypedArrayPrototypeGetLength, bytes);
  }
  return total === 0 ? new Uint8Array(0) : concat(chunks, total);
}

/** A response body stream the host pulls from: its reader and the chunk being handed out ([reader, bytes, offset]). */
const exposed = new Map<number, [unknown, Uint8Array | null, number]>();

/**
 * The id the host knows `stream` by, as a response body: the host stream itself when the guest passes
 * one on untouched (the host then pipes it without entering the guest), else a new id the host pulls
 * through `pull`.
 */
export function bodyId(stream: ReadableStream): number {
  const host = takeHostId(stream);
  if (host !== undefined) return host;
  const id: number = call('streamExpose');
  callWith(MapPrototypeSet, exposed, id, [callWith(getReader, stream), null, 0]);
  return id;
}

function piece(e: [unknown, Uint8Array | null, number]): ArrayBuffer {
  const bytes = e[1]!;
  const n = callWith(TypedArrayPrototypeGetLength, bytes);
  const off = e[2];
  const take = MathMin(n - off, MAX_PULL);
  if (off + take >= n) e[1] = null;
  else e[2] = off + take;
  if (off === 0 && take === n) return exactBuffer(bytes);
  return callWith(TypedArrayPrototypeGetBuffer, bytesCopy(callWith(TypedArrayPrototypeGetBuffer, bytes), callWith(TypedArrayPrototypeGetByteOffset, bytes) + off, take));
}

/** The host's pull: the next piece of an exposed stream (at most MAX_PULL bytes), or null at its end. */
export function pull(id: number): ArrayBuffer | null | Promise<ArrayBuffer | null> {
  const e = callWith(MapPrototypeGet, exposed, id);
  if (!e) return null;
  if (e[1]) return piece(e);
  return callWith(
    PromisePrototypeThen,
    callWith(readerRead, e[0]),
    (r: { done: boolean; value: unknown }): ArrayBuffer | null | Promise<ArrayBuffer | null> => {
      if (r.done) {
        callWith(MapPrototypeDelete, exposed, id);
        return null;
      }
      let bytes: Uint8Array;
      try {
        bytes = chunkBytes(r.value);
      } catch (err) {
        callWith(MapPrototypeDelete, exposed, id);
        callWith(PromisePrototypeThen, callWith(readerCancel, e[0], err), undefined, ignore);
        throw err;
      }
      if (callWith(TypedArrayPrototypeGetLength, bytes) === 0) return pull(id);
      e[1] = bytes;
      e[2] = 0;
      return piece(e);
    },
    (err: unknown) => {
      callWith(MapPrototypeDelete, exposed, id);
      throw err;
    },
  );
}

/** The host stopped pulling (the client went away, the request ended): cancel the guest's stream. */
export function cancel(id: number, reason: string): void {
  const e = callWith(MapPrototypeGet, exposed, id);
  if (!e) return;
  callWith(MapPrototypeDelete, exposed, id);
  callWith(PromisePrototypeThen, callWith(readerCancel, e[0], new TypeError(reason)), undefined, ignore);
}

const CLASSES: [Function, string][] = [
  [ReadableStream, 'ReadableStream'],
  [ReadableStreamDefaultReader, 'ReadableStreamDefaultReader'],
  [ReadableStreamBYOBReader, 'ReadableStreamBYOBReader'],
  [ReadableStreamBYOBRequest, 'ReadableStreamBYOBRequest'],
  [ReadableByteStreamController, 'ReadableByteStreamController'],
  [ReadableStreamDefaultController, 'ReadableStreamDefaultController'],
  [WritableStream, 'WritableStream'],
  [WritableStreamDefaultWriter, 'WritableStreamDefaultWriter'],
  [WritableStreamDefaultController, 'WritableStreamDefaultController'],
  [TransformStream, 'TransformStream'],
  [TransformStreamDefaultController, 'TransformStreamDefaultController'],
  [ByteLengthQueuingStrategy, 'ByteLengthQueuingStrategy'],
  [CountQueuingStrategy, 'CountQueuingStrategy'],
];
// minification renamed the classes; the polyfill sets their toStringTag itself
for (let i = 0; i < CLASSES.length; i++) named(CLASSES[i]![0], CLASSES[i]![1], false);

export {
  ByteLengthQueuingStrategy,
  CountQueuingStrategy,
  ReadableByteStreamController,
  ReadableStream,
  ReadableStreamBYOBReader,
  ReadableStreamBYOBRequest,
  ReadableStreamDefaultController,
  ReadableStreamDefaultReader,
  TransformStream,
  TransformStreamDefaultController,
  WritableStream,
  WritableStreamDefaultController,
  WritableStreamDefaultWriter,
};
