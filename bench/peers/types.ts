import type { Prepared } from '../workloads/index.ts';

/** What a peer answers, reduced to what the bench compares across peers. */
export interface PlainResponse {
  status: number;
  body: string;
}

/**
 * One function instance of one peer. `start()` is the cold start the bench times: from the code in
 * memory (a verified artifact, or the bundled source text) to the first response. Everything that
 * happens once per deploy rather than once per instance (verifying the artifact, compiling the engine's
 * WASM module, creating the faas Runtime) is done before.
 */
export interface Instance {
  start(): Promise<PlainResponse>;
  /** Another request to the started instance (a warm invoke). */
  invoke(): Promise<PlainResponse>;
  /** The guest heap as the engine reports it, in bytes (undefined where it has no such figure). */
  heapBytes(): number | undefined;
  dispose(): Promise<void>;
}

export type PeerKind = 'faas' | 'peer';

export interface Peer {
  id: string;
  label: string;
  kind: PeerKind;
  /** One line: what exactly is measured. */
  method: string;
  /** Makes the peer ready; returns why it cannot run ("not available", "not installed") or null. */
  init(): Promise<string | null>;
  /** Untimed: a new, not yet started instance of the workload (for faas: a deployed, never-invoked function). */
  prepare(w: Prepared): Promise<Instance>;
  /**
   * Guest heap of every started instance together, where the engine can tell it in one call (faas:
   * one Runtime.stats() instead of one per instance; each walks every resident instance).
   */
  totalHeapBytes?(): number;
  /** Untimed, between samples: lets background work (pool refills) finish. */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export const NOT_AVAILABLE = 'not available';
export const NOT_INSTALLED = 'not installed';
