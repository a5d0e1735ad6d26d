// faas itself, through the public Runtime API: every engine × isolation pair the build offers, with and
// without the blank-sandbox pool, and the bytecode engine fed the bundled source instead of bytecode.
import type { Artifact } from '../../contract/artifact.ts';
import { Runtime, type EngineName, type GuestResponse, type InvokeResult, type Isolation } from '../../runtime/index.ts';
import { settle } from '../stats.ts';
import { toGuestRequest, type Prepared } from '../workloads/index.ts';
import { NOT_AVAILABLE, type Instance, type Peer, type PlainResponse } from './types.ts';

export const POOL_SIZE = 4;

export interface FaasPeerOptions {
  engine: EngineName;
  isolation: Isolation;
  pool: boolean;
  /** Load the artifact's minified source instead of its bytecode (same VM, same prelude, same pool). */
  source?: boolean;
}

export function faasPeerId(o: FaasPeerOptions): string {
  return `faas-${o.engine}-${o.isolation}-${o.pool ? 'pool' : 'nopool'}${o.source ? '-source' : ''}`;
}

const decoder = new TextDecoder();
export const plain = (r: GuestResponse): PlainResponse => ({ status: r.status, body: r.body ? decoder.decode(r.body) : '' });

let seq = 0;

export function faasPeer(o: FaasPeerOptions): Peer {
  let rt: Runtime | undefined;
  const label =
    `faas ${o.engine}${o.source ? ' fed source' : ''}, ${o.isolation === 'instance' ? 'WASM instance per function' : 'shared WASM instance'}` +
    `, ${o.pool ? 'pool' : 'no pool'}`;
  return {
    id: faasPeerId(o),
    label,
    kind: 'faas',
    method: o.source
      ? 'Runtime.invoke of a never-invoked function whose artifact carries no bytecode: the sandbox evaluates the minified bundle (TYPE_MODULE)'
      : `Runtime.invoke of a never-invoked function (engine ${o.engine}, isolation ${o.isolation}, poolSize ${o.pool ? POOL_SIZE : 0})`,
    async init() {
      if (o.source && o.engine !== 'quickjs-wasi') return NOT_AVAILABLE; // it runs source anyway
      rt = await Runtime.create({
        engine: o.engine,
        isolation: o.isolation,
        poolSize: o.pool ? POOL_SIZE : 0,
        memoryBudgetBytes: 16 * 1024 ** 3,
        idleTtlMs: 3_600_000,
      });
      if (rt.engine !== o.engine || rt.defaultIsolation !== o.isolation) {
        rt.close();
        rt = undefined;
        return NOT_AVAILABLE;
      }
      return null;
    },
    async prepare(w: Prepared): Promise<Instance> {
      const runtime = rt!;
      const name = `${w.id}-${seq++}`;
      const artifact: Artifact = o.source ? ({ ...w.artifact, bytecode: undefined } as unknown as Artifact) : w.artifact;
      runtime.deploy(name, 1, artifact, w.functionConfig);
      let background: Promise<unknown> = Promise.resolve();
      const call = async (expectCold: boolean) => {
        const res: InvokeResult = await runtime.invoke(name, toGuestRequest(w.request));
        background = res.background;
        if (res.cold !== expectCold) throw new Error(`expected a ${expectCold ? 'cold' : 'warm'} invocation of ${name}`);
        return plain(res.response);
      };
      return {
        start: () => call(true),
        invoke: () => call(false),
        heapBytes: () => runtime.stats().find((s) => s.name === name)?.heapBytes,
        async dispose() {
          await background;
          runtime.undeploy(name);
        },
      };
    },
    totalHeapBytes() {
      return rt!.stats().reduce((sum, s) => sum + s.heapBytes, 0);
    },
    async settle() {
      if (!rt) return;
      if (o.pool) {
        // Wait for the pool to be full again, so that every sample starts from the same state.
        const until = performance.now() + 5_000;
        while (performance.now() < until && rt.poolStats().some((p) => p.isolation === o.isolation && p.ready < POOL_SIZE)) {
          await new Promise((r) => setImmediate(r));
        }
      }
      await settle(2);
    },
    async close() {
      rt?.close();
      rt = undefined;
    },
  };
}

/** The engine and isolation a Runtime uses when it is not told (what `faas serve` runs). */
export async function runtimeDefaults(): Promise<{ engine: EngineName; isolation: Isolation }> {
  const rt = await Runtime.create({ poolSize: 0 });
  try {
    return { engine: rt.engine, isolation: rt.defaultIsolation };
  } finally {
    rt.close();
  }
}

/**
 * Every faas configuration the bench knows (init() tells which ones this build offers), the default
 * with its pool first, and the default fed source right after it.
 */
export function allFaasPeers(defaults: { engine: EngineName; isolation: Isolation } = { engine: 'quickjs-wasi', isolation: 'shared' }): Peer[] {
  const all: FaasPeerOptions[] = [];
  for (const engine of ['quickjs-wasi', 'quickjs-emscripten'] as EngineName[]) {
    for (const isolation of ['instance', 'shared'] as Isolation[]) {
      for (const pool of [true, false]) all.push({ engine, isolation, pool });
    }
  }
  const isDefault = (o: FaasPeerOptions) => o.engine === defaults.engine && o.isolation === defaults.isolation && o.pool;
  const ordered = [...all.filter(isDefault), { ...defaults, pool: true, source: true }, ...all.filter((o) => !isDefault(o))];
  return ordered.map(faasPeer);
}
