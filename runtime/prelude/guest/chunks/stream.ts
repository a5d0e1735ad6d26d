import { bindHost, type Internals } from '../host.ts';
import * as streams from '../streams.ts';
import { TextDecoderStream, TextEncoderStream } from '../text-streams.ts';
import { defineGlobal, g } from '../util.ts';

/** Only a stream hands these out: they become globals with the chunk (see STREAM_GLOBALS in core.ts). */
const INTERNAL = [
  'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader', 'ReadableStreamBYOBRequest', 'ReadableByteStreamController',
  'ReadableStreamDefaultController', 'WritableStreamDefaultWriter', 'WritableStreamDefaultController', 'TransformStreamDefaultController',
];

export default (shared: Internals) => {
  bindHost(shared.host, shared);
  const exports: Record<string, unknown> = { ...streams, TextEncoderStream, TextDecoderStream };
  for (let i = 0; i < INTERNAL.length; i++) {
    const name = INTERNAL[i]!;
    if (!callWith(ObjectPrototypeHasOwnProperty, g, name)) defineGlobal(name, exports[name]);
  }
  return exports;
};
