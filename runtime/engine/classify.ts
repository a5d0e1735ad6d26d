import { GuestFault } from './types.ts';

export interface GuestErrorInfo {
  name: string;
  message: string;
  stack?: string;
}

export interface FaultContext {
  /** The interrupt handler stopped the guest during this call. */
  interrupted: boolean;
  heapBytes: number;
  limitBytes: number;
}

/** Headroom under the cap within which an allocation failure counts as hitting the memory limit. */
const OOM_HEADROOM_BYTES = 64 * 1024;

/**
 * Classifies an exception that left the guest. QuickJS reports its own limits as ordinary-looking
 * exceptions (InternalError "interrupted", "out of memory", RangeError for the stack), so the
 * classification also asks the host's own facts: did our interrupt fire, is the heap at its cap.
 */
export function classifyGuestError(info: GuestErrorInfo, ctx: FaultContext): GuestFault {
  const { name, message, stack } = info;
  if (ctx.interrupted) return new GuestFault('interrupted', name, message, stack);
  const nearCap = ctx.limitBytes > 0 && ctx.heapBytes >= ctx.limitBytes - OOM_HEADROOM_BYTES;
  if (/out of memory/i.test(message) || (message === 'null' && nearCap)) {
    return new GuestFault('out_of_memory', name, message, stack);
  }
  if (name === 'RangeError' && /maximum call stack size exceeded/i.test(message)) {
    return new GuestFault('stack_overflow', name, message, stack);
  }
  return new GuestFault('exception', name, message, stack);
}

/** A host-side error while running guest code: the WASM stack or the engine itself gave way. */
export function classifyHostError(err: unknown): GuestFault {
  const e = err instanceof Error ? err : new Error(String(err));
  if (e instanceof RangeError && /call stack/i.test(e.message)) {
    return new GuestFault('stack_overflow', 'RangeError', 'Maximum call stack size exceeded');
  }
  return new GuestFault('engine_trap', e.name, `engine failure: ${e.message}`);
}

/** Host errors cross into the guest with name and message only: host stacks would leak host paths. */
export function toGuestSafeError(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const safe = new Error(e.message);
  safe.name = e.name;
  safe.stack = `${e.name}: ${e.message}`;
  return safe;
}
