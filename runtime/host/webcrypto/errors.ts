/**
 * Errors of WebCrypto as they cross into the guest: a name and a message. The names are the
 * spec's (DOMException names, or TypeError for a bad parameter); the prelude gives them their class.
 */

export function cryptoError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

/** Node 20 names some DOMExceptions differently from the spec. */
const RENAMED: Record<string, string> = { InvalidAccessException: 'InvalidAccessError' };

/**
 * Any failure of an operation as the spec names it: Node's DOMExceptions keep their names, its
 * argument checks are TypeErrors (Web IDL's), and whatever else OpenSSL or Node raised is an
 * OperationError (the spec's "operation-specific reason").
 */
export function toCryptoError(err: unknown): Error {
  if (err instanceof DOMException) return cryptoError(RENAMED[err.name] ?? err.name, err.message);
  if (err instanceof TypeError) return cryptoError('TypeError', err.message);
  if (err instanceof Error && err.name !== 'Error' && err.name !== 'RangeError') return cryptoError(err.name, err.message);
  return cryptoError('OperationError', err instanceof Error ? err.message : String(err));
}
