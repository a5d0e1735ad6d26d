import zlib from 'node:zlib';

/**
 * One CompressionStream's or DecompressionStream's zlib state, driven synchronously inside the
 * guest's accounted entry (so the host CPU it takes counts against the guest's `cpuMs`), in bounded
 * steps: the guest pushes at most 64 KiB of input at a time and pulls at most 16 KiB of output per
 * call, so a decompression bomb comes out piece by piece, as slowly as the guest reads it, and the
 * host never holds more than one input piece and one output buffer per handle.
 *
 * Node's zlib has no public incremental synchronous API (its *Sync functions take and return whole
 * buffers); this drives the handle the way those functions do internally (`_handle.writeSync` with
 * the `_writeState` pair), which lets the output be bounded per step. The shape is checked once and
 * the operations refuse to run where it differs.
 */

export const ZLIB_FORMATS = ['gzip', 'deflate', 'deflate-raw'] as const;
export type ZlibFormat = (typeof ZLIB_FORMATS)[number];

/** Output bytes at most per pull. */
const OUT_CHUNK = 16 * 1024;
/** Handles open at once on this thread, over every invocation: each holds up to ~300 KiB of zlib state. */
export const MAX_OPEN_HANDLES = 256;

let open = 0;
/** One output buffer for every handle: pulls are synchronous, and each copies out what it produced. */
const outBuffer = Buffer.allocUnsafe(OUT_CHUNK);
const EMPTY = Buffer.alloc(0);

interface NativeHandle {
  writeSync(flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number): void;
  onerror: (message: string, errno: number) => void;
}
type Internal = zlib.Zlib & NodeJS.EventEmitter & { _handle?: NativeHandle; _writeState?: Uint32Array };

function create(format: ZlibFormat, decompress: boolean): zlib.Zlib {
  switch (format) {
    case 'gzip':
      return decompress ? zlib.createGunzip() : zlib.createGzip();
    case 'deflate':
      return decompress ? zlib.createInflate() : zlib.createDeflate();
    case 'deflate-raw':
      return decompress ? zlib.createInflateRaw() : zlib.createDeflateRaw();
  }
}

export class ZlibStream {
  private z: Internal | undefined;
  private handle: NativeHandle;
  private state: Uint32Array;
  private input: Uint8Array | null = null;
  private inOff = 0;
  private final = false;
  private finished = false;
  private error: string | undefined;

  constructor(format: ZlibFormat, private readonly decompress: boolean) {
    if (!ZLIB_FORMATS.includes(format)) throw new TypeError(`unsupported compression format "${format}"`);
    if (open >= MAX_OPEN_HANDLES) throw new RangeError(`too many compression streams are open on this runtime (at most ${MAX_OPEN_HANDLES})`);
    const z = create(format, decompress) as Internal;
    const handle = z._handle;
    const state = z._writeState;
    if (!handle || typeof handle.writeSync !== 'function' || !(state instanceof Uint32Array)) {
      z.close();
      throw new TypeError('compression streams are not supported by this Node.js version');
    }
    // zlib reports bad data through the handle; keep the message instead of an 'error' event
    handle.onerror = (message: string) => {
      this.error = message;
    };
    z.on('error', () => {});
    this.z = z;
    this.handle = handle;
    this.state = state;
    open++;
  }

  /** Input to work through (at most one piece at a time), or `final` to finish the stream. */
  push(input: Uint8Array | null, final: boolean): void {
    if (this.finished) throw new TypeError('the compression stream is finished');
    if (this.input && this.inOff < this.input.byteLength) throw new TypeError('the previous input has not been consumed');
    this.input = input && input.byteLength > 0 ? input : null;
    this.inOff = 0;
    if (final) this.final = true;
  }

  /** Up to OUT_CHUNK bytes of output; false when all input is consumed (push more); true when the stream is finished. */
  pull(): Uint8Array | boolean {
    if (this.finished) {
      this.close();
      return true;
    }
    if (!this.z) throw new TypeError('the compression stream is closed');
    for (;;) {
      const input = this.input;
      const availIn = input ? input.byteLength - this.inOff : 0;
      if (availIn === 0 && !this.final) return false;
      const flush = this.final ? zlib.constants.Z_FINISH : zlib.constants.Z_NO_FLUSH;
      this.handle.writeSync(flush, input ?? EMPTY, this.inOff, availIn, outBuffer, 0, OUT_CHUNK);
      if (this.error !== undefined) throw this.fail(this.error);
      const availOut = this.state[0]!;
      const leftIn = this.state[1]!;
      this.inOff += availIn - leftIn;
      if (input && this.inOff >= input.byteLength) this.input = null;
      const produced = OUT_CHUNK - availOut;
      // Output space left over means zlib took all it could: with Z_FINISH, the stream is complete.
      if (availOut > 0 && this.final && leftIn === 0) this.finished = true;
      if (produced > 0) return new Uint8Array(outBuffer.subarray(0, produced));
      if (this.finished) {
        this.close();
        return true;
      }
      // no output and no input taken: the compressed stream ended before its input did
      if (availIn > 0 && leftIn === availIn) throw this.fail('unexpected data after the end of the compressed stream');
    }
  }

  private fail(message: string): TypeError {
    this.close();
    return new TypeError(`${this.decompress ? 'decompression' : 'compression'} failed: ${message}`);
  }

  close(): void {
    if (!this.z) return;
    this.z.close();
    this.z = undefined;
    this.input = null;
    open--;
  }
}
