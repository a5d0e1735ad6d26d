// The peers that are not faas: stock quickjs-emscripten, node:vm and (when installed) isolated-vm. Each
// cold start makes a fresh runtime/context, evaluates the Web API stub (web-shim.js) and the function's
// bundled source from text, and calls `default.fetch` through the stub's `__invoke` glue.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSSyncVariant, QuickJSWASMModule } from 'quickjs-emscripten-core';
import type { Prepared, PlainRequest } from '../workloads/index.ts';
import { NOT_INSTALLED, type Instance, type Peer, type PlainResponse } from './types.ts';

export const SHIM = readFileSync(new URL('./web-shim.js', import.meta.url), 'utf8');

function asPlain(v: unknown): PlainResponse {
  const r = v as { status?: unknown; body?: unknown };
  if (typeof r?.status !== 'number' || typeof r.body !== 'string') throw new Error(`unexpected response ${JSON.stringify(v)}`);
  return { status: r.status, body: r.body };
}

const invokeSource = (req: PlainRequest, env: Record<string, string>) => `__invoke(${JSON.stringify(req)},${JSON.stringify(env)})`;

export function quickjsEmscriptenPeer(): Peer {
  let mod: QuickJSWASMModule | undefined;
  return {
    id: 'quickjs-emscripten',
    label: 'quickjs-emscripten (stock release-sync)',
    kind: 'peer',
    method:
      'newRuntime() + newContext() on a WASM module loaded once, evalCode(stub), evalCode(bundle, {type: "module"}), ' +
      'evalCode("__invoke(...)") + executePendingJobs() + dump of the result',
    async init() {
      try {
        const core = await import('quickjs-emscripten-core');
        const variant = (await import('@jitl/quickjs-wasmfile-release-sync')) as unknown as QuickJSSyncVariant;
        mod = await core.newQuickJSWASMModuleFromVariant(variant);
        return null;
      } catch {
        return NOT_INSTALLED;
      }
    },
    async prepare(w: Prepared): Promise<Instance> {
      let rt: QuickJSRuntime | undefined;
      let ctx: QuickJSContext | undefined;
      const call = (): PlainResponse => {
        const c = ctx!;
        const promise = c.unwrapResult(c.evalCode(invokeSource(w.request, w.env), 'invoke.js'));
        try {
          while (rt!.hasPendingJob()) {
            const jobs = rt!.executePendingJobs();
            if (jobs.error) {
              const err = c.dump(jobs.error);
              jobs.dispose();
              throw new Error(`a pending job failed: ${JSON.stringify(err)}`);
            }
          }
          const state = c.getPromiseState(promise);
          if (state.type === 'pending') throw new Error('the handler did not settle');
          const value: QuickJSHandle = state.type === 'fulfilled' ? state.value : state.error;
          const dumped = c.dump(value);
          value.dispose();
          if (state.type === 'rejected') throw new Error(`handler failed: ${JSON.stringify(dumped)}`);
          return asPlain(dumped);
        } finally {
          promise.dispose();
        }
      };
      return {
        async start() {
          rt = mod!.newRuntime();
          ctx = rt.newContext();
          ctx.unwrapResult(ctx.evalCode(SHIM, 'web-shim.js')).dispose();
          const ns = ctx.unwrapResult(ctx.evalCode(w.artifact.js, w.artifact.header.entry.replace(/\.\w+$/, '.js'), { type: 'module' }));
          ctx.setProp(ctx.global, '__ns', ns);
          ns.dispose();
          return call();
        },
        async invoke() {
          return call();
        },
        heapBytes() {
          const usage = rt!.computeMemoryUsage();
          const dumped = ctx!.dump(usage) as { memory_used_size: number };
          usage.dispose();
          return dumped.memory_used_size;
        },
        async dispose() {
          ctx?.dispose();
          rt?.dispose();
        },
      };
    },
    async settle() {},
    async close() {},
  };
}

