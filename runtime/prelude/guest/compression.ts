import { call, internals } from './host.ts';
import { named, subBytes, viewBytes } from './util.ts';

/**
 * CompressionStream and DecompressionStream (the Compression spec), the byte work done by the host's
 * zlib through a handle per stream (zlibOpen/zlibPush/zlibPull, runtime/host/compression.ts). Output
 * is made only when the readable side is read, at most 16 KiB per host call: a reader that stops
 * stops the work, and a decompression bomb yields its output piece by piece, each within the guest's
 * own memory and CPU limits, never all at once on the host.
 */

const FORMATS = ['gzip', 'deflate', 'deflate-raw'];
/** Input is fed to the host in pieces of at most this size (the op's declared maximum). */
const PIECE = 64 * 1024;

type ReadableStream = object;
type WritableStream = object;

/** The stream chunk's classes and controller methods, taken when the first stream is made (the chunk is its own bundle). */
let S: { ReadableStream: any; WritableStream: any; readEnqueue: any; readClose: any; readError: any; writeError: any } | undefined;

function classes() {
  if (S) return S;
  const m = internals.need('stream');
  const method = (C: any, name: string) => ObjectGetOwnPropertyDescriptor(C.prototype, name)!.value;
  return (S = {
    ReadableStream: m.ReadableStream,
    WritableStream: m.WritableStream,
    readEnqueue: method(m.ReadableStreamDefaultController, 'enqueue'),
    readClose: method(m.ReadableStreamDefaultController, 'close'),
    readError: method(m.ReadableStreamDefaultController, 'error'),
    writeError: method(m.WritableStreamDefaultController, 'error'),
  });
}

function zlibPair(what: string, format: unknown, decompress: boolean): [ReadableStream, WritableStream] {
  const f = String(format);
  if (!callWith(ArrayPrototypeIncludes, FORMATS, f)) {
    throw new TypeError("Failed to construct '" + what + "': '" + f + "' is not a valid value for the format (gzip, deflate, deflate-raw)");
  }
  const { ReadableStream, WritableStream, readEnqueue, readClose, readError, writeError } = classes();
  const id: number = call('zlibOpen', f, decompress);
  // the chunk being fed and how far; the writer waits (`written`) until all of it went through
  let input: Uint8Array | null = null;
  let offset = 0;
  let closing = false;
  let finished = false;
  let written: [() => void, (e: unknown) => void] | null = null;
  let wake: (() => void) | null = null;

  const stop = (e: unknown) => {
    if (finished) return;
    finished = true;
    call('zlibClose', id);
    if (written) written[1](e);
    written = null;
    input = null;
    if (wake) wake();
  };

  const drive = (c: unknown): void | Promise<void> => {
    for (;;) {
      if (finished) return;
      const out: ArrayBuffer | boolean = call('zlibPull', id);
      if (out === true) {
        finished = true;
        callWith(readClose, c);
        if (written) written[0]();
        written = null;
        return;
      }
      if (out !== false) return void callWith(readEnqueue, c, new Uint8Array(out));
      // the host needs input: the rest of the chunk, the end, or a new chunk from the writer
      if (input) {
        const n = callWith(TypedArrayPrototypeGetLength, input);
        if (offset < n) {
          const end = MathMin(n, offset + PIECE);
          call('zlibPush', id, subBytes(input, offset, end), false);
          offset = end;
          continue;
        }
        input = null;
        if (written && !closing) {
          const done = written[0];
          written = null;
          done();
        }
      }
      if (closing) {
        call('zlibPush', id, null, true);
        continue;
      }
      return callWith(PromisePrototypeThen, new Promise<void>((resolve) => (wake = resolve)), () => drive(c));
    }
  };

  const feed = (chunk: Uint8Array | null, close: boolean): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      if (finished) return reject(new TypeError('the ' + what + ' was closed'));
      input = chunk;
      offset = 0;
      closing = close;
      written = [resolve, reject];
      const w = wake;
      wake = null;
      if (w) w();
    });

  let readController: unknown;
  let writeController: unknown;
  /** Either side failing errors both, as a TransformStream's would. */
  const fail = (e: unknown) => {
    stop(e);
    if (writeController) callWith(writeError, writeController, e);
    try {
      callWith(readError, readController, e);
    } catch {
      // already closed or errored
    }
  };
  const readable = new ReadableStream(
    {
      __proto__: null,
      start(c: unknown) {
        readController = c;
      },
      pull(c: unknown) {
        try {
          const r = drive(c);
          return r && callWith(PromisePrototypeThen, r, undefined, (e: unknown) => {
            fail(e);
            throw e;
          });
        } catch (e) {
          fail(e);
          throw e;
        }
      },
      cancel(reason: unknown) {
        stop(reason);
        callWith(writeError, writeController, reason);
      },
    } as any,
    { __proto__: null, highWaterMark: 0 } as any,
  );
  const writable = new WritableStream(
    {
      __proto__: null,
      start(c: unknown) {
        writeController = c;
      },
      write(chunk: unknown) {
        let bytes: Uint8Array;
        try {
          if (typeof chunk !== 'object' || chunk === null) throw new TypeError('a ' + what + ' chunk must be an ArrayBuffer or ArrayBufferView');
          bytes = viewBytes(chunk, 'chunk');
        } catch (e) {
          fail(e);
          throw e;
        }
        return feed(bytes, false);
      },
      close() {
        return feed(null, true);
      },
      abort(reason: unknown) {
        fail(reason);
      },
    } as any,
  );
  return [readable, writable];
}

const readableOf = new WeakMap<object, [ReadableStream, WritableStream]>();

export class CompressionStream {
  constructor(format: unknown) {
    callWith(WeakMapPrototypeSet, readableOf, this, zlibPair('CompressionStream', format, false));
  }
  get readable(): ReadableStream {
    return pairOf(this)[0];
  }
  get writable(): WritableStream {
    return pairOf(this)[1];
  }
}

export class DecompressionStream {
  constructor(format: unknown) {
    callWith(WeakMapPrototypeSet, readableOf, this, zlibPair('DecompressionStream', format, true));
  }
  get readable(): ReadableStream {
    return pairOf(this)[0];
  }
  get writable(): WritableStream {
    return pairOf(this)[1];
  }
}

function pairOf(x: object): [ReadableStream, WritableStream] {
  const p = callWith(WeakMapPrototypeGet, readableOf, x);
  if (!p) throw new TypeError('Illegal invocation');
  return p;
}

named(CompressionStream, 'CompressionStream');
named(DecompressionStream, 'DecompressionStream');
