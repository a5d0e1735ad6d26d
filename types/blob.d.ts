/**
 * Blob, File, FormData (lazy chunks "blob", "form-data"); blob() and formData() on Request and
 * Response; Blob, File and FormData bodies.
 */

type BlobPart = BufferSource | Blob | string;
type EndingType = 'native' | 'transparent';
interface BlobPropertyBag {
  endings?: EndingType;
  type?: string;
}
interface Blob {
  readonly size: number;
  readonly type: string;
  arrayBuffer(): Promise<ArrayBuffer>;
  bytes(): Promise<Uint8Array>;
  slice(start?: number, end?: number, contentType?: string): Blob;
  stream(): ReadableStream<Uint8Array>;
  text(): Promise<string>;
}
declare var Blob: {
  prototype: Blob;
  new (blobParts?: BlobPart[], options?: BlobPropertyBag): Blob;
};

interface FilePropertyBag extends BlobPropertyBag {
  lastModified?: number;
}
interface File extends Blob {
  readonly lastModified: number;
  readonly name: string;
}
declare var File: {
  prototype: File;
  new (fileBits: BlobPart[], fileName: string, options?: FilePropertyBag): File;
};

type FormDataEntryValue = File | string;
interface FormData {
  append(name: string, value: string | Blob): void;
  append(name: string, blobValue: Blob, filename?: string): void;
  delete(name: string): void;
  get(name: string): FormDataEntryValue | null;
  getAll(name: string): FormDataEntryValue[];
  has(name: string): boolean;
  set(name: string, value: string | Blob): void;
  set(name: string, blobValue: Blob, filename?: string): void;
  forEach(callbackfn: (value: FormDataEntryValue, key: string, parent: FormData) => void, thisArg?: any): void;
  entries(): FormDataIterator<[string, FormDataEntryValue]>;
  keys(): FormDataIterator<string>;
  values(): FormDataIterator<FormDataEntryValue>;
  [Symbol.iterator](): FormDataIterator<[string, FormDataEntryValue]>;
}
interface FormDataIterator<T> extends IteratorObject<T, BuiltinIteratorReturn, unknown> {
  [Symbol.iterator](): FormDataIterator<T>;
}
declare var FormData: {
  prototype: FormData;
  new (): FormData;
};

interface Body {
  blob(): Promise<Blob>;
  formData(): Promise<FormData>;
}
interface BodyInitMap {
  blob: Blob;
  formData: FormData;
}
