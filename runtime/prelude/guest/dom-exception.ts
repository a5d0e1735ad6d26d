import { dataDescriptor } from './safe.ts';
import { named } from './util.ts';

/**
 * QuickJS-NG ships DOMException as an intrinsic; Bellard's QuickJS (the quickjs-emscripten engine)
 * does not, and this stand-in (a chunk, loaded on first use) follows Web IDL's: the names and their
 * legacy codes, the code constants on the constructor and the prototype, name/message/code as
 * prototype getters, and the options form `new DOMException(message, { name, cause })`.
 */
const NAMES = [
  'IndexSizeError', '', 'HierarchyRequestError', 'WrongDocumentError', 'InvalidCharacterError', '', 'NoModificationAllowedError',
  'NotFoundError', 'NotSupportedError', 'InUseAttributeError', 'InvalidStateError', 'SyntaxError', 'InvalidModificationError',
  'NamespaceError', 'InvalidAccessError', '', 'TypeMismatchError', 'SecurityError', 'NetworkError', 'AbortError', 'URLMismatchError',
  'QuotaExceededError', 'TimeoutError', 'InvalidNodeTypeError', 'DataCloneError',
];
const CONSTANTS = [
  'INDEX_SIZE_ERR', 'DOMSTRING_SIZE_ERR', 'HIERARCHY_REQUEST_ERR', 'WRONG_DOCUMENT_ERR', 'INVALID_CHARACTER_ERR', 'NO_DATA_ALLOWED_ERR',
  'NO_MODIFICATION_ALLOWED_ERR', 'NOT_FOUND_ERR', 'NOT_SUPPORTED_ERR', 'INUSE_ATTRIBUTE_ERR', 'INVALID_STATE_ERR', 'SYNTAX_ERR',
  'INVALID_MODIFICATION_ERR', 'NAMESPACE_ERR', 'INVALID_ACCESS_ERR', 'VALIDATION_ERR', 'TYPE_MISMATCH_ERR', 'SECURITY_ERR', 'NETWORK_ERR',
  'ABORT_ERR', 'URL_MISMATCH_ERR', 'QUOTA_EXCEEDED_ERR', 'TIMEOUT_ERR', 'INVALID_NODE_TYPE_ERR', 'DATA_CLONE_ERR',
];

let stateOf: (x: unknown) => [string, string];

export class DOMException extends Error {
  #name: string;
  #message: string;

  constructor(message: unknown = '', options: unknown = 'Error') {
    super();
    this.#message = String(message);
    if (typeof options === 'object' && options !== null) {
      const o = options as { name?: unknown; cause?: unknown };
      const name = o.name;
      this.#name = name === undefined ? 'Error' : String(name);
      if ('cause' in o) ObjectDefineProperty(this, 'cause', dataDescriptor(o.cause));
    } else {
      this.#name = String(options);
    }
  }

  get name(): string {
    return stateOf(this)[0];
  }
  get message(): string {
    return stateOf(this)[1];
  }
  get code(): number {
    const name = stateOf(this)[0];
    return name === '' ? 0 : callWith(ArrayPrototypeIndexOf, NAMES, name) + 1;
  }

  static {
    stateOf = (x) => {
      if (typeof x !== 'object' || x === null || !(#name in x)) throw new TypeError('Illegal invocation');
      return [x.#name, x.#message];
    };
  }
}

for (let i = 0; i < CONSTANTS.length; i++) {
  const d = dataDescriptor(i + 1, false, true, false);
  ObjectDefineProperty(DOMException, CONSTANTS[i]!, d);
  ObjectDefineProperty(DOMException.prototype, CONSTANTS[i]!, d);
}

named(DOMException, 'DOMException');
