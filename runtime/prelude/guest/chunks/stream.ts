import { bindHost, type Internals } from '../host.ts';
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
  bodyId,
  cancel,
  fromHost,
  isDisturbed,
  isLocked,
  isReadableStream,
  pull,
  readAll,
  streamOf,
  teeSource,
} from '../streams.ts';
import { TextDecoderStream, TextEncoderStream } from '../text-streams.ts';
import { defineGlobal, g } from '../util.ts';

/** Only a stream hands these out: they become globals with the chunk (see STREAM_GLOBALS in core.ts). */
const INTERNAL = [
  'ReadableStreamDefaultReader', 'ReadableStreamBYOBReader', 'ReadableStreamBYOBRequest', 'ReadableByteStreamController',
  'ReadableStreamDefaultController', 'WritableStreamDefaultWriter', 'WritableStreamDefaultController', 'TransformStreamDefaultController',
];

// (named imports, not `import * as`: a namespace object would be built with Object.defineProperty as
// user code may have left it by the time this chunk loads)
export default (shared: Internals) => {
  bindHost(shared.host, shared);
  const exports: Record<string, unknown> = {
    ByteLengthQueuingStrategy, CountQueuingStrategy, ReadableByteStreamController, ReadableStream, ReadableStreamBYOBReader,
    ReadableStreamBYOBRequest, ReadableStreamDefaultController, ReadableStreamDefaultReader, TransformStream,
    TransformStreamDefaultController, WritableStream, WritableStreamDefaultController, WritableStreamDefaultWriter,
    TextEncoderStream, TextDecoderStream,
    bodyId, cancel, fromHost, isDisturbed, isLocked, isReadableStream, pull, readAll, streamOf, teeSource,
  };
  for (let i = 0; i < INTERNAL.length; i++) {
    const name = INTERNAL[i]!;
    if (!callWith(ObjectPrototypeHasOwnProperty, g, name)) defineGlobal(name, exports[name]);
  }
  return exports;
};
