// The three workloads every peer runs, with the request each cold start and warm invoke sends.
import { compileEntry } from '../../compiler/index.ts';
import { verifyArtifact, type Artifact } from '../../contract/artifact.ts';
import type { GuestRequest } from '../../runtime/index.ts';
import { parseFunctionConfig, type FunctionConfig } from '../../contract/config.ts';
import type { FunctionConfigInput } from '../../contract/config.ts';

export type WorkloadId = 'hello' | 'api' | 'signup';

/** The request as the foreign peers receive it (body as text; faas gets the same bytes). */
export interface PlainRequest {
  method: string;
  url: string;
  headers: [string, string][];
  body: string | null;
}

export interface Workload {
  id: WorkloadId;
  title: string;
  entry: string;
  config: FunctionConfigInput;
  /** `env` for the foreign peers: the function's vars and secrets as one plain object. */
  env: Record<string, string>;
  request: PlainRequest;
}

export const WORKLOADS: Workload[] = [
  {
    id: 'hello',
    title: 'hello (functions/hello.ts)',
    entry: 'functions/hello.ts',
    config: {},
    env: {},
    request: { method: 'GET', url: 'http://127.0.0.1/fn/hello', headers: [], body: null },
  },
  {
    id: 'api',
    title: 'api (URL + JSON body + validation + HMAC-SHA-256, bench/workloads/api.ts)',
    entry: 'bench/workloads/api.ts',
    config: { secrets: { RECEIPT_SECRET: 'bench-receipt-secret' } },
    env: { RECEIPT_SECRET: 'bench-receipt-secret' },
    request: {
      method: 'POST',
      url: 'http://127.0.0.1/fn/api/orders?currency=usd&ref=bench-42',
      headers: [['content-type', 'application/json']],
      body: JSON.stringify({
        email: 'Ada.Lovelace@Example.com',
        lines: [
          { sku: 'ABC-1234', qty: 2, unitCents: 1999 },
          { sku: 'XYZ-0001', qty: 1, unitCents: 500 },
          { sku: 'QRS-0042', qty: 12, unitCents: 125 },
        ],
      }),
    },
  },
  {
    id: 'signup',
    title: "signup (bundles the validator package, ≈ 190 KB of minified JS, bench/workloads/signup.ts)",
    entry: 'bench/workloads/signup.ts',
    // The evaluated library needs ≈ 1.3 MB of guest heap: above the 1 MiB default.
    config: { memoryMb: 4 },
    env: {},
    request: {
      method: 'POST',
      url: 'http://127.0.0.1/fn/signup',
      headers: [['content-type', 'application/json']],
      body: JSON.stringify({
        email: 'ada@example.com',
        website: 'https://example.com/about',
        phone: '+447911123456',
        postcode: 'SW1A 1AA',
        country: 'gb',
        password: 'Str0ng!Passw0rd',
        ip: '192.168.1.20',
        referrer: '3b241101-e2bb-4255-8caf-4136c566a962',
      }),
    },
  },
];

/** A workload compiled once: the signed artifact (verified, in memory) and the forms each peer loads. */
export interface Prepared extends Workload {
  artifact: Artifact;
  /** Serialized, signed artifact (what a child process verifies again). */
  artifactBytes: Uint8Array;
  functionConfig: FunctionConfig;
  /** The request as the faas runtime takes it. */
  guestRequest: GuestRequest;
  /** The bundled module rewritten as a script that leaves its exports on `globalThis.__ns`. */
  script: string;
}

export async function prepareWorkload(w: Workload, signingKey: Uint8Array): Promise<Prepared> {
  const compiled = await compileEntry(w.entry, signingKey, { inThread: true });
  return fromArtifactBytes(w, compiled.bytes, signingKey);
}

export function fromArtifactBytes(w: Workload, bytes: Uint8Array, signingKey: Uint8Array): Prepared {
  const artifact = verifyArtifact(bytes, signingKey);
  return {
    ...w,
    artifact,
    artifactBytes: bytes,
    functionConfig: parseFunctionConfig(w.config),
    guestRequest: toGuestRequest(w.request),
    script: moduleToScript(artifact.js),
  };
}

export function toGuestRequest(r: PlainRequest): GuestRequest {
  const body = r.body === null ? null : (new TextEncoder().encode(r.body).buffer as ArrayBuffer);
  return { method: r.method, url: r.url, headers: r.headers.map(([k, v]) => [k, v]), body };
}

/**
 * esbuild's minified ES module ends with one `export{a as default,b as c};` clause: turn that into an
 * assignment so engines without a module loader at hand (node:vm without --experimental-vm-modules,
 * isolated-vm's script API) evaluate the very same code inside a strict function scope.
 */
export function moduleToScript(js: string): string {
  const match = /export\s*\{([^}]*)\}\s*;?\s*$/.exec(js);
  if (!match) throw new Error('bundle does not end with an export clause');
  const pairs = match[1]!
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((spec) => {
      const [local, exported = local] = spec.split(/\s+as\s+/);
      return `${JSON.stringify(exported)}:${local}`;
    });
  // A strict function scope, like a module's: the bundle's top-level names stay off the global object.
  return `(()=>{"use strict";${js.slice(0, match.index)}globalThis.__ns={${pairs.join(',')}}})();`;
}