export function nodeVmPeer(): Peer {
  return {
    id: 'node-vm',
    label: 'node:vm (new context, no real isolation)',
    kind: 'peer',
    method: 'vm.createContext() + runInContext(stub) + runInContext(bundle as a script) + await context.__invoke(...)',
    async init() {
      return null;
    },
    async prepare(w: Prepared): Promise<Instance> {
      let context: vm.Context | undefined;
      const filename = w.artifact.header.entry.replace(/\.\w+$/, '.js');
      const call = async () => asPlain(await (context!.__invoke as (r: unknown, e: unknown) => Promise<unknown>)(w.request, w.env));
      return {
        async start() {
          context = vm.createContext({});
          vm.runInContext(SHIM, context, { filename: 'web-shim.js' });
          vm.runInContext(w.script, context, { filename });
          return call();
        },
        invoke: call,
        heapBytes: () => undefined,
        async dispose() {
          context = undefined;
        },
      };
    },
    async settle() {},
    async close() {},
  };
}

/** The parts of isolated-vm's API the bench uses (it is not a dependency, so no types at build time). */
interface Ivm {
  Isolate: new (opts?: { memoryLimit?: number }) => IvmIsolate;
}
interface IvmIsolate {
  createContextSync(): IvmContext;
  getHeapStatisticsSync(): { used_heap_size: number; externally_allocated_size: number };
  dispose(): void;
  isDisposed: boolean;
}
interface IvmContext {
  evalSync(code: string, opts?: { filename?: string }): unknown;
  global: { getSync(name: string, opts: { reference: true }): IvmReference };
  release(): void;
}
interface IvmReference {
  apply(recv: undefined, args: unknown[], opts: { arguments: { copy: true }; result: { promise: true; copy: true } }): Promise<unknown>;
  release(): void;
}

export async function loadIsolatedVm(): Promise<Ivm | undefined> {
  const specifier = 'isolated-vm'; // a variable, so TypeScript does not look for the package
  try {
    const m = (await import(specifier)) as { default?: Ivm } & Ivm;
    return m.default ?? m;
  } catch {
    return undefined;
  }
}

export function isolatedVmPeer(): Peer {
  let ivm: Ivm | undefined;
  return {
    id: 'isolated-vm',
    label: 'isolated-vm (new isolate + context)',
    kind: 'peer',
    method: 'new ivm.Isolate() + createContextSync() + evalSync(stub) + evalSync(bundle as a script) + await __invoke.apply(...) (copied in and out)',
    async init() {
      ivm = await loadIsolatedVm();
      return ivm ? null : NOT_INSTALLED;
    },
    async prepare(w: Prepared): Promise<Instance> {
      let isolate: IvmIsolate | undefined;
      let context: IvmContext | undefined;
      let fn: IvmReference | undefined;
      const filename = w.artifact.header.entry.replace(/\.\w+$/, '.js');
      const call = async () =>
        asPlain(await fn!.apply(undefined, [w.request, w.env], { arguments: { copy: true }, result: { promise: true, copy: true } }));
      return {
        async start() {
          isolate = new ivm!.Isolate({ memoryLimit: 64 });
          context = isolate.createContextSync();
          context.evalSync(SHIM, { filename: 'web-shim.js' });
          context.evalSync(w.script, { filename });
          fn = context.global.getSync('__invoke', { reference: true });
          return call();
        },
        invoke: call,
        heapBytes() {
          const s = isolate!.getHeapStatisticsSync();
          return s.used_heap_size + s.externally_allocated_size;
        },
        async dispose() {
          fn?.release();
          context?.release();
          if (isolate && !isolate.isDisposed) isolate.dispose();
        },
      };
    },
    async settle() {},
    async close() {},
  };
}

export function foreignPeers(): Peer[] {
  return [quickjsEmscriptenPeer(), nodeVmPeer(), isolatedVmPeer()];
}

