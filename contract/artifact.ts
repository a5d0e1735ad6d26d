/**
 * The compiled-function artifact (`.qbc`): one self-describing, signed binary file.
 *
 *   "FAASQBC1" | u32 LE header length | header (UTF-8 JSON) | payload
 *   payload = bytecode ‖ minified JS (UTF-8) ‖ source map (UTF-8)
 *
 * The header is written in canonical form (keys sorted, no whitespace) and a reader insists on that
 * form, so no byte of the header can change without changing what is signed.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { ENGINE_NAME, ENGINE_VERSION } from './engine.ts';
import { FaasError } from './errors.ts';

export const ARTIFACT_MAGIC = 'FAASQBC1';
export const ARTIFACT_FORMAT_VERSION = 1;
/** Real headers are a few hundred bytes; the cap stops a corrupt length from driving big allocations. */
const MAX_HEADER_BYTES = 64 * 1024;
const PREFIX_BYTES = ARTIFACT_MAGIC.length + 4;

export interface ArtifactExports {
  fetch: boolean;
  scheduled: boolean;
  /**
   * false when the compiler could not evaluate the module to look (its top level needs a Web
   * global such as URL): fetch/scheduled are then assumed, not observed, and the runtime should
   * check `typeof` before calling a handler.
   */
  verified: boolean;
}

export interface ArtifactHeader {
  formatVersion: typeof ARTIFACT_FORMAT_VERSION;
  engine: { name: string; version: string };
  /** Hex SHA-256 of the payload. */
  sha256: string;
  bytecodeBytes: number;
  jsBytes: number;
  sourceMapBytes: number;
  /** Total bytes of every input the bundle was built from: the entry, its relative imports and npm package files. */
  sourceBytes: number;
  /** ISO 8601 build time. */
  builtAt: string;
  /** The entry's file name (no directories). */
  entry: string;
  exports: ArtifactExports;
  /** Hex HMAC-SHA256, keyed by the signing key, over canonical(header without signature) ‖ payload. */
  signature: string;
}

export interface Artifact {
  header: ArtifactHeader;
  bytecode: Uint8Array;
  js: string;
  sourceMap: string;
}

export interface ArtifactParts {
  bytecode: Uint8Array;
  js: string;
  sourceMap: string;
  entry: string;
  sourceBytes: number;
  exports: { fetch: boolean; scheduled: boolean; verified?: boolean };
}

export function writeArtifact(parts: ArtifactParts, signingKey: Uint8Array): { bytes: Uint8Array; header: ArtifactHeader } {
  requireKey(signingKey);
  const js = new TextEncoder().encode(parts.js);
  const sourceMap = new TextEncoder().encode(parts.sourceMap);
  const payload = concat([parts.bytecode, js, sourceMap]);
  const unsigned: Omit<ArtifactHeader, 'signature'> = {
    formatVersion: ARTIFACT_FORMAT_VERSION,
    engine: { name: ENGINE_NAME, version: ENGINE_VERSION },
    sha256: sha256Hex(payload),
    bytecodeBytes: parts.bytecode.byteLength,
    jsBytes: js.byteLength,
    sourceMapBytes: sourceMap.byteLength,
    sourceBytes: parts.sourceBytes,
    builtAt: new Date().toISOString(),
    entry: parts.entry,
    exports: { fetch: parts.exports.fetch, scheduled: parts.exports.scheduled, verified: parts.exports.verified ?? true },
  };
  const header: ArtifactHeader = { ...unsigned, signature: signatureHex(unsigned, payload, signingKey) };
  return { bytes: assemble(header, payload), header };
}

/** Header only, structurally checked but not authenticated: for display (`faas inspect`). */
export function readArtifactHeader(bytes: Uint8Array): ArtifactHeader {
  return parseLayout(bytes).header;
}

/**
 * Authenticates before trusting any header claim: integrity, then signature, then engine. Checking
 * the engine first would let a flipped byte in the version string masquerade as "recompile".
 */
export function verifyArtifact(bytes: Uint8Array, signingKey: Uint8Array): Artifact {
  requireKey(signingKey);
  const { header, payload } = parseLayout(bytes);
  if (!hexEqual(header.sha256, sha256Hex(payload))) {
    throw invalid('integrity check failed (sha256 mismatch): the artifact was modified or corrupted');
  }
  const { signature, ...unsigned } = header;
  if (!hexEqual(signature, signatureHex(unsigned, payload, signingKey))) {
    throw invalid("signature check failed: the artifact was not compiled with this gateway's signing key");
  }
  if (header.engine.name !== ENGINE_NAME || header.engine.version !== ENGINE_VERSION) {
    throw new FaasError(
      'engine_mismatch',
      `artifact was built for ${header.engine.name} ${header.engine.version} but this runtime runs ` +
        `${ENGINE_NAME} ${ENGINE_VERSION}: recompile with faas compile`,
      { built: header.engine, runtime: { name: ENGINE_NAME, version: ENGINE_VERSION } },
    );
  }
  const jsEnd = header.bytecodeBytes + header.jsBytes;
  return {
    header,
    bytecode: payload.slice(0, header.bytecodeBytes),
    js: decodeUtf8(payload.subarray(header.bytecodeBytes, jsEnd), 'JS'),
    sourceMap: decodeUtf8(payload.subarray(jsEnd), 'source map'),
  };
}

