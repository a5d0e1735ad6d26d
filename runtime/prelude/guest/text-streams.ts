import { call, internals } from './host.ts';
import { dataDescriptor } from './safe.ts';
import { TransformStream, TransformStreamDefaultController } from './streams.ts';
import { named } from './util.ts';

/** The Encoding spec's TextEncoderStream and TextDecoderStream: TransformStreams around the codecs. */

const enqueue: (this: unknown, chunk: unknown) => void = ObjectGetOwnPropertyDescriptor(TransformStreamDefaultController.prototype, 'enqueue')!.value;
const readableOf: (this: unknown) => unknown = ObjectGetOwnPropertyDescriptor(TransformStream.prototype, 'readable')!.get!;
const writableOf: (this: unknown) => unknown = ObjectGetOwnPropertyDescriptor(TransformStream.prototype, 'writable')!.get!;

function transformer(transform: (chunk: unknown, c: unknown) => void, flush: (c: unknown) => void): TransformStream {
  return new TransformStream({ __proto__: null, transform, flush } as any);
}

const REPLACEMENT = [0xef, 0xbf, 0xbd];

export class TextEncoderStream {
  #t: TransformStream;

  constructor() {
    // a lead surrogate at the end of a chunk waits for its trail in the next one
    let pending = '';
    this.#t = transformer(
      (chunk, c) => {
        let s = pending + String(chunk);
        pending = '';
        const last = s.length ? callWith(StringPrototypeCharCodeAt, s, s.length - 1) : 0;
        if (last >= 0xd800 && last <= 0xdbff) {
          pending = callWith(StringPrototypeSlice, s, s.length - 1);
          s = callWith(StringPrototypeSlice, s, 0, s.length - 1);
        }
        if (s) callWith(enqueue, c, new Uint8Array(call('utf8Encode', s)));
      },
      (c) => {
        if (pending) callWith(enqueue, c, new Uint8Array(REPLACEMENT));
      },
    );
  }

  get encoding(): string {
    this.#t;
    return 'utf-8';
  }
  get readable(): unknown {
    return callWith(readableOf, this.#t);
  }
  get writable(): unknown {
    return callWith(writableOf, this.#t);
  }
}

export class TextDecoderStream {
  #t: TransformStream;
  #decoder: any;

  constructor(label?: unknown, options?: unknown) {
    const Decoder = internals.need('encoding').TextDecoder;
    const decoder = (this.#decoder = arguments.length === 0 ? new Decoder() : new Decoder(label, options));
    const decode: (this: unknown, input?: unknown, options?: unknown) => string = ObjectGetOwnPropertyDescriptor(Decoder.prototype, 'decode')!.value;
    const streaming = { __proto__: null, stream: true };
    this.#t = transformer(
      (chunk, c) => {
        if (typeof chunk !== 'object' || chunk === null) throw new TypeError('TextDecoderStream: a chunk must be an ArrayBuffer or ArrayBufferView');
        const s = callWith(decode, decoder, chunk, streaming);
        if (s) callWith(enqueue, c, s);
      },
      (c) => {
        const s = callWith(decode, decoder);
        if (s) callWith(enqueue, c, s);
      },
    );
  }

  get encoding(): string {
    return this.#decoder.encoding;
  }
  get fatal(): boolean {
    return this.#decoder.fatal;
  }
  get ignoreBOM(): boolean {
    return this.#decoder.ignoreBOM;
  }
  get readable(): unknown {
    return callWith(readableOf, this.#t);
  }
  get writable(): unknown {
    return callWith(writableOf, this.#t);
  }
}

named(TextEncoderStream, 'TextEncoderStream');
named(TextDecoderStream, 'TextDecoderStream');
// Web IDL: no required arguments
ObjectDefineProperty(TextDecoderStream, 'length', dataDescriptor(0, false));
