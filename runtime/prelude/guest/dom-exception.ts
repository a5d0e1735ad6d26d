import { dataDescriptor } from './safe.ts';
import { named } from './util.ts';

/**
 * QuickJS-NG ships DOMException as an intrinsic, but an engine may create contexts without it; this
 * stand-in (a chunk, loaded only then) keeps AbortError, DataCloneError … working.
 */
const CODES: Record<string, number> = {
  IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
  NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
  SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
  TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
  QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
};

export class DOMException extends Error {
  constructor(message = '', name = 'Error') {
    super(String(message));
    ObjectDefineProperty(this, 'name', dataDescriptor(String(name)));
  }
  get code(): number {
    return CODES[this.name] ?? 0;
  }
}

named(DOMException, 'DOMException');
