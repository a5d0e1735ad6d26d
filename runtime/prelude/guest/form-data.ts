import { call, internals } from './host.ts';
import { contentTypeOf, extractMime, mimeParam } from './mime.ts';
import { parseMultipart, serializeMultipart, type Part } from './multipart.ts';
import { dataDescriptor } from './safe.ts';
import { named } from './util.ts';

/**
 * FormData (XHR spec): an ordered list of entries whose value is a string or a File, and the two
 * body formats it reads and writes. Blob and File live in the blob chunk, loaded only when an entry
 * is a file: a form of strings never pays for them.
 */

type Entry = [string, any];

/** Strings cross Web IDL as USVStrings: lone surrogates become U+FFFD. */
const usv = (v: unknown) => callWith(StringPrototypeToWellFormed, String(v));

/** The blob chunk's exports, if it is loaded (no Blob or File can exist before it is). */
const blobChunk = (): any => internals.loaded.blob;

/**
 * The XHR spec's "create an entry": a Blob becomes a File named "blob" (or `filename`), a File given
 * a filename becomes a new File of that name over the same bytes; anything else is a string.
 */
function makeEntry(name: unknown, value: unknown, filename: unknown, blob: any): Entry {
  const n = usv(name);
  const state = blob?.blobState(value);
  if (state === undefined) return [n, usv(value)];
  const file = blob.fileFields(value);
  if (filename === undefined && file !== undefined) return [n, value];
  return [n, blob.makeFile(state[0], state[1], filename !== undefined ? usv(filename) : file !== undefined ? file[0] : 'blob', file !== undefined ? file[1] : DateNow())];
}

/** Web IDL overloads `(name, value)` and `(name, blobValue, filename)`: the three-argument form needs a Blob. */
function entryFrom(method: string, args: IArguments): Entry {
  const n = args.length;
  if (n < 2) throw new TypeError('FormData.' + method + ': 2 arguments required, ' + n + ' given');
  const blob = blobChunk();
  if (n > 2 && (blob === undefined || blob.blobState(args[1]) === undefined)) {
    throw new TypeError('FormData.' + method + ': with a filename, the value must be a Blob');
  }
  return makeEntry(args[0], args[1], n > 2 ? args[2] : undefined, blob);
}

function needName(method: string, args: IArguments): string {
  if (args.length < 1) throw new TypeError('FormData.' + method + ': 1 argument required, 0 given');
  return usv(args[0]);
}

export let formEntries: (x: unknown) => Entry[] | undefined;
let fromEntries: (entries: Entry[]) => FormData;

export class FormData {
  #list: Entry[] = [];

  // there is no HTMLFormElement here: any argument but undefined is of the wrong type
  constructor(form?: unknown, submitter?: unknown);
  constructor() {
    if (arguments.length > 0 && arguments[0] !== undefined) throw new TypeError('FormData: there is no HTMLFormElement to read (parameter 1 must be undefined)');
  }

  // declared parameters give Web IDL's lengths (a defaulted one does not count); `arguments` tells the overloads apart
  append(name: unknown, value: unknown, filename: unknown = undefined): void {
    const list = this.#list;
    list[list.length] = entryFrom('append', arguments);
  }

  delete(name: unknown): void {
    const n = needName('delete', arguments);
    const list = this.#list;
    const kept: Entry[] = [];
    for (let i = 0; i < list.length; i++) if (list[i]![0] !== n) kept[kept.length] = list[i]!;
    this.#list = kept;
  }

