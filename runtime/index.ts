/**
 * The runtime's public entry: what the gateway, the CLI and embedders may use. Everything else under
 * runtime/ is internal (the import-rules test keeps it so). Errors, the config schema and the artifact
 * format are the contract's (contract/), shared by every layer.
 */
export { Runtime, type RuntimeOptions, type InvokeOptions, type InvokeResult, type FunctionStats, type DeployOptions, type RuntimeCounts } from './runtime.ts';
export type { ArtifactSource } from './loaded-function.ts';
export type { FunctionHost, DeployedFunction, SandboxPoolStats, ThreadLoad, HostInvokeResult } from './function-host.ts';
export { WorkerPool, DIED_MESSAGE, type WorkerPoolOptions, type WorkerEvent } from './workers/worker-pool.ts';
export type { OpsModule, OpsProvider } from './workers/protocol.ts';
export type { GuestRequest, GuestResponse, InvocationUsage } from './invocation.ts';
export { NO_BACKGROUND } from './invocation.ts';
export { readAllBytes, isByteSource, MAX_CHUNK, type ByteSource } from './body-stream.ts';
export { readableSource, type ReadableSourceOptions } from './host/readable-source.ts';
export type { GuestLogEntry, BoundOp, OpContext, LogLevel } from './host/services.ts';
export { HOST_OPS, type OpName, type OpArgs } from './host/op-table.ts';
export { fetchOp, DEFAULT_FETCH_LIMITS, type FetchLimits } from './host/fetch.ts';
export { EgressCounters, FETCH_OUTCOMES } from './host/egress-counters.ts';
export { engineName, type EngineName, type Isolation } from './engine/types.ts';
