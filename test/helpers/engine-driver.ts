import { expect } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileEntry } from '../../compiler/index.ts';
import { verifyArtifact } from '../../contract/artifact.ts';
import { pureOps } from '../../runtime/host/pure-ops.ts';
import { opDeclaration, parseJsonArgs } from '../../runtime/host/op-table.ts';
import { GuestFault, type GuestCode, type Sandbox, type SandboxFactory, type SandboxHooks } from '../../runtime/engine/types.ts';
import { signingKey } from './sandbox.ts';

/**
 * Drives sandboxes straight through the engine interface (no Runtime, no pool), so engine tests can
 * place tenants side by side in one WASM instance and poke each one's limits separately. Host ops are
 * a small stand-in for instance.ts: logs, the pure ops, and an async KV that answers later.
 */

const resolveDir = mkdtempSync(join(tmpdir(), 'faas-engine-'));
let counter = 0;

export interface DrivenBox {
  box: Sandbox;
  logs: string[];
  /** Makes the interrupt handler stop the guest from now on (or not). */
  interrupt(on: boolean): void;
  /** Guest CPU budget for each invoke, enforced by the interrupt handler. */
  cpuMs: number;
}

export async function compileModule(source: string): Promise<GuestCode> {
  const filename = `mod-${process.pid}-${++counter}.ts`;
  const { bytes } = await compileEntry({ source, filename, resolveDir }, signingKey);
  const artifact = verifyArtifact(bytes, signingKey);
  return { filename: artifact.header.entry, bytecode: artifact.bytecode, source: artifact.js };
}

export async function createBox(factory: SandboxFactory, limits = { memoryLimitBytes: 16 * 1024 * 1024, maxStackBytes: 256 * 1024 }): Promise<DrivenBox> {
  let forced = false;
  let startedAt = 0;
  const driven: DrivenBox = {
    box: undefined as unknown as Sandbox,
    logs: [],
    interrupt: (on) => void (forced = on),
    cpuMs: 1000,
  };
  const hooks: SandboxHooks = {
    argSpecs: (op) => opDeclaration(op)?.args,
    shouldInterrupt: () => forced || (startedAt > 0 && performance.now() - startedAt > driven.cpuMs),
    resume: (task) => {
      task();
      driven.box.runJobs();
    },
    hostCall: (op, rawArgs) => {
      const args: unknown[] = [...rawArgs];
      parseJsonArgs(op, opDeclaration(op)!, args);
      switch (op) {
        case 'log':
          driven.logs.push(String(args[1]));
          return undefined;
        case 'now':
          return performance.now();
        case 'timerSet':
        case 'timerClear':
          return undefined;
        case 'kvGet':
          return new Promise((r) => setTimeout(() => r({ value: new TextEncoder().encode(`v-${String(args[1])}`), metadata: null }), 5));
        default: {
          const pure = (pureOps as Record<string, (...a: unknown[]) => unknown>)[op];
          if (pure) return pure(...args);
          throw new TypeError(`unknown host operation "${op}"`);
        }
      }
    },
  };
  const raw = await factory.create(limits, hooks);
  const timed = <T>(fn: () => T): T => {
    startedAt = performance.now();
    try {
      return fn();
    } finally {
      startedAt = 0;
    }
  };
  // the CPU clock runs only while the guest runs synchronously, as in instance.ts
  driven.box = new Proxy(raw, {
    get(target, prop) {
      if (prop === 'dispatch') return (req: Parameters<Sandbox['dispatch']>[0]) => timed(() => target.dispatch(req));
      if (prop === 'runJobs') return () => timed(() => target.runJobs());
      const v = Reflect.get(target, prop, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return driven;
}

export async function load(d: DrivenBox, source: string): Promise<void> {
  await d.box.loadModule(await compileModule(source));
}

export interface Answer {
  status: number;
  text: string;
}

/** One fetch through the prelude's dispatch, pumping guest jobs as instance.ts does. */
export async function invokeBox(d: DrivenBox, path = '/', env: { kv?: string[] } = {}): Promise<Answer> {
  const pending = d.box.dispatch({
    method: 'GET',
    url: `http://localhost${path}`,
    headers: null,
    body: null,
    env: JSON.stringify({ vars: {}, secrets: {}, bindings: (env.kv ?? []).map((n) => [n, 'kv']) }),
    id: `req-${++counter}`,
  });
  d.box.runJobs();
  const res = await pending;
  return { status: res.status, text: res.body instanceof ArrayBuffer ? new TextDecoder().decode(res.body) : '' };
}

export const echoSource = (tag: string) => `
  let n = 0;
  export default { fetch(req) { n++; return new Response('${tag}:' + n + ':' + String(globalThis.leak)); } };`;

/** The neighbours a fault test loaded (echoSource('b'), echoSource('c')) still answer. */
export async function neighboursAnswer(b: DrivenBox, c: DrivenBox): Promise<void> {
  expect((await invokeBox(b)).text).toMatch(/^b:\d+:undefined$/);
  expect((await invokeBox(c)).text).toMatch(/^c:\d+:undefined$/);
}

/** The GuestFault a promise rejects with (failing the test if it resolves or rejects otherwise). */
export async function faultOf(p: Promise<unknown>): Promise<GuestFault> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(GuestFault);
  return err as GuestFault;
}