  get(name: unknown): any {
    const n = needName('get', arguments);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) if (list[i]![0] === n) return list[i]![1];
    return null;
  }

  getAll(name: unknown): any[] {
    const n = needName('getAll', arguments);
    const list = this.#list;
    const out: any[] = [];
    for (let i = 0; i < list.length; i++) if (list[i]![0] === n) out[out.length] = list[i]![1];
    return out;
  }

  has(name: unknown): boolean {
    const n = needName('has', arguments);
    const list = this.#list;
    for (let i = 0; i < list.length; i++) if (list[i]![0] === n) return true;
    return false;
  }

  /** The first entry of that name takes the new value, the others go; else it is appended. */
  set(name: unknown, value: unknown, filename: unknown = undefined): void {
    const entry = entryFrom('set', arguments);
    const list = this.#list;
    const out: Entry[] = [];
    let found = false;
    for (let i = 0; i < list.length; i++) {
      const e = list[i]!;
      if (e[0] !== entry[0]) out[out.length] = e;
      else if (!found) {
        found = true;
        out[out.length] = entry;
      }
    }
    if (!found) out[out.length] = entry;
    this.#list = out;
  }

  /** Live: each step re-reads the current list. */
  forEach(callback: (value: any, key: string, parent: FormData) => void, thisArg: unknown = undefined): void {
    if (typeof callback !== 'function') throw new TypeError('FormData.forEach: the callback is not a function');
    for (let i = 0; i < this.#list.length; i++) callWith(callback, thisArg, this.#list[i]![1], this.#list[i]![0], this);
  }

  *entries(): IterableIterator<[string, any]> {
    for (let i = 0; i < this.#list.length; i++) yield [this.#list[i]![0], this.#list[i]![1]];
  }

  *keys(): IterableIterator<string> {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i]![0];
  }

  *values(): IterableIterator<any> {
    for (let i = 0; i < this.#list.length; i++) yield this.#list[i]![1];
  }

  declare [Symbol.iterator]: () => IterableIterator<[string, any]>;

  static {
    formEntries = (x) => (typeof x === 'object' && x !== null && #list in x ? x.#list : undefined);
    fromEntries = (entries) => {
      const fd = new FormData();
      fd.#list = entries;
      return fd;
    };
  }
}

// Web IDL: the iterator is the very entries() function
ObjectDefineProperty(FormData.prototype, Symbol.iterator, dataDescriptor(FormData.prototype.entries));
named(FormData, 'FormData');

/** A body made from a FormData: its multipart/form-data encoding, and the Content-Type with the boundary. */
export function extractForm(x: unknown): [string | Uint8Array, string] | undefined {
  const list = formEntries(x);
  if (list === undefined) return undefined;
  const blob = blobChunk();
  const parts: Part[] = [];
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    const v = e[1];
    if (typeof v === 'string') parts[i] = [e[0], v];
    else {
      const state = blob.blobState(v);
      parts[i] = [e[0], [state[0], blob.fileFields(v)[0], state[1]]];
    }
  }
  return serializeMultipart(parts);
}

/** `body.formData()`: multipart/form-data or application/x-www-form-urlencoded, by the body's Content-Type. */
export function bodyForm(src: unknown, headers: string[]): FormData {
  const mime = extractMime(contentTypeOf(headers));
  const essence = mime === null ? '' : mime[0];
  let entries: Entry[] = [];
  if (essence === 'multipart/form-data') {
    const boundary = mimeParam(mime!, 'boundary');
    if (boundary === undefined) throw new TypeError('Failed to parse body as FormData: the Content-Type has no boundary');
    const now = DateNow();
    let blob: any;
    entries = parseMultipart(internals.toBytes(src), boundary, (bytes, name, type) => {
      blob ??= internals.need('blob');
      return blob.makeFile(bytes, blob.blobType(type), name, now);
    });
  } else if (essence === 'application/x-www-form-urlencoded') {
    const bytes = internals.toBytes(src);
    // URLSearchParams' parser, which drops a leading "?" (a body keeps it: "&" in front stops that)
    // (its pairs are new arrays: they become the entries as they are)
    if (callWith(TypedArrayPrototypeGetLength, bytes)) entries = internals.need('url').parseQuery('&' + call('utf8Decode', bytes, false, true));
  } else {
    throw new TypeError('Could not parse content as FormData: the Content-Type is neither multipart/form-data nor application/x-www-form-urlencoded');
  }
  return fromEntries(entries);
}