/**
 * Serializes with sorted keys and no whitespace, so signer and verifier agree byte for byte
 * regardless of property insertion order.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

function parseLayout(bytes: Uint8Array): { header: ArtifactHeader; payload: Uint8Array } {
  if (!(bytes instanceof Uint8Array)) throw invalid('not a faas artifact (expected bytes)');
  if (bytes.byteLength < ARTIFACT_MAGIC.length || !hasMagic(bytes)) {
    throw invalid(`not a faas artifact (missing ${ARTIFACT_MAGIC} magic)`);
  }
  if (bytes.byteLength < PREFIX_BYTES) throw invalid('truncated: the header length is missing');
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(ARTIFACT_MAGIC.length, true);
  if (headerLength > MAX_HEADER_BYTES) throw invalid(`header length ${headerLength} is implausible (limit ${MAX_HEADER_BYTES})`);
  if (bytes.byteLength < PREFIX_BYTES + headerLength) throw invalid('truncated: the header is incomplete');
  const headerText = decodeUtf8(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength), 'header');
  let raw: unknown;
  try {
    raw = JSON.parse(headerText);
  } catch {
    throw invalid('header is not valid JSON: the artifact was modified or corrupted');
  }
  const header = validateHeader(raw);
  if (canonicalJson(header) !== headerText) {
    throw invalid('header is not in canonical form: the artifact was modified or corrupted');
  }
  const payload = bytes.subarray(PREFIX_BYTES + headerLength);
  const expected = header.bytecodeBytes + header.jsBytes + header.sourceMapBytes;
  if (payload.byteLength < expected) throw invalid(`truncated: payload has ${payload.byteLength} of ${expected} bytes`);
  if (payload.byteLength > expected) throw invalid(`${payload.byteLength - expected} unexpected bytes after the payload`);
  return { header, payload };
}

function validateHeader(raw: unknown): ArtifactHeader {
  if (!isRecord(raw)) throw invalid('header is not a JSON object');
  if (raw.formatVersion !== ARTIFACT_FORMAT_VERSION) {
    throw invalid(`unsupported format version ${JSON.stringify(raw.formatVersion)} (this runtime reads version ${ARTIFACT_FORMAT_VERSION})`);
  }
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => ok || problems.push(what);
  const { engine, exports } = raw;
  expect(isRecord(engine) && typeof engine.name === 'string' && typeof engine.version === 'string', 'engine');
  expect(typeof raw.sha256 === 'string' && /^[0-9a-f]{64}$/.test(raw.sha256), 'sha256');
  expect(typeof raw.signature === 'string' && /^[0-9a-f]{64}$/.test(raw.signature), 'signature');
  for (const field of ['bytecodeBytes', 'jsBytes', 'sourceMapBytes', 'sourceBytes'] as const) {
    expect(Number.isSafeInteger(raw[field]) && (raw[field] as number) >= 0, field);
  }
  expect(typeof raw.builtAt === 'string', 'builtAt');
  expect(typeof raw.entry === 'string', 'entry');
  expect(
    isRecord(exports) && typeof exports.fetch === 'boolean' && typeof exports.scheduled === 'boolean' && typeof exports.verified === 'boolean',
    'exports',
  );
  if (problems.length > 0) throw invalid(`header has missing or malformed fields: ${problems.join(', ')}`);
  return raw as unknown as ArtifactHeader;
}

function assemble(header: ArtifactHeader, payload: Uint8Array): Uint8Array {
  const headerBytes = new TextEncoder().encode(canonicalJson(header));
  const prefix = new Uint8Array(PREFIX_BYTES);
  prefix.set(new TextEncoder().encode(ARTIFACT_MAGIC));
  new DataView(prefix.buffer).setUint32(ARTIFACT_MAGIC.length, headerBytes.byteLength, true);
  return concat([prefix, headerBytes, payload]);
}

function signatureHex(unsigned: Omit<ArtifactHeader, 'signature'>, payload: Uint8Array, key: Uint8Array): string {
  return createHmac('sha256', key).update(canonicalJson(unsigned)).update(payload).digest('hex');
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Constant-time for equal-length digests; lengths are public (always 64 hex chars when valid). */
function hexEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.byteLength === right.byteLength && timingSafeEqual(left, right);
}

function hasMagic(bytes: Uint8Array): boolean {
  for (let i = 0; i < ARTIFACT_MAGIC.length; i++) {
    if (bytes[i] !== ARTIFACT_MAGIC.charCodeAt(i)) return false;
  }
  return true;
}

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw invalid(`${what} is not valid UTF-8: the artifact was modified or corrupted`);
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function requireKey(key: Uint8Array): void {
  // An empty HMAC key would make every artifact trivially forgeable: treat it as a wiring bug.
  if (!(key instanceof Uint8Array) || key.byteLength === 0) throw new Error('artifact signing key is missing');
}

function invalid(message: string): FaasError {
  return new FaasError('artifact_invalid', message);
}
